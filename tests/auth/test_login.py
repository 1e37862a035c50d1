"""WeChat login through the mock WeChat server, over real HTTP."""
from __future__ import annotations

import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tests.conftest import assert_error, user_by_openid

LOGIN = "/api/v1/auth/wechat/login"


def test_first_login_creates_the_user_and_answers_tokens(client, wx, monkeypatch):
    from app.wechat.client import WeChatClient

    sessions = []
    exchange = WeChatClient.code2session
    monkeypatch.setattr(WeChatClient, "code2session",
                        lambda self, code: sessions.append(exchange(self, code)) or sessions[-1])
    response = client.post(LOGIN, json={"code": wx.code("o-alice", unionid="u-alice")})
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["is_member"] is False
    user = user_by_openid("o-alice")
    assert user.unionid == "u-alice"
    # WeChat's session_key is neither answered nor kept anywhere in the user's row
    session_key = sessions[0].session_key
    assert session_key and session_key not in response.get_data(as_text=True)
    assert "session_key" not in response.get_data(as_text=True)
    row = db.session.execute(select(User.__table__).where(User.id == user.id)).one()
    assert session_key not in repr(tuple(row))


def test_later_login_finds_the_same_user(client, wx):
    first = client.post(LOGIN, json={"code": wx.code("o-bob")}).json
    second = client.post(LOGIN, json={"code": wx.code("o-bob")}).json
    assert first["user"]["id"] == second["user"]["id"]


def test_used_code_is_refused(client, wx):
    code = wx.code("o-carol")
    assert client.post(LOGIN, json={"code": code}).status_code == 200
    assert_error(client.post(LOGIN, json={"code": code}), 401, "wechat_code_invalid")


def test_unknown_code_is_refused(client):
    assert_error(client.post(LOGIN, json={"code": "not-a-code"}), 401, "wechat_code_invalid")


def test_expired_code_is_refused(client, wx):
    with time_machine.travel("2026-11-26 10:00:00+08:00", tick=False) as traveller:
        code = wx.code("o-dave")
        traveller.shift(301)
        assert_error(client.post(LOGIN, json={"code": code}), 401, "wechat_code_invalid")


def test_wechat_rate_limit_is_429_with_retry_after(client, wx, wechat_server):
    wechat_server.state.inject_failure("/sns/jscode2session", 45011, 1)
    error = client.post(LOGIN, json={"code": wx.code("o-eve")})
    assert_error(error, 429, "wechat_rate_limited")
    assert error.headers["Retry-After"] == "60"


def test_high_risk_user_is_403(client, wx, wechat_server):
    wechat_server.app.test_client().post("/mock/wx/high-risk", json={"openid": "o-risky", "high_risk": True})
    assert_error(client.post(LOGIN, json={"code": wx.code("o-risky")}), 403, "wechat_user_risky")
    assert user_by_openid("o-risky") is None


def test_wechat_system_error_is_503(client, wx, wechat_server):
    wechat_server.state.inject_failure("/sns/jscode2session", -1, 1)
    assert_error(client.post(LOGIN, json={"code": wx.code("o-frank")}), 503, "wechat_unavailable")


def test_wechat_unreachable_is_503(make_app, wx):
    app = make_app(WECHAT_API_BASE="http://127.0.0.1:9")  # nothing listens on the discard port
    response = app.test_client().post(LOGIN, json={"code": wx.code("o-gina")})
    assert_error(response, 503, "wechat_unavailable")
    assert response.headers["X-Request-ID"]


def test_login_validates_its_body(client):
    assert_error(client.post(LOGIN, json={}), 422, "validation_failed")
    error = assert_error(client.post(LOGIN, json={"code": "x", "extra": 1}), 422, "validation_failed")
    assert "extra" in error["details"]["fields"]
    assert_error(client.post(LOGIN, data="{not json", content_type="application/json"),
                 400, "malformed_json")


def test_login_is_rate_limited(make_app, wx):
    app = make_app(RATELIMIT_LOGIN="3/minute")
    client = app.test_client()
    for _ in range(3):
        assert client.post(LOGIN, json={"code": "bad"}).status_code == 401
    response = client.post(LOGIN, json={"code": "bad"})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_disabled_user_cannot_log_in(client, wx):
    from app.common.db import utcnow

    client.post(LOGIN, json={"code": wx.code("o-henry")})
    user_by_openid("o-henry").disabled_at = utcnow()
    db.session.commit()
    assert_error(client.post(LOGIN, json={"code": wx.code("o-henry")}), 403, "account_disabled")


def test_english_messages_on_request(client):
    response = client.post(LOGIN, json={"code": "nope"}, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.json["error"]["message"].startswith("The WeChat") or \
        response.json["error"]["message"].isascii()
    chinese = client.post(LOGIN, json={"code": "nope"})
    assert not chinese.json["error"]["message"].isascii()
