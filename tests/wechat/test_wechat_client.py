"""The WeChat client against the mock WeChat server, over real HTTP.

The mock runs in a daemon thread on a free port for this module; every test
starts from a reset mock and an empty fakeredis.
"""
from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import requests
import time_machine
from werkzeug.serving import make_server

from app.wechat.client import ACCESS_TOKEN_KEY, PhoneInfo, WeChatClient, WeChatSession
from app.wechat.errors import WeChatCodeInvalid, WeChatRateLimited, WeChatUnavailable, WeChatUserRisky
from app.wechat.transport import MAX_BODY_BYTES
from mini_program_mock.wechat import create_mock_app
from tests.wechat.conftest import APPID, SECRET, client_for

CODE_TTL = 300
PER_USER_LIMIT = 3


@pytest.fixture(scope="module")
def mock_server():
    app = create_mock_app(appid=APPID, secret=SECRET, code_ttl=CODE_TTL,
                          per_user_limit=PER_USER_LIMIT)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def mock(mock_server):
    app, _ = mock_server
    state = app.extensions["wechat_mock"]
    with state.lock:
        state.reset()
    return state


@pytest.fixture
def client(base_url, redis, mock):
    return client_for(base_url, redis)


def client_logs(caplog):
    """What the client logged (the mock's own request log is not ours)."""
    return [r for r in caplog.records if r.name == "app.wechat.client"]


def client_log_text(caplog):
    return "\n".join(r.getMessage() for r in client_logs(caplog))


def door(base_url, name, **body):
    response = requests.post(f"{base_url}/mock/wx/{name}", json=body, timeout=2)
    assert response.status_code == 200, response.text
    return response.json()


def login_code(base_url, openid, unionid=None):
    return door(base_url, "login", openid=openid, unionid=unionid)["code"]


def phone_code(base_url, number="13800138000", country_code="86"):
    return door(base_url, "phone", phone_number=number, country_code=country_code)["code"]


# -- code2session ---------------------------------------------------------

def test_code2session_without_unionid(client, base_url):
    session = client.code2session(login_code(base_url, "o-alice"))
    assert isinstance(session, WeChatSession)
    assert session.openid == "o-alice"
    assert session.unionid is None
    assert len(session.session_key) == 24  # base64 of 16 bytes


def test_code2session_with_unionid_and_a_new_session_key_each_time(client, base_url):
    first = client.code2session(login_code(base_url, "o-bob", unionid="u-bob"))
    second = client.code2session(login_code(base_url, "o-bob"))
    assert (first.openid, first.unionid) == ("o-bob", "u-bob")
    assert second.unionid == "u-bob"  # the user keeps their unionid
    assert first.session_key != second.session_key


def test_session_key_stays_out_of_repr(client, base_url):
    session = client.code2session(login_code(base_url, "o-alice"))
    assert session.session_key not in repr(session)
    assert SECRET not in repr(client)


def test_a_code_is_single_use(client, base_url):
    code = login_code(base_url, "o-alice")
    client.code2session(code)
    with pytest.raises(WeChatCodeInvalid) as caught:
        client.code2session(code)
    assert caught.value.status == 401
    assert caught.value.code == "wechat_code_invalid"


@pytest.mark.parametrize("code", ["", "   ", None, "x" * 1000])
def test_an_impossible_code_is_refused_without_asking(client, mock, code):
    with pytest.raises(WeChatCodeInvalid):
        client.code2session(code)
    assert mock.calls["/sns/jscode2session"] == 0


def test_a_code_expires_after_code_ttl(client, base_url):
    with time_machine.travel(time.time(), tick=False) as traveller:
        fresh, stale = login_code(base_url, "o-alice"), login_code(base_url, "o-bob")
        traveller.shift(CODE_TTL - 1)
        assert client.code2session(fresh).openid == "o-alice"
        traveller.shift(1)
        with pytest.raises(WeChatCodeInvalid):
            client.code2session(stale)


def test_too_many_logins_in_a_minute_are_rate_limited(client, base_url):
    with time_machine.travel(time.time(), tick=False) as traveller:
        for _ in range(PER_USER_LIMIT):
            client.code2session(login_code(base_url, "o-alice"))
        code = login_code(base_url, "o-alice")
        with pytest.raises(WeChatRateLimited) as caught:
            client.code2session(code)
        assert caught.value.status == 429
        assert caught.value.headers == {"Retry-After": "60"}
        # Another user has their own quota.
        client.code2session(login_code(base_url, "o-bob"))
        # A minute later the same, unused code works.
        traveller.shift(60)
        assert client.code2session(code).openid == "o-alice"


