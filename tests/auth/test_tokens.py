"""Refresh rotation, reuse detection, logout, and every way a token is refused."""
from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import time_machine

from app.common.db import utcnow
from app.extensions import db
from tests.conftest import assert_error, user_by_openid

REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/me"
SECRET = "test-secret-key-that-is-long-enough-for-hs256-and-even-hs512-000"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_refresh_rotates_and_old_access_keeps_working_until_expiry(client, login):
    api = login("o-rot")
    response = client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]})
    assert response.status_code == 200
    fresh = response.json
    assert fresh["refresh_token"] != api.tokens["refresh_token"]
    assert client.get(ME, headers=bearer(fresh["access_token"])).status_code == 200
    # and the new refresh token works once more
    assert client.post(REFRESH, json={"refresh_token": fresh["refresh_token"]}).status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_family(client, login):
    api = login("o-reuse")
    old_refresh = api.tokens["refresh_token"]
    fresh = client.post(REFRESH, json={"refresh_token": old_refresh}).json
    assert_error(client.post(REFRESH, json={"refresh_token": old_refresh}), 401, "refresh_token_reused")
    # the thief's replay killed the legitimate session too
    assert_error(client.post(REFRESH, json={"refresh_token": fresh["refresh_token"]}), 401, "invalid_token")
    assert_error(client.get(ME, headers=bearer(fresh["access_token"])), 401, "invalid_token")


def test_other_sessions_survive_a_family_revocation(client, login):
    phone = login("o-two-phones")
    tablet = login("o-two-phones")
    client.post(REFRESH, json={"refresh_token": phone.tokens["refresh_token"]})
    client.post(REFRESH, json={"refresh_token": phone.tokens["refresh_token"]})  # reuse
    assert tablet.get(ME).status_code == 200


def test_logout_revokes_access_and_refresh(client, login):
    api = login("o-bye")
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert_error(api.get(ME), 401, "invalid_token")
    assert_error(client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]}),
                 401, "invalid_token")


def test_missing_and_malformed_authorization(client):
    assert_error(client.get(ME), 401, "unauthorized")
    assert_error(client.get(ME, headers={"Authorization": "Basic abc"}), 401, "invalid_token")
    assert_error(client.get(ME, headers={"Authorization": "Bearer"}), 401, "invalid_token")
    assert_error(client.get(ME, headers=bearer("not.a.jwt")), 401, "invalid_token")


def _claims(api):
    return jwt.decode(api.tokens["access_token"], SECRET, algorithms=["HS256"])


def test_alg_none_is_refused(client, login):
    claims = _claims(login("o-none"))
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    token = (header + b"." + payload + b".").decode()
    assert_error(client.get(ME, headers=bearer(token)), 401, "invalid_token")


def test_wrong_signature_is_refused(client, login):
    claims = _claims(login("o-forge"))
    forged = jwt.encode(claims, "another-secret-of-sufficient-length-000", algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(forged)), 401, "invalid_token")


def test_other_algorithm_is_refused(client, login):
    claims = _claims(login("o-hs512"))
    token = jwt.encode(claims, SECRET, algorithm="HS512")
    assert_error(client.get(ME, headers=bearer(token)), 401, "invalid_token")


def test_refresh_token_used_as_access_is_refused(client, login):
    api = login("o-typ")
    assert_error(client.get(ME, headers=bearer(api.tokens["refresh_token"])), 401, "invalid_token")
    # and the reverse
    assert_error(client.post(REFRESH, json={"refresh_token": api.tokens["access_token"]}),
                 401, "invalid_token")


def test_missing_claims_are_refused(client, login):
    claims = _claims(login("o-claims"))
    del claims["jti"]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(token)), 401, "invalid_token")


def test_expired_access_token_is_refused(client, wx):
    with time_machine.travel(dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC), tick=False) as t:
        tokens = client.post("/api/v1/auth/wechat/login", json={"code": wx.code("o-exp")}).json
        t.shift(14 * 60)
        assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 200
        t.shift(2 * 60)
        assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "invalid_token")
        # the refresh token still gets a new access token
        assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 200


def test_token_of_deleted_or_disabled_user_is_refused(client, login):
    for field, openid in (("deleted_at", "o-del"), ("disabled_at", "o-dis")):
        api = login(openid)
        setattr(user_by_openid(openid), field, utcnow())
        db.session.commit()
        assert_error(api.get(ME), 401, "invalid_token")
        assert_error(client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]}),
                     401, "invalid_token")


def test_token_for_a_user_that_no_longer_exists(client, login):
    api = login("o-gone")
    db.session.delete(user_by_openid("o-gone"))
    db.session.commit()
    assert_error(api.get(ME), 401, "invalid_token")


def test_me_describes_the_user(login, tree):
    from app.orgs.services import grant_role

    api = login("o-me")
    grant_role(None, tree.a, api.user_id, "org_admin")
    body = api.get(ME).json
    assert body["user"]["id"] == api.user_id
    assert body["roles"][0]["role"] == "org_admin"
    assert body["roles"][0]["org"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    assert body["identity"] is None
    assert body["community_report"] is None
