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
* ``/mock/wx/reset`` forgets everything.

``app.extensions["wechat_mock"]`` is the :class:`MockState`; its ``calls``
counts the calls each API path answered, for tests that assert caching.
Time is read from ``time.time()`` on every use, so tests can move the clock.
"""
from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass

from flask import Flask, Response, json, jsonify, request

JSCODE2SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
GET_PHONE_NUMBER = "/wxa/business/getuserphonenumber"
API_PATHS = (JSCODE2SESSION, STABLE_TOKEN, GET_PHONE_NUMBER)

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
    42001: "access_token expired",
    45011: "api minute-quota reach limit mustslower retry next minute",
    47001: "data format error",
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


class MockState:
    """Everything the mock remembers. Callers hold ``lock`` around every use."""

    def __init__(self, appid: str, secret: str, code_ttl: int, per_user_limit: int):
        self.appid = appid
        self.secret = secret
        self.code_ttl = code_ttl
        self.per_user_limit = per_user_limit
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

    # -- the phone's side -------------------------------------------------

    def issue_login_code(self, openid: str, unionid: str | None) -> str:
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
                    code_ttl: int = 300, per_user_limit: int = 20) -> Flask:
    """A Flask app that answers like WeChat's servers for ``appid``/``secret``."""
    app = Flask(__name__)
    state = MockState(appid, secret, code_ttl, per_user_limit)
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
