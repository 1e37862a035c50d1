"""The client for WeChat's server APIs: code2Session, the user's phone number,
content security, subscribe messages and mini-program codes.

Rules:

* Every WeChat answer is read as JSON whatever its content type; an
  ``errcode`` other than 0 becomes one of the API errors below through the
  single table :data:`ERRCODES`. Anything else that goes wrong on the way
  (connection refused, timeout, HTTP status other than 200, a body that is
  not the JSON we expect) is :class:`WeChatUnavailable` (503).
* ``timeout`` (``WECHAT_TIMEOUT``) is a deadline for the whole call: connect,
  send, wait for the headers and read the whole body. The body is read as it
  arrives, each read waiting at most what is left, and the call gives up when
  the deadline passes or the body grows past :data:`MAX_BODY_BYTES`; headers
  dripped a byte at a time are cut by a watchdog that shuts the call's socket
  at the deadline. No answer can hold a request thread longer than that.
* The access token comes from ``stable_token`` and is cached in Redis under
  ``wechat:access_token`` for ``expires_in`` minus 300 s, so that every
  worker shares one token and none uses it in its last minutes. When WeChat
  says the token is invalid or expired (40001/42001), the cache is dropped,
  a new token is forced once and the call is retried once.
* The platform calls (:meth:`WeChatClient.msg_sec_check`,
  :meth:`~WeChatClient.media_check_async`,
  :meth:`~WeChatClient.send_subscribe_message`,
  :meth:`~WeChatClient.get_wxacode_unlimit`) raise :class:`WeChatRejected`
  (retrying cannot help: ``retryable`` is False; 43101 is
  :class:`WeChatNoQuota`) or :class:`WeChatTransient` (busy, rate-limited,
  unreachable: a later retry may work). Both are :class:`WeChatCallFailed`,
  a :class:`WeChatUnavailable` with the ``errcode`` (None when WeChat did
  not answer), so one escaping a request is a 503.
* The app secret, the access token and ``session_key`` are never logged;
  they travel in URLs, so errors are logged by type and path only.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass, field

import requests
from flask import current_app

from app.wechat.errors import (
    ERRCODES,
    REJECTED_ERRCODES,
    UNEXPECTED,
    WeChatCallFailed,
    WeChatCodeInvalid,
    WeChatNoQuota,
    WeChatTransient,
    WeChatUnavailable,
)
from app.wechat.transport import (
    MAX_BODY_BYTES,
    DeadlineAdapter,
    call_sockets,
    cut,
    json_object,
    read_body,
)

log = logging.getLogger(__name__)

ACCESS_TOKEN_KEY = "wechat:access_token"
# Leave the cached token this much of its life, so that no call carries a token
# that expires on the way.
ACCESS_TOKEN_MARGIN = 300
MAX_CODE_LENGTH = 256

JSCODE2SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
GET_PHONE_NUMBER = "/wxa/business/getuserphonenumber"
MSG_SEC_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK_ASYNC = "/wxa/media_check_async"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
GET_WXACODE_UNLIMIT = "/wxa/getwxacodeunlimit"
# A mini-program code is an image of some hundred kilobytes at most.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
SUGGESTIONS = ("pass", "review", "risky")
MEDIA_TYPE_IMAGE = 2


@dataclass(frozen=True)
class SecResult:
    suggest: str   # pass | review | risky
    label: int     # WeChat's label: 100 normal, 20001 politics, 20002 porn...
    trace_id: str


# The access token was refused: refresh it and try once more.
_TOKEN_REFUSED = {40001, 42001}


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str = field(repr=False)  # a secret: keep it out of reprs and logs
    unionid: str | None = None


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str       # with "+<country code> " for numbers outside mainland China
    pure_phone_number: str  # the bare number
    country_code: str


class WeChatClient:
    """Talks to WeChat (or the mock) at ``base_url`` for one mini-program."""

    def __init__(self, base_url: str, appid: str, secret: str, timeout: float, redis):
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self._secret = secret
        self.timeout = timeout
        self._redis = redis
        self._http = requests.Session()
        adapter = DeadlineAdapter()
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"WeChatClient({self.base_url!r}, appid={self.appid!r})"

    def code2session(self, code: str) -> WeChatSession:
        """Trade a ``wx.login()`` code for the user's openid and session key."""
        _check_code(code)
        body = self._call("GET", JSCODE2SESSION, params={
            "appid": self.appid, "secret": self._secret,
            "js_code": code, "grant_type": "authorization_code",
        })
        _raise_for_errcode(JSCODE2SESSION, body)
        openid, session_key = body.get("openid"), body.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            log.warning("wechat %s answered without openid/session_key", JSCODE2SESSION)
            raise WeChatUnavailable()
        unionid = body.get("unionid")
        return WeChatSession(openid, session_key, unionid if isinstance(unionid, str) and unionid else None)

    def get_phone_number(self, code: str) -> PhoneInfo:
        """Trade a phone-number button code for the user's phone number."""
        _check_code(code)
        body = self._phone_number_call(self._access_token(), code)
        if body.get("errcode") in _TOKEN_REFUSED:
            log.info("wechat refused the access token (errcode %s); forcing a new one",
                     body.get("errcode"))
            self._redis.delete(ACCESS_TOKEN_KEY)
            body = self._phone_number_call(self._access_token(force_refresh=True), code)
        _raise_for_errcode(GET_PHONE_NUMBER, body)
        info = body.get("phone_info", {})
        try:
            return PhoneInfo(phone_number=str(info["phoneNumber"]),
                             pure_phone_number=str(info["purePhoneNumber"]),
                             country_code=str(info["countryCode"]))
        except (TypeError, KeyError):
            log.warning("wechat %s answered without phone_info", GET_PHONE_NUMBER)
            raise WeChatUnavailable() from None

    def msg_sec_check(self, content: str, openid: str, scene: int,
                      title: str | None = None) -> SecResult:
        """WeChat's verdict (version 2) on a text ``openid`` wrote; ``scene`` is
        1 profile, 2 comment, 3 forum, 4 social log."""
        payload = {"content": content, "version": 2, "scene": scene, "openid": openid}
        if title is not None:
            payload["title"] = title
        body = self._platform_call(MSG_SEC_CHECK, json=payload)
        result = body.get("result")
        suggest = result.get("suggest") if isinstance(result, dict) else None
        label, trace_id = result.get("label") if isinstance(result, dict) else None, body.get("trace_id")
        if suggest not in SUGGESTIONS or not isinstance(trace_id, str):
            log.warning("wechat %s answered without result/trace_id", MSG_SEC_CHECK)
            raise WeChatTransient()
        return SecResult(suggest, label if isinstance(label, int) else 0, trace_id)

    def media_check_async(self, media_url: str, openid: str, scene: int,
                          media_type: int = MEDIA_TYPE_IMAGE) -> str:
        """Ask WeChat to check a photo (or audio: ``media_type`` 1) at
        ``media_url``; the ``trace_id`` its pushed result will carry."""
        body = self._platform_call(MEDIA_CHECK_ASYNC, json={
            "media_url": media_url, "media_type": media_type, "version": 2,
            "scene": scene, "openid": openid,
        })
        trace_id = body.get("trace_id")
        if not isinstance(trace_id, str) or not trace_id:
            log.warning("wechat %s answered without trace_id", MEDIA_CHECK_ASYNC)
            raise WeChatTransient()
        return trace_id

    def send_subscribe_message(self, touser: str, template_id: str, page: str | None,
                               data: dict, state: str = "formal", lang: str = "zh_CN") -> None:
        """Send a subscribe message; ``data`` maps the template's keys to their
        text (``{"thing1": "..."}``) or to WeChat's ``{"value": "..."}``;
        ``state`` is ``developer``, ``trial`` or ``formal``."""
        payload = {"touser": touser, "template_id": template_id,
                   "data": {key: value if isinstance(value, dict) else {"value": str(value)}
                            for key, value in data.items()},
                   "miniprogram_state": state, "lang": lang}
        if page:
            payload["page"] = page
        self._platform_call(SUBSCRIBE_SEND, json=payload)

    def get_wxacode_unlimit(self, scene: str, page: str | None = None, check_path: bool = True,
                            env_version: str = "release", width: int = 430) -> bytes:
        """The mini-program code (PNG) that opens ``page`` with ``scene``."""
        payload = {"scene": scene, "check_path": check_path, "env_version": env_version,
                   "width": width}
        if page:
            payload["page"] = page
        return self._platform_call(GET_WXACODE_UNLIMIT, json=payload, image=True)

    def _platform_call(self, path: str, *, image: bool = False, **kwargs):
        """A POST with the access token, refreshed and retried once when WeChat
        refuses it; the JSON answer (the image for ``image``), or WeChatCallFailed."""
        try:
            answer = self._token_call(path, self._access_token(), image, **kwargs)
            if isinstance(answer, dict) and answer.get("errcode") in _TOKEN_REFUSED:
                log.info("wechat refused the access token (errcode %s); forcing a new one",
                         answer.get("errcode"))
                self._redis.delete(ACCESS_TOKEN_KEY)
                answer = self._token_call(path, self._access_token(force_refresh=True), image,
                                          **kwargs)
        except WeChatCallFailed:
            raise
        except WeChatUnavailable:  # unreachable, too slow, not WeChat, no token
            raise WeChatTransient() from None
        if isinstance(answer, bytes):
            return answer
        errcode = answer.get("errcode", 0)
        if errcode == 0:
            if image:  # JSON without an errcode where an image was due
                log.warning("wechat %s answered JSON without an image", path)
                raise WeChatTransient()
            return answer
        errmsg = answer.get("errmsg")
        error = REJECTED_ERRCODES.get(errcode, WeChatTransient)
        level = logging.INFO if error is WeChatNoQuota or error is WeChatTransient else logging.WARNING
        log.log(level, "wechat %s answered errcode %s: %s", path, errcode, errmsg)
        raise error(errcode, errmsg if isinstance(errmsg, str) else None)

    def _token_call(self, path: str, access_token: str, image: bool, **kwargs):
        if not image:
            return self._call("POST", path, params={"access_token": access_token}, **kwargs)
        content_type, raw = self._call_raw("POST", path, MAX_IMAGE_BYTES,
                                           params={"access_token": access_token}, **kwargs)
        if content_type.startswith("image/"):
            return raw
        return json_object(raw, path)

    def _phone_number_call(self, access_token: str, code: str) -> dict:
        return self._call("POST", GET_PHONE_NUMBER, params={"access_token": access_token},
                          json={"code": code})

    def _access_token(self, *, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = self._redis.get(ACCESS_TOKEN_KEY)
            if cached:
                return cached
        body = self._call("POST", STABLE_TOKEN, json={
            "grant_type": "client_credential", "appid": self.appid,
            "secret": self._secret, "force_refresh": force_refresh,
        })
        _raise_for_errcode(STABLE_TOKEN, body)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            log.warning("wechat %s answered without access_token/expires_in", STABLE_TOKEN)
            raise WeChatUnavailable()
        ttl = expires_in - ACCESS_TOKEN_MARGIN
        if ttl > 0:  # a token this close to its end is used once, not shared
            self._redis.set(ACCESS_TOKEN_KEY, token, ex=ttl)
        return token

    def _fetch(self, method: str, path: str, deadline: float, max_bytes: int = MAX_BODY_BYTES,
               **kwargs) -> tuple[str, bytes]:
        try:
            # Connecting gets the whole timeout; waiting for the headers is cut
            # by the watchdog and the body is read against the deadline.
            response = self._http.request(method, self.base_url + path, stream=True,
                                          timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            if time.monotonic() >= deadline:  # the watchdog cut the socket
                log.warning("wechat %s did not answer within the deadline", path)
            else:
                # The exception's text holds the URL, secret and all: log only its type.
                log.warning("wechat %s unreachable: %s", path, type(error).__name__)
            raise WeChatUnavailable() from None
        try:
            if response.status_code != 200:
                log.warning("wechat %s answered HTTP %s", path, response.status_code)
                raise WeChatUnavailable()
            return (response.headers.get("Content-Type", ""),
                    read_body(response, deadline, path, max_bytes))
        finally:
            response.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """One HTTP call within ``timeout`` seconds in all; the JSON object
        WeChat answered, or WeChatUnavailable."""
        return json_object(self._call_raw(method, path, MAX_BODY_BYTES, **kwargs)[1], path)

    def _call_raw(self, method: str, path: str, max_bytes: int, **kwargs) -> tuple[str, bytes]:
        """One HTTP call within ``timeout`` seconds in all: the content type and
        body WeChat answered, or WeChatUnavailable."""
        deadline = time.monotonic() + self.timeout
        sockets: list = []
        context = call_sockets.set(sockets)
        watchdog = threading.Timer(self.timeout, cut, args=(sockets,))
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._fetch(method, path, deadline, max_bytes, **kwargs)
        finally:
            watchdog.cancel()
            call_sockets.reset(context)


def verify_push_signature(token: str, signature: str | None, timestamp: str | None,
                          nonce: str | None) -> bool:
    """Whether a message push (or WeChat's URL check) carries WeChat's signature:
    sha1 of the sorted, joined ``token``, ``timestamp`` and ``nonce``."""
    if not (isinstance(token, str) and isinstance(signature, str) and isinstance(timestamp, str)
            and isinstance(nonce, str) and token and signature and timestamp and nonce):
        return False
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    # as bytes: compare_digest refuses str with characters beyond ASCII (a forged query may have them)
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def _check_code(code) -> None:
    # An empty or absurd code cannot be valid: no need to ask WeChat.
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_CODE_LENGTH:
        raise WeChatCodeInvalid()


def _raise_for_errcode(path: str, body: dict) -> None:
    errcode = body.get("errcode", 0)
    if errcode == 0:
        return
    error, level = ERRCODES.get(errcode, UNEXPECTED)
    if level is not None:
        log.log(level, "wechat %s answered errcode %s: %s", path, errcode, body.get("errmsg"))
    raise error()


def get_wechat() -> WeChatClient:
    """The app's WeChat client, made on first use from the app's configuration."""
    client = current_app.extensions.get("wechat")
    if client is None:
        config = current_app.config
        client = WeChatClient(config["WECHAT_API_BASE"], config["WECHAT_APPID"],
                              config["WECHAT_SECRET"], config["WECHAT_TIMEOUT"],
                              current_app.extensions["redis"])
        # Two first requests at once may both build one; keep whichever came first.
        client = current_app.extensions.setdefault("wechat", client)
    return client
