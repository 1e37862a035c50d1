"""The mock WeChat server: WeChat's real paths and answers, state in memory.

Rules it keeps, like WeChat:

* Every answer is HTTP 200; an error is ``{"errcode": n, "errmsg": "..."}``.
* ``GET /sns/jscode2session`` trades a ``wx.login()`` code for
  ``openid``/``session_key`` (and ``unionid`` when the user has one). A code
  is single-use and lives ``code_ttl`` seconds; a fresh random
  ``session_key`` comes with every exchange. More than ``per_user_limit``
  successful exchanges for one openid within 60 s answer 45011; a user
  marked high-risk answers 40226.
* ``POST /cgi-bin/stable_token`` hands out one access token, the same one
  until it expires (7200 s) or ``force_refresh`` asks for a new one.
* ``POST /wxa/business/getuserphonenumber?access_token=`` trades a phone
  code (single-use, ``code_ttl`` seconds) for the user's phone number.
* ``POST /wxa/msg_sec_check?access_token=`` (version 2) checks a text for a
  user the mock knows (one that logged in or was granted a subscription):
  ``result.suggest`` is ``pass`` unless a sec rule matches.
* ``POST /wxa/media_check_async?access_token=`` takes a photo or audio URL
  and answers a ``trace_id``; the result comes later, pushed to the app's
  message push URL (the ``media-result`` door), signed like WeChat:
  ``signature = sha1("".join(sorted([token, timestamp, nonce])))`` in the
  query string, a JSON body.
* ``POST /cgi-bin/message/subscribe/send?access_token=`` delivers a
  subscribe message, spending one of the user's one-time subscriptions for
  the template (none left: 43101).
* ``POST /wxa/getwxacodeunlimit?access_token=`` answers an ``image/png``: a
  QR code standing in for the round mini-program code, that decodes to
  ``wxacode:<page>?scene=<scene>``; errors are JSON as elsewhere.

Test doors, standing in for the phone and for test control (JSON POST,
bad input answers HTTP 400 ``{"error": "..."}``):

* ``/mock/wx/login {"openid", "unionid"?}`` -> ``{"code"}``, what
  ``wx.login()`` would give that user;
* ``/mock/wx/phone {"phone_number", "country_code"?}`` -> ``{"code"}``, what
  the phone-number button would give;
* ``/mock/wx/high-risk {"openid", "high_risk"}`` marks or clears a user;
* ``/mock/wx/fail {"path", "errcode", "times"?}`` makes the next ``times``
  calls to an API path answer ``errcode``;
* ``/mock/wx/slow {"path", "interval_ms"?, "bytes"?, "times"?}`` makes the
  next ``times`` calls (default 1) to an API path answer slowly: the answer,
  left-padded with spaces (still valid JSON) to ``bytes`` bytes (default
  300), is sent one byte every ``interval_ms`` ms (default 100: 30 s in
  all; 0 sends it at once, for an answer that is merely too big);
* ``/mock/wx/sec-rules {"contains", "suggest", "label"?}``: texts (and
  media URLs) containing ``contains`` get ``suggest`` (``risky``/``review``);
* ``/mock/wx/subscriptions {"openid", "template_id", "count"?}`` grants the
  user ``count`` (default 1) one-time subscriptions, as
  ``wx.requestSubscribeMessage`` would;
* ``GET /mock/wx/messages?openid=`` -> ``{"messages": [...]}``, the
  subscribe messages delivered to the user, oldest first;
* ``/mock/wx/push {"url", "token"}`` sets the app's message push URL;
* ``/mock/wx/push-verify`` makes WeChat's URL check (a signed GET with
  ``echostr``) -> ``{"status", "echoed"}``;
* ``/mock/wx/media-result {"trace_id", "suggest"?, "label"?}`` pushes the
  result of a media check to the push URL -> ``{"status", "body"}``, what the
  app answered (the suggestion defaults to what the sec rules say);
* ``/mock/wx/reset`` forgets everything but the configuration (appid,
  pages, push URL).

With ``auto_push`` (seconds; ``--auto-push`` on the command line) and a push
URL, the mock also pushes each media check's result by itself that long
after answering ``media_check_async``, as WeChat does (the demo).

``app.extensions["wechat_mock"]`` is the :class:`MockState`; its ``calls``
counts the calls each API path answered, for tests that assert caching.
Time is read from ``time.time()`` on every use, so tests can move the clock.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import qrcode
import requests
from flask import Flask, Response, json, jsonify, request

JSCODE2SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
GET_PHONE_NUMBER = "/wxa/business/getuserphonenumber"
MSG_SEC_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK_ASYNC = "/wxa/media_check_async"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
GET_WXACODE_UNLIMIT = "/wxa/getwxacodeunlimit"
API_PATHS = (JSCODE2SESSION, STABLE_TOKEN, GET_PHONE_NUMBER, MSG_SEC_CHECK,
             MEDIA_CHECK_ASYNC, SUBSCRIBE_SEND, GET_WXACODE_UNLIMIT)

DEFAULT_PAGES = ("pages/index/index",)
SUGGESTIONS = ("pass", "review", "risky")
# WeChat's labels: 100 normal; 10001 ads, 20001 politics, 20002 porn,
# 20003 abuse, 20006 crime, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other.
LABEL_PASS = 100
LABEL_OTHER = 21000
MAX_SEC_TEXT = 2500
MAX_SCENE = 32
# What getwxacodeunlimit allows in a scene, besides letters and digits.
SCENE_PATTERN = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
ENV_VERSIONS = ("release", "trial", "develop")
# subscribe/send: what each kind of template field accepts (the key's prefix).
_FIELD_RULES = {
    "thing": re.compile(r".{1,20}", re.DOTALL),
    "number": re.compile(r"[0-9.]{1,32}"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "symbol": re.compile(r"[^0-9A-Za-z\s]{1,5}"),
    "character_string": re.compile(r"[0-9A-Za-z_\-.:]{1,32}"),
    "time": re.compile(r"[0-9: \-~年月日]{1,40}"),
    "date": re.compile(r"[0-9: \-~年月日]{1,40}"),
    "amount": re.compile(r"[¥￥]?[0-9.]{1,10}元?"),
    "phone_number": re.compile(r"[0-9+\-]{1,17}"),
    "car_number": re.compile(r".{1,8}"),
    "name": re.compile(r".{1,10}"),
    "phrase": re.compile(r"[\u4e00-\u9fff]{1,5}"),
}

ACCESS_TOKEN_TTL = 7200
RATE_WINDOW = 60

# WeChat's own wording, so the client sees what production would send.
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    40003: "invalid openid",
    40037: "invalid template_id",
    40097: "invalid args",
    40169: "invalid length for scene, or the data is not json string",
    41030: "invalid page",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    47001: "data format error",
    47003: "argument invalid!",
    61010: "user access record expired",
}


class WeChatError(Exception):
    """An errcode the mock answers with."""

    def __init__(self, errcode: int):
        super().__init__(errcode)
        self.errcode = errcode


class DoorInputError(Exception):
    """Bad input to a test door: HTTP 400."""


@dataclass
class _LoginCode:
    openid: str
    issued_at: float


@dataclass
class _PhoneCode:
    pure_phone_number: str
    country_code: str
    issued_at: float


@dataclass
class _SecRule:
    contains: str
    suggest: str
    label: int


@dataclass
class _MediaCheck:
    trace_id: str
    openid: str
    media_url: str
    media_type: int
    scene: int
    pushed: list = field(default_factory=list)  # the suggestions pushed so far


class MockState:
    """Everything the mock remembers. Callers hold ``lock`` around every use."""

    def __init__(self, appid: str, secret: str, code_ttl: int, per_user_limit: int,
                 pages=DEFAULT_PAGES, push_url: str | None = None, push_token: str | None = None,
                 auto_push: float | None = None):
        self.appid = appid
        self.secret = secret
        self.code_ttl = code_ttl
        self.per_user_limit = per_user_limit
        self.pages = tuple(pages)  # the first is the home page
        if not self.pages:
            raise ValueError("a mini-program has at least one page")
        self.push_url = push_url
        self.push_token = push_token
        self.auto_push = auto_push  # seconds after media_check_async to push its result unasked
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.login_codes: dict[str, _LoginCode] = {}
        self.phone_codes: dict[str, _PhoneCode] = {}
        self.unionids: dict[str, str] = {}
        self.high_risk: set[str] = set()
        self.exchanges: dict[str, list[float]] = {}
        self.failures: dict[str, list[int]] = {}  # path -> [errcode, times left]
        self.slow: dict[str, list[int]] = {}  # path -> [interval ms, bytes, times left]
        self.access_token: str | None = None
        self.token_expires_at = 0.0
        self.calls: Counter[str] = Counter()
        self.users: set[str] = set()  # openids WeChat knows for this mini-program
        self.templates: set[str] = set()  # template ids the mini-program has
        self.sec_rules: list[_SecRule] = []
        self.media_checks: dict[str, _MediaCheck] = {}
        self.quota: Counter[tuple[str, str]] = Counter()  # (openid, template) -> left
        self.messages: dict[str, list[dict]] = {}  # openid -> delivered messages

    # -- the phone's side -------------------------------------------------

    def issue_login_code(self, openid: str, unionid: str | None) -> str:
        self.users.add(openid)
        if unionid:
            self.unionids[openid] = unionid
        code = secrets.token_urlsafe(24)
        self.login_codes[code] = _LoginCode(openid, time.time())
        return code

    def issue_phone_code(self, pure_phone_number: str, country_code: str) -> str:
        code = secrets.token_urlsafe(32)
        self.phone_codes[code] = _PhoneCode(pure_phone_number, country_code, time.time())
        return code

    def inject_failure(self, path: str, errcode: int, times: int) -> None:
        self.failures[path] = [errcode, times]

    def take_failure(self, path: str) -> int | None:
        failure = self.failures.get(path)
        if not failure:
            return None
        failure[1] -= 1
        if failure[1] <= 0:
            del self.failures[path]
        return failure[0]

    def slow_down(self, path: str, interval_ms: int, size: int, times: int) -> None:
        self.slow[path] = [interval_ms, size, times]

    def take_slow(self, path: str) -> tuple[int, int] | None:
        slow = self.slow.get(path)
        if not slow:
            return None
        slow[2] -= 1
        if slow[2] <= 0:
            del self.slow[path]
        return slow[0], slow[1]

    def grant_subscription(self, openid: str, template_id: str, count: int) -> int:
        self.users.add(openid)
        self.templates.add(template_id)
        self.quota[(openid, template_id)] += count
        return self.quota[(openid, template_id)]

    def judge(self, text: str) -> tuple[str, int]:
        """What the sec rules say of ``text``: the worst suggestion that matches."""
        suggest, label = "pass", LABEL_PASS
        for rule in self.sec_rules:
            if rule.contains in text and SUGGESTIONS.index(rule.suggest) > SUGGESTIONS.index(suggest):
                suggest, label = rule.suggest, rule.label
        return suggest, label

    def media_event(self, trace_id: str, suggest: str | None, label: int | None) -> dict:
        """The push WeChat sends when the media check ``trace_id`` is done."""
        check = self.media_checks[trace_id]
        judged, judged_label = self.judge(check.media_url)
        suggest = suggest or judged
        if label is None:
            label = judged_label if suggest == judged else (LABEL_PASS if suggest == "pass" else LABEL_OTHER)
        check.pushed.append(suggest)
        return {
            "ToUserName": f"gh_{self.appid}", "FromUserName": check.openid,
            "CreateTime": int(time.time()), "MsgType": "event", "Event": "wxa_media_check",
            "appid": self.appid, "trace_id": trace_id, "version": 2,
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                        "label": label, "prob": 90}],
            "errcode": 0, "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
        }

    # -- WeChat's side ----------------------------------------------------

    def jscode2session(self, args) -> dict:
        self._check_app(args.get("appid"), args.get("secret"))
        if args.get("grant_type") != "authorization_code":
            raise WeChatError(40002)
        js_code = args.get("js_code")
        if not js_code:
            raise WeChatError(41008)
        now = time.time()
        login = self.login_codes.get(js_code)
        if login is None or now - login.issued_at >= self.code_ttl:
            self.login_codes.pop(js_code, None)
            raise WeChatError(40029)
        openid = login.openid
        if openid in self.high_risk:
            raise WeChatError(40226)
        recent = [t for t in self.exchanges.get(openid, []) if now - t < RATE_WINDOW]
        self.exchanges[openid] = recent
        if len(recent) >= self.per_user_limit:
            raise WeChatError(45011)
        # Only a successful exchange uses the code up and counts against the quota.
        del self.login_codes[js_code]
        recent.append(now)
        body = {"openid": openid,
                "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if openid in self.unionids:
            body["unionid"] = self.unionids[openid]
        return body

    def stable_token(self, body) -> dict:
        if not isinstance(body, dict):
            raise WeChatError(47001)
        if body.get("grant_type") != "client_credential":
            raise WeChatError(40002)
        self._check_app(body.get("appid"), body.get("secret"))
        now = time.time()
        if body.get("force_refresh") or self.access_token is None or now >= self.token_expires_at:
            # Simpler than WeChat, which lets the old token live a little longer.
            self.access_token = secrets.token_urlsafe(48)
            self.token_expires_at = now + ACCESS_TOKEN_TTL
        # Like WeChat, expires_in is what is left of the token's life.
        return {"access_token": self.access_token,
                "expires_in": int(self.token_expires_at - now)}

    def get_phone_number(self, access_token: str | None, body) -> dict:
        now = time.time()
        if not access_token or access_token != self.access_token or now >= self.token_expires_at:
            raise WeChatError(40001)
        code = body.get("code") if isinstance(body, dict) else None
        phone = self.phone_codes.pop(code, None) if isinstance(code, str) else None
        if phone is None or now - phone.issued_at >= self.code_ttl:
            raise WeChatError(40029)
        pure, country = phone.pure_phone_number, phone.country_code
        # WeChat gives mainland numbers bare and foreign ones with their country code.
        number = pure if country == "86" else f"+{country} {pure}"
        return {"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": number,
            "purePhoneNumber": pure,
            "countryCode": country,
            "watermark": {"timestamp": int(now), "appid": self.appid},
        }}

    def msg_sec_check(self, access_token: str | None, body) -> dict:
        self._check_token(access_token)
        if not isinstance(body, dict):
            raise WeChatError(47001)
        content, openid = body.get("content"), body.get("openid")
        if body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4) \
                or not isinstance(content, str) or not content or len(content) > MAX_SEC_TEXT:
            raise WeChatError(40097)
        if not isinstance(openid, str) or openid not in self.users:
            raise WeChatError(40003)
        for name in ("title", "nickname", "signature"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise WeChatError(40097)
        # WeChat checks the title, nickname and signature along with the content.
        text = "\n".join(body[n] for n in ("content", "title", "nickname", "signature")
                         if body.get(n))
        suggest, label = self.judge(text)
        return {"errcode": 0, "errmsg": "ok", "trace_id": _trace_id(),
                "result": {"suggest": suggest, "label": label},
                "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                            "label": label, "prob": 90 if suggest != "pass" else 0}]}

    def media_check_async(self, access_token: str | None, body) -> dict:
        self._check_token(access_token)
        if not isinstance(body, dict):
            raise WeChatError(47001)
        url, openid = body.get("media_url"), body.get("openid")
        if body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4) \
                or body.get("media_type") not in (1, 2) or not isinstance(url, str) \
                or not url.startswith(("http://", "https://")) or len(url) > 2048:
            raise WeChatError(40097)
        if not isinstance(openid, str) or openid not in self.users:
            raise WeChatError(40003)
        trace_id = _trace_id()
        self.media_checks[trace_id] = _MediaCheck(trace_id, openid, url, body["media_type"],
                                                  body["scene"])
        return {"errcode": 0, "errmsg": "ok", "trace_id": trace_id}

    def subscribe_send(self, access_token: str | None, body) -> dict:
        self._check_token(access_token)
        if not isinstance(body, dict):
            raise WeChatError(47001)
        touser, template_id, page = body.get("touser"), body.get("template_id"), body.get("page")
        if not isinstance(touser, str) or touser not in self.users:
            raise WeChatError(40003)
        if not isinstance(template_id, str) or template_id not in self.templates:
            raise WeChatError(40037)
        if page is not None and (not isinstance(page, str) or _bare_page(page) not in self.pages):
            raise WeChatError(41030)
        data = body.get("data")
        if not isinstance(data, dict) or not data or not all(_field_ok(k, v) for k, v in data.items()):
            raise WeChatError(47003)
        if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES \
                or body.get("lang", "zh_CN") not in ("zh_CN", "en_US", "zh_HK", "zh_TW"):
            raise WeChatError(47003)
        if self.quota[(touser, template_id)] <= 0:
            raise WeChatError(43101)
        self.quota[(touser, template_id)] -= 1
        self.messages.setdefault(touser, []).append({
            "template_id": template_id, "page": page,
            "data": {k: v["value"] for k, v in data.items()},
            "miniprogram_state": body.get("miniprogram_state", "formal"),
            "lang": body.get("lang", "zh_CN"), "sent_at": int(time.time()),
        })
        return {"errcode": 0, "errmsg": "ok", "msgid": secrets.randbelow(2**53)}

    def wxacode_text(self, access_token: str | None, body) -> str:
        """What the code for this request decodes to, or the WeChatError."""
        self._check_token(access_token)
        if not isinstance(body, dict):
            raise WeChatError(47001)
        scene, page = body.get("scene"), body.get("page", "")
        if not isinstance(scene, str) or not SCENE_PATTERN.fullmatch(scene):
            raise WeChatError(40169)
        if not isinstance(page, str) or page.startswith("/") or len(page) > 128:
            raise WeChatError(41030)
        page = page or self.pages[0]  # the home page, like WeChat
        if body.get("check_path", True) and page not in self.pages:
            raise WeChatError(41030)
        width = body.get("width", 430)
        if body.get("env_version", "release") not in ENV_VERSIONS \
                or not isinstance(width, int) or isinstance(width, bool) or not 280 <= width <= 1280:
            raise WeChatError(40097)
        return f"wxacode:{page}?scene={scene}"

    def _check_token(self, access_token: str | None) -> None:
        if not access_token or access_token != self.access_token:
            raise WeChatError(40001)
        if time.time() >= self.token_expires_at:
            raise WeChatError(42001)

    def _check_app(self, appid, secret) -> None:
        if not appid:
            raise WeChatError(41002)
        if appid != self.appid:
            raise WeChatError(40013)
        if not secret:
            raise WeChatError(41004)
        if secret != self.secret:
            raise WeChatError(40125)


def create_mock_app(appid: str = "wx-demo-appid", secret: str = "demo-app-secret",
                    code_ttl: int = 300, per_user_limit: int = 20, pages=DEFAULT_PAGES,
                    push_url: str | None = None, push_token: str | None = None,
                    auto_push: float | None = None) -> Flask:
    """A Flask app that answers like WeChat's servers for ``appid``/``secret``;
    ``pages`` are the mini-program's pages, ``push_url``/``push_token`` its
    message push configuration, ``auto_push`` the delay of unasked media results."""
    app = Flask(__name__)
    state = MockState(appid, secret, code_ttl, per_user_limit, pages, push_url, push_token, auto_push)
    app.extensions["wechat_mock"] = state

    def answer(path: str, produce):
        with state.lock:
            state.calls[path] += 1
            slow = state.take_slow(path)
            try:
                injected = state.take_failure(path)
                if injected is not None:
                    raise WeChatError(injected)
                body = produce()
            except WeChatError as error:
                body = {"errcode": error.errcode,
                        "errmsg": ERRMSG.get(error.errcode, "mock injected error")}
        if slow is not None:  # outside the lock: other calls go on meanwhile
            return _dripped(json.dumps(body).encode(), *slow)
        return jsonify(body)  # HTTP 200 even for errors, like WeChat

    @app.get(JSCODE2SESSION)
    def jscode2session():
        return answer(JSCODE2SESSION, lambda: state.jscode2session(request.args))

    @app.post(STABLE_TOKEN)
    def stable_token():
        body = request.get_json(silent=True)
        return answer(STABLE_TOKEN, lambda: state.stable_token(body))

    @app.post(GET_PHONE_NUMBER)
    def get_phone_number():
        body = request.get_json(silent=True)
        token = request.args.get("access_token")
        return answer(GET_PHONE_NUMBER, lambda: state.get_phone_number(token, body))

    def _token_and_body():
        return request.args.get("access_token"), request.get_json(silent=True)

    @app.post(MSG_SEC_CHECK)
    def msg_sec_check():
        token, body = _token_and_body()
        return answer(MSG_SEC_CHECK, lambda: state.msg_sec_check(token, body))

    @app.post(MEDIA_CHECK_ASYNC)
    def media_check_async():
        token, body = _token_and_body()
        response = answer(MEDIA_CHECK_ASYNC, lambda: state.media_check_async(token, body))
        _schedule_auto_push(state, response)
        return response

    @app.post(SUBSCRIBE_SEND)
    def subscribe_send():
        token, body = _token_and_body()
        return answer(SUBSCRIBE_SEND, lambda: state.subscribe_send(token, body))

    @app.post(GET_WXACODE_UNLIMIT)
    def get_wxacode_unlimit():
        token, body = _token_and_body()
        texts = []

        def produce():
            texts.append(state.wxacode_text(token, body))
            return {}

        response = answer(GET_WXACODE_UNLIMIT, produce)
        if not texts or response.is_streamed:  # an error (or a slowed answer): JSON
            return response
        width = body.get("width", 430)
        return Response(_qr_png(texts[0], width), content_type="image/png")

    # -- test doors -------------------------------------------------------

    @app.post("/mock/wx/login")
    def door_login():
        body = _door_body()
        openid = _text(body, "openid")
        unionid = _text(body, "unionid", required=False)
        with state.lock:
            return {"code": state.issue_login_code(openid, unionid)}

    @app.post("/mock/wx/phone")
    def door_phone():
        body = _door_body()
        number = _digits(body, "phone_number", 4, 20)
        country = _digits(body, "country_code", 1, 4, default="86")
        with state.lock:
            return {"code": state.issue_phone_code(number, country)}

    @app.post("/mock/wx/high-risk")
    def door_high_risk():
        body = _door_body()
        openid = _text(body, "openid")
        flag = body.get("high_risk")
        if not isinstance(flag, bool):
            raise DoorInputError("high_risk must be true or false")
        with state.lock:
            (state.high_risk.add if flag else state.high_risk.discard)(openid)
        return {"ok": True}

    @app.post("/mock/wx/fail")
    def door_fail():
        body = _door_body()
        path = _api_path(body)
        errcode = _int(body, "errcode", default=-1)
        if errcode == 0:
            raise DoorInputError("errcode 0 is success; inject a failure")
        times = _int(body, "times", default=1)
        if times < 1:
            raise DoorInputError("times must be at least 1")
        with state.lock:
            state.inject_failure(path, errcode, times)
        return {"ok": True}

    @app.post("/mock/wx/slow")
    def door_slow():
        body = _door_body()
        path = _api_path(body)
        interval_ms = _int(body, "interval_ms", default=100)
        size = _int(body, "bytes", default=300)
        times = _int(body, "times", default=1)
        if not 0 <= interval_ms <= 10_000 or not 0 < size <= 10_000_000 or times < 1:
            raise DoorInputError("interval_ms must be 0-10000, bytes 1-10000000, times at least 1")
        with state.lock:
            state.slow_down(path, interval_ms, size, times)
        return {"ok": True}

    @app.post("/mock/wx/sec-rules")
    def door_sec_rules():
        body = _door_body()
        contains = _text(body, "contains")
        suggest = body.get("suggest")
        if suggest not in ("risky", "review"):
            raise DoorInputError("suggest must be risky or review")
        label = _int(body, "label", default=LABEL_OTHER)
        with state.lock:
            state.sec_rules.append(_SecRule(contains, suggest, label))
        return {"ok": True}

    @app.post("/mock/wx/subscriptions")
    def door_subscriptions():
        body = _door_body()
        openid, template_id = _text(body, "openid"), _text(body, "template_id")
        count = _int(body, "count", default=1)
        if not 1 <= count <= 1000:
            raise DoorInputError("count must be 1-1000")
        with state.lock:
            return {"left": state.grant_subscription(openid, template_id, count)}

    @app.get("/mock/wx/messages")
    def door_messages():
        openid = request.args.get("openid")
        if not openid:
            raise DoorInputError("openid is required")
        with state.lock:
            return {"messages": list(state.messages.get(openid, []))}

    @app.post("/mock/wx/push")
    def door_push():
        body = _door_body()
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise DoorInputError("url must be an http(s) URL")
        token = _text(body, "token")
        with state.lock:
            state.push_url, state.push_token = url, token
        return {"ok": True}

    @app.post("/mock/wx/push-verify")
    def door_push_verify():
        with state.lock:
            url, token = _push_target(state)
        echostr = secrets.token_hex(8)
        response = requests.get(url, params={**_signed_query(token), "echostr": echostr},
                                timeout=10)
        return {"status": response.status_code, "echoed": response.text == echostr}

    @app.post("/mock/wx/media-result")
    def door_media_result():
        body = _door_body()
        trace_id = _text(body, "trace_id")
        suggest = body.get("suggest")
        if suggest is not None and suggest not in SUGGESTIONS:
            raise DoorInputError("suggest must be pass, review or risky")
        label = body.get("label")
        if label is not None:
            label = _int(body, "label", default=LABEL_PASS)
        with state.lock:
            if trace_id not in state.media_checks:
                raise DoorInputError("no media check has this trace_id")
            _push_target(state)
        response = _push_media_result(state, trace_id, suggest, label)
        return {"status": response.status_code, "body": response.text}

    @app.post("/mock/wx/reset")
    def door_reset():
        with state.lock:
            state.reset()
        return {"ok": True}

    # The stand-in mini-program (a page of the app, another origin) asks the
    # doors for codes, as the WeChat client would get them: open to any origin.
    DOORS_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST",
                  "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600"}

    @app.route("/mock/wx/<path:door>", methods=["OPTIONS"])
    def door_preflight(door: str):
        return "", 204, DOORS_CORS

    @app.after_request
    def doors_for_browsers(response):
        if request.path.startswith("/mock/wx/"):
            response.headers.update(DOORS_CORS)
        return response

    @app.errorhandler(DoorInputError)
    def bad_door_input(error: DoorInputError):
        return jsonify({"error": str(error)}), 400

    return app


def _trace_id() -> str:
    # WeChat's look: three dash-separated hex groups.
    return "-".join(secrets.token_hex(4) for _ in range(3))


def _bare_page(page: str) -> str:
    return page.split("?", 1)[0].lstrip("/")


def _field_ok(key, value) -> bool:
    if not isinstance(key, str) or not isinstance(value, dict) or set(value) != {"value"} \
            or not isinstance(value["value"], str):
        return False
    kind = re.sub(r"\d+$", "", key)
    rule = _FIELD_RULES.get(kind)
    return rule is not None and rule.fullmatch(value["value"]) is not None


def _qr_png(text: str, width: int) -> bytes:
    code = qrcode.QRCode(border=4, box_size=max(1, width // 45))
    code.add_data(text)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def _push_target(state: MockState) -> tuple[str, str]:
    if not state.push_url or not state.push_token:
        raise DoorInputError("no message push URL is set: create_mock_app(push_url=, push_token=) "
                             "or /mock/wx/push")
    return state.push_url, state.push_token


def _push_media_result(state: MockState, trace_id: str, suggest: str | None,
                       label: int | None) -> requests.Response:
    """Push the result of the media check ``trace_id`` to the app, signed."""
    with state.lock:
        url, token = _push_target(state)
        event = state.media_event(trace_id, suggest, label)
    # Outside the lock: the app may call the mock while it handles the push.
    return requests.post(url, params=_signed_query(token), timeout=10,
                         data=json.dumps(event, ensure_ascii=False).encode(),
                         headers={"Content-Type": "application/json"})


def _schedule_auto_push(state: MockState, response: Response) -> None:
    """With ``auto_push``, push a successful check's result that many seconds later."""
    with state.lock:
        delay, target = state.auto_push, state.push_url and state.push_token
    if delay is None or not target or response.is_streamed:
        return
    trace_id = (response.get_json(silent=True) or {}).get("trace_id")
    if not trace_id:
        return

    def push() -> None:
        # the app was down: WeChat would retry, the demo just loses it
        with contextlib.suppress(requests.RequestException, DoorInputError):
            _push_media_result(state, trace_id, None, None)

    timer = threading.Timer(delay, push)
    timer.daemon = True
    timer.start()