def test_a_high_risk_user_is_refused(client, base_url):
    door(base_url, "high-risk", openid="o-mallory", high_risk=True)
    code = login_code(base_url, "o-mallory")
    with pytest.raises(WeChatUserRisky) as caught:
        client.code2session(code)
    assert (caught.value.status, caught.value.code) == (403, "wechat_user_risky")
    door(base_url, "high-risk", openid="o-mallory", high_risk=False)
    assert client.code2session(code).openid == "o-mallory"


def test_a_system_error_is_unavailable_and_passes(client, base_url, caplog):
    door(base_url, "fail", path="/sns/jscode2session", errcode=-1, times=1)
    code = login_code(base_url, "o-alice")
    with caplog.at_level(logging.WARNING, logger="app.wechat.client"), pytest.raises(WeChatUnavailable) as caught:
        client.code2session(code)
    assert (caught.value.status, caught.value.code) == (503, "wechat_unavailable")
    assert "errcode -1" in client_log_text(caplog)
    assert client.code2session(code).openid == "o-alice"  # the failure used nothing up


def test_an_unexpected_errcode_is_unavailable_and_logged(client, base_url, caplog):
    door(base_url, "fail", path="/sns/jscode2session", errcode=40999)
    with caplog.at_level(logging.WARNING, logger="app.wechat.client"), pytest.raises(WeChatUnavailable):
        client.code2session(login_code(base_url, "o-alice"))
    assert [r.levelno for r in client_logs(caplog)] == [logging.WARNING]
    assert "40999" in client_log_text(caplog)


def test_an_unreachable_wechat_is_unavailable_and_logs_no_secret(redis, caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WeChatClient(f"http://127.0.0.1:{port}", APPID, SECRET, 1.0, redis)
    with caplog.at_level(logging.DEBUG, logger="app.wechat.client"), pytest.raises(WeChatUnavailable) as caught:
        client.code2session("some-code")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "unreachable" in client_log_text(caplog)
    assert SECRET not in client_log_text(caplog)


def test_a_wrong_secret_is_unavailable_and_logged_as_an_error(base_url, redis, mock, caplog):
    client = WeChatClient(base_url, APPID, "wrong-secret", 2.0, redis)
    with caplog.at_level(logging.WARNING, logger="app.wechat.client"), pytest.raises(WeChatUnavailable):
        client.code2session(login_code(base_url, "o-alice"))
    assert [r.levelno for r in client_logs(caplog)] == [logging.ERROR]
    assert "40125" in client_log_text(caplog)
    assert "wrong-secret" not in client_log_text(caplog)


def test_a_wrong_appid_is_unavailable(base_url, redis, mock):
    client = WeChatClient(base_url, "wx-other", SECRET, 2.0, redis)
    with pytest.raises(WeChatUnavailable):
        client.get_phone_number(phone_code(base_url))


def test_a_server_that_is_not_wechat_is_unavailable(base_url, redis, mock):
    # The mock answers 404 HTML under another prefix: not WeChat's answer.
    client = WeChatClient(base_url + "/nowhere", APPID, SECRET, 2.0, redis)
    with pytest.raises(WeChatUnavailable):
        client.code2session("some-code")


def test_a_dripping_answer_is_cut_at_the_deadline(base_url, redis, mock, caplog):
    # 300 bytes, one every 100 ms: a 30 s answer, each byte well within any per-read timeout.
    door(base_url, "slow", path="/sns/jscode2session", interval_ms=100, bytes=300)
    client = WeChatClient(base_url, APPID, SECRET, 1.0, redis)
    code = login_code(base_url, "o-alice")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="app.wechat.client"), pytest.raises(WeChatUnavailable):
        client.code2session(code)
    assert time.monotonic() - started < 5  # a correctness bound, not a speed test
    assert "deadline" in client_log_text(caplog)
    assert SECRET not in client_log_text(caplog)


def test_a_slow_answer_within_the_deadline_is_read(base_url, redis, mock):
    door(base_url, "slow", path="/sns/jscode2session", interval_ms=5, bytes=120)
    client = WeChatClient(base_url, APPID, SECRET, 5.0, redis)
    assert client.code2session(login_code(base_url, "o-alice")).openid == "o-alice"
    # and the connection serves the next call
    assert client.code2session(login_code(base_url, "o-bob")).openid == "o-bob"


def test_an_answer_too_big_to_be_wechat_is_unavailable(client, base_url, caplog):
    door(base_url, "slow", path="/sns/jscode2session", interval_ms=0, bytes=MAX_BODY_BYTES + 1)
    with caplog.at_level(logging.WARNING, logger="app.wechat.client"), pytest.raises(WeChatUnavailable):
        client.code2session(login_code(base_url, "o-alice"))
    assert "more than" in client_log_text(caplog)


