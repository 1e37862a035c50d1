"""WeChat's message push to the app (消息推送): where WeChat delivers the
asynchronous results of media checks.

Configured in the mini-program's console as "plaintext mode, JSON": WeChat
signs every call with ``signature = sha1(sorted(token, timestamp, nonce))``
in the query string, ``token`` being ``WECHAT_PUSH_TOKEN``.

* ``GET /wechat/push?signature=&timestamp=&nonce=&echostr=``: WeChat's check
  of the URL; a signed call is answered with ``echostr`` as text.
* ``POST /wechat/push?signature=&timestamp=&nonce=`` with a JSON event:
  ``wxa_media_check`` (``trace_id``, ``result: {suggest, label}``) goes to
  app.uploads.services.apply_media_result; other events are ignored. The
  answer is the text ``success``, as WeChat's docs require, whenever the call
  was WeChat's, even for a trace_id we do not know (WeChat would only push it
  again). Pushes are idempotent (the first verdict on a photo wins), so a
  replayed one is harmless and timestamps are not judged.

A call without a valid signature (or with no token configured) is 403
``push_signature_invalid`` and changes nothing; such refusals count against
``RATELIMIT_WECHAT_PUSH`` per address, WeChat's own calls never do.
Outside /api/v1 and its tokens: WeChat holds none.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from app.errors import Forbidden, MalformedJson, field_error
from app.extensions import limiter
from app.uploads import services as uploads
from app.wechat.client import SUGGESTIONS, verify_push_signature

log = logging.getLogger(__name__)
blp = Blueprint("wechat_push", __name__)


class PushSignatureInvalid(Forbidden):
    code = "push_signature_invalid"
    zh = "消息推送的签名无效。"
    en = "The message push signature is invalid."


def _refused_only(response) -> bool:
    return response.status_code == PushSignatureInvalid.status


_limit = limiter.limit(lambda: current_app.config["RATELIMIT_WECHAT_PUSH"], deduct_when=_refused_only)


def _check_signature() -> None:
    args = request.args
    token = current_app.config.get("WECHAT_PUSH_TOKEN")
    if not token or not verify_push_signature(token, args.get("signature"), args.get("timestamp"),
                                              args.get("nonce")):
        log.warning("message push refused: bad or missing signature")
        raise PushSignatureInvalid()


def _success() -> Response:
    return Response("success", mimetype="text/plain")


@blp.get("/wechat/push")
@_limit
def verify_url():
    """WeChat's check of the push URL: echo ``echostr`` when the call is signed."""
    _check_signature()
    echostr = request.args.get("echostr")
    if not echostr:
        raise field_error("echostr", "WeChat's URL check carries echostr.")
    return Response(echostr, mimetype="text/plain")


@blp.post("/wechat/push")
@_limit
def push():
    """An event pushed by WeChat; answered ``success`` once handled."""
    _check_signature()
    event = request.get_json(silent=True)
    if not isinstance(event, dict):
        raise MalformedJson()
    handler = HANDLERS.get(str(event.get("Event")))
    if handler is None:
        log.info("message push of event %r ignored", event.get("Event"))
    else:
        handler(event)
    return _success()


def _media_check(event: dict) -> None:
    """``wxa_media_check``: WeChat's verdict on a photo (or a failed check,
    ``errcode`` other than 0: a person judges it, as for ``review``)."""
    if event.get("appid") not in (None, current_app.config["WECHAT_APPID"]):
        log.warning("media check result for another appid %r ignored", event.get("appid"))
        return
    trace_id = event.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id or len(trace_id) > 64:
        raise field_error("trace_id", "A media check result carries its trace_id.")
    result = event.get("result")
    if event.get("errcode") not in (None, 0):
        log.warning("media check %s failed at WeChat (errcode %s): to review", trace_id,
                    event.get("errcode"))
        suggest, label = "review", None
    elif isinstance(result, dict) and result.get("suggest") in SUGGESTIONS:
        suggest, label = result["suggest"], result.get("label")
        if not isinstance(label, int) or isinstance(label, bool):
            label = None
    else:
        raise field_error("result", "result.suggest is pass, review or risky.")
    uploads.apply_media_result(trace_id, suggest, label)


HANDLERS = {"wxa_media_check": _media_check}