def _signed_query(token: str) -> dict:
    """signature/timestamp/nonce as WeChat puts them on a push."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def _dripped(answer: bytes, interval_ms: int, size: int) -> Response:
    """``answer`` padded in front to ``size`` bytes, sent a byte every ``interval_ms``."""
    body = answer.rjust(size)

    def drip():
        if not interval_ms:
            yield body
            return
        for i in range(len(body)):
            time.sleep(interval_ms / 1000)
            yield body[i:i + 1]

    # A Content-Length like WeChat's, so the client sees a plain (slow) body.
    return Response(drip(), content_type="application/json",
                    headers={"Content-Length": str(len(body))})


def _api_path(body: dict) -> str:
    path = body.get("path")
    if path not in API_PATHS:
        raise DoorInputError(f"path must be one of {', '.join(API_PATHS)}")
    return path


def _door_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DoorInputError("the body must be a JSON object")
    return body


def _text(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise DoorInputError(f"{name} must be a non-empty string of at most 128 characters")
    return value


def _digits(body: dict, name: str, shortest: int, longest: int, *, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() \
            or not shortest <= len(value) <= longest:
        raise DoorInputError(f"{name} must be a string of {shortest} to {longest} digits")
    return value


def _int(body: dict, name: str, *, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DoorInputError(f"{name} must be an integer")
    return value