def test_a_slow_phone_number_call_is_unavailable(base_url, redis, mock):
    client = WeChatClient(base_url, APPID, SECRET, 1.0, redis)
    door(base_url, "slow", path="/wxa/business/getuserphonenumber", interval_ms=200, bytes=200)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        client.get_phone_number(phone_code(base_url))
    assert time.monotonic() - started < 5


# -- getuserphonenumber and the access token ------------------------------

def test_get_phone_number(client, base_url):
    assert client.get_phone_number(phone_code(base_url)) == PhoneInfo(
        "13800138000", "13800138000", "86")


def test_a_foreign_phone_number_carries_its_country_code(client, base_url):
    info = client.get_phone_number(phone_code(base_url, "61234567", "852"))
    assert info == PhoneInfo("+852 61234567", "61234567", "852")


def test_a_phone_code_is_single_use(client, base_url):
    code = phone_code(base_url)
    client.get_phone_number(code)
    with pytest.raises(WeChatCodeInvalid):
        client.get_phone_number(code)


def test_a_phone_code_expires(client, base_url):
    with time_machine.travel(time.time(), tick=False) as traveller:
        code = phone_code(base_url)
        traveller.shift(CODE_TTL)
        with pytest.raises(WeChatCodeInvalid):
            client.get_phone_number(code)


def test_the_access_token_is_cached_in_redis(client, base_url, mock, redis):
    client.get_phone_number(phone_code(base_url))
    client.get_phone_number(phone_code(base_url, "13900139000"))
    assert mock.calls["/cgi-bin/stable_token"] == 1
    assert mock.calls["/wxa/business/getuserphonenumber"] == 2
    assert redis.get(ACCESS_TOKEN_KEY) == mock.access_token
    assert 7200 - 300 - 5 < redis.ttl(ACCESS_TOKEN_KEY) <= 7200 - 300


def test_a_refused_token_is_refreshed_and_the_call_retried_once(client, base_url, mock, redis):
    client.get_phone_number(phone_code(base_url))
    old_token = redis.get(ACCESS_TOKEN_KEY)
    door(base_url, "fail", path="/wxa/business/getuserphonenumber", errcode=40001)
    assert client.get_phone_number(phone_code(base_url)).pure_phone_number == "13800138000"
    assert mock.calls["/cgi-bin/stable_token"] == 2
    assert mock.calls["/wxa/business/getuserphonenumber"] == 3
    assert redis.get(ACCESS_TOKEN_KEY) == mock.access_token != old_token


def test_a_stale_cached_token_is_replaced(client, base_url, mock, redis):
    # Another server forced a new token: ours is no longer the latest.
    redis.set(ACCESS_TOKEN_KEY, "stale-token")
    assert client.get_phone_number(phone_code(base_url)).country_code == "86"
    assert mock.calls["/cgi-bin/stable_token"] == 1
    assert redis.get(ACCESS_TOKEN_KEY) == mock.access_token


def test_a_token_refused_twice_is_unavailable(client, base_url, mock):
    door(base_url, "fail", path="/wxa/business/getuserphonenumber", errcode=42001, times=2)
    with pytest.raises(WeChatUnavailable):
        client.get_phone_number(phone_code(base_url))
    assert mock.calls["/wxa/business/getuserphonenumber"] == 2  # one retry, no more


def test_get_wechat_builds_one_client_from_config(base_url, redis):
    from flask import Flask

    from app.wechat.client import get_wechat

    app = Flask(__name__)
    app.config.update(WECHAT_API_BASE=base_url, WECHAT_APPID=APPID,
                      WECHAT_SECRET=SECRET, WECHAT_TIMEOUT=2.0)
    app.extensions["redis"] = redis
    assert "wechat" not in app.extensions
    with app.app_context():
        client = get_wechat()
        assert get_wechat() is client
    assert (client.base_url, client.appid, client.timeout) == (base_url, APPID, 2.0)
    assert app.extensions["wechat"] is client


# -- the mock's own paths, through its Flask test client --------------------

@pytest.fixture
def mock_http():
    return create_mock_app(appid=APPID, secret=SECRET, code_ttl=CODE_TTL).test_client()


def test_mock_jscode2session_errors_are_http_200(mock_http):
    code = mock_http.post("/mock/wx/login", json={"openid": "o-a"}).get_json()["code"]
    query = {"appid": APPID, "secret": SECRET, "js_code": code,
             "grant_type": "authorization_code"}
    for change, errcode, errmsg in [({"appid": "wx-x"}, 40013, "invalid appid"),
                                    ({"secret": "x"}, 40125, "invalid appsecret"),
                                    ({"js_code": "nope"}, 40029, "invalid code")]:
        response = mock_http.get("/sns/jscode2session", query_string={**query, **change})
        assert response.status_code == 200
        assert response.get_json() == {"errcode": errcode, "errmsg": errmsg}
    body = mock_http.get("/sns/jscode2session", query_string=query).get_json()
    assert set(body) == {"openid", "session_key"}


def test_mock_stable_token(mock_http):
    request = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    with time_machine.travel(time.time(), tick=False) as traveller:
        first = mock_http.post("/cgi-bin/stable_token", json=request).get_json()
        assert first["expires_in"] == 7200
        again = mock_http.post("/cgi-bin/stable_token", json=request).get_json()
        assert again["access_token"] == first["access_token"]
        forced = mock_http.post("/cgi-bin/stable_token",
                                json={**request, "force_refresh": True}).get_json()
        assert forced["access_token"] != first["access_token"]
        traveller.shift(7200)
        expired = mock_http.post("/cgi-bin/stable_token", json=request).get_json()
        assert expired["access_token"] != forced["access_token"]
    for change, errcode in [({"grant_type": "password"}, 40002), ({"appid": "wx-x"}, 40013),
                            ({"secret": "x"}, 40125)]:
        body = mock_http.post("/cgi-bin/stable_token", json={**request, **change}).get_json()
        assert body["errcode"] == errcode


def test_mock_getuserphonenumber(mock_http):
    code = mock_http.post("/mock/wx/phone", json={"phone_number": "13800138000"}).get_json()["code"]
    assert mock_http.post("/wxa/business/getuserphonenumber?access_token=nope",
                          json={"code": code}).get_json() == {
        "errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
    token = mock_http.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET,
    }).get_json()["access_token"]
    body = mock_http.post(f"/wxa/business/getuserphonenumber?access_token={token}",
                          json={"code": code}).get_json()
    assert (body["errcode"], body["errmsg"]) == (0, "ok")
    info = body["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == APPID
    assert isinstance(info["watermark"]["timestamp"], int)


def test_mock_reset_forgets_codes(mock_http):
    code = mock_http.post("/mock/wx/login", json={"openid": "o-a"}).get_json()["code"]
    assert mock_http.post("/mock/wx/reset").get_json() == {"ok": True}
    body = mock_http.get("/sns/jscode2session", query_string={
        "appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code",
    }).get_json()
    assert body["errcode"] == 40029


@pytest.mark.parametrize("path, body", [
    ("/mock/wx/login", {}),
    ("/mock/wx/login", {"openid": ""}),
    ("/mock/wx/login", {"openid": "o-a", "unionid": 5}),
    ("/mock/wx/phone", {"phone_number": "138-0013"}),
    ("/mock/wx/phone", {"phone_number": "13800138000", "country_code": 86}),
    ("/mock/wx/high-risk", {"openid": "o-a", "high_risk": "yes"}),
    ("/mock/wx/fail", {"path": "/elsewhere"}),
    ("/mock/wx/fail", {"path": "/sns/jscode2session", "errcode": "x"}),
    ("/mock/wx/fail", {"path": "/sns/jscode2session", "times": 0}),
    ("/mock/wx/fail", {"path": "/sns/jscode2session", "errcode": 0}),
    ("/mock/wx/login", ["not", "an", "object"]),
    ("/mock/wx/slow", {"path": "/elsewhere"}),
    ("/mock/wx/slow", {"path": "/sns/jscode2session", "interval_ms": -1}),
    ("/mock/wx/slow", {"path": "/sns/jscode2session", "bytes": 0}),
    ("/mock/wx/slow", {"path": "/sns/jscode2session", "times": 0}),
])
def test_mock_doors_refuse_bad_input(mock_http, path, body):
    response = mock_http.post(path, json=body)
    assert response.status_code == 400
    assert isinstance(response.get_json()["error"], str)


def test_mock_main_parses_its_arguments(monkeypatch):
    from mini_program_mock.wechat import __main__ as entry

    seen = {}
    monkeypatch.setattr(entry, "run_simple",
                        lambda host, port, app, threaded: seen.update(
                            host=host, port=port, app=app, threaded=threaded))
    entry.main(["--port", "9123", "--appid", "wx-x", "--secret", "s"])
    assert (seen["host"], seen["port"], seen["threaded"]) == ("127.0.0.1", 9123, True)
    state = seen["app"].extensions["wechat_mock"]
    assert (state.appid, state.secret) == ("wx-x", "s")
