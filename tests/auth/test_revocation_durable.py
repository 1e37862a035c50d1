"""Revocation survives the loss of Redis: the database keeps each login
session (token family), Redis only caches its status. ``flushdb`` stands for
a Redis that restarted empty. And the cache keeps the hot path as cheap as
before: a warm check is one Redis read and the one user query."""
from __future__ import annotations

import datetime as dt

import jwt
import pytest

from app.extensions import db, get_redis
from tests.conftest import assert_error
from tests.test_budgets import CountingRedis

REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/me"
SECRET = "test-secret-key-that-is-long-enough-for-hs256-and-even-hs512-000"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_logged_out_access_token_stays_revoked_after_redis_restarts(client, login):
    api = login("o-flush-logout")
    assert api.post("/api/v1/auth/logout").status_code == 204
    get_redis().flushdb()
    assert_error(api.get(ME), 401, "invalid_token")
    assert_error(client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]}),
                 401, "invalid_token")
    assert_error(api.get(ME), 401, "invalid_token")  # and again, from the repopulated cache


def test_reuse_of_a_refresh_token_is_still_detected_after_redis_restarts(client, login):
    api = login("o-flush-reuse")
    old = api.tokens["refresh_token"]
    fresh = client.post(REFRESH, json={"refresh_token": old}).json
    get_redis().flushdb()
    assert_error(client.post(REFRESH, json={"refresh_token": old}), 401, "refresh_token_reused")
    assert_error(client.post(REFRESH, json={"refresh_token": fresh["refresh_token"]}), 401, "invalid_token")
    assert_error(client.get(ME, headers=bearer(fresh["access_token"])), 401, "invalid_token")


def test_a_live_session_keeps_working_and_rotating_after_redis_restarts(client, login):
    api = login("o-flush-live")
    get_redis().flushdb()
    assert api.get(ME).status_code == 200
    fresh = client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]})
    assert fresh.status_code == 200
    get_redis().flushdb()
    assert client.post(REFRESH, json={"refresh_token": fresh.json["refresh_token"]}).status_code == 200


def test_a_revocation_cached_during_a_miss_is_not_overwritten(app, client, login):
    """A request that read the family as live just before a logout must not
    cache "live" over the logout's "revoked"."""
    from app.auth import tokens

    api = login("o-race")
    claims = jwt.decode(api.tokens["access_token"], SECRET, algorithms=["HS256"])
    get_redis().flushdb()
    tokens.revoke_family(claims["fam"])  # the logout lands between the read and the write
    tokens.remember_status(claims, tokens.LIVE)  # what the slower request read before it
    assert_error(api.get(ME), 401, "invalid_token")


@pytest.fixture
def counting_redis(app):
    original = app.extensions["redis"]
    app.extensions["redis"] = wrapper = CountingRedis(original)
    yield wrapper
    app.extensions["redis"] = original


def test_a_warm_check_costs_one_redis_read_and_a_miss_no_extra_sql(login, count_queries, counting_redis):
    api = login("o-cheap")
    counts = {}
    for cold in (False, True):
        if cold:
            get_redis().flushdb()
        db.session.expunge_all()
        counting_redis.calls.clear()
        with count_queries() as queries:
            assert api.get("/api/v1/me/volunteer").status_code in (200, 404)
        counts[cold] = queries.count
        # the family's status rides on the user query on a miss
        assert ("token_families" in queries.statements[0]) is cold, queries.statements
        assert counting_redis.calls == (["GET", "SET"] if cold else ["GET"]), counting_redis.calls
    assert counts[True] == counts[False]


@pytest.mark.parametrize("sub", ["99999999999999999999", "2147483648", "0", "-1", "007", "²", "1.0", 12])
def test_a_sub_that_is_no_user_id_is_an_invalid_token(client, login, sub):
    claims = jwt.decode(login("o-sub").tokens["access_token"], SECRET, algorithms=["HS256"])
    claims["sub"] = sub
    forged = jwt.encode(claims, SECRET, algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(forged)), 401, "invalid_token")


def test_a_family_of_another_user_is_refused(client, login):
    mine = jwt.decode(login("o-mine").tokens["access_token"], SECRET, algorithms=["HS256"])
    theirs = login("o-theirs")
    mine["sub"] = str(theirs.user_id)  # a valid signature, someone else's session
    forged = jwt.encode(mine, SECRET, algorithm="HS256")
    get_redis().flushdb()
    assert_error(client.get(ME, headers=bearer(forged)), 401, "invalid_token")


def test_the_session_is_recorded_with_its_rotations_and_revocation(client, login):
    from sqlalchemy import select

    from app.auth.models import TokenFamily

    api = login("o-record")
    fam = jwt.decode(api.tokens["refresh_token"], SECRET, algorithms=["HS256"])["fam"]
    fresh = client.post(REFRESH, json={"refresh_token": api.tokens["refresh_token"]}).json
    client.post("/api/v1/auth/logout", headers=bearer(fresh["access_token"]))
    db.session.expire_all()
    family = db.session.scalar(select(TokenFamily).where(TokenFamily.id == fam))
    assert family.user_id == api.user_id and family.generation == 2
    assert family.refresh_jti == jwt.decode(fresh["refresh_token"], SECRET, algorithms=["HS256"])["jti"]
    assert family.revoked_reason == "logout"
    assert family.revoked_at <= dt.datetime.now(dt.UTC)


def test_pruning_drops_only_sessions_that_can_no_longer_be_used(app, client, login, clock):
    from app.auth import tokens

    ended = login("o-prune-ended")
    ended.post("/api/v1/auth/logout")
    idle, live = login("o-prune-idle"), login("o-prune-live")
    clock.shift(app.config["ACCESS_TOKEN_TTL"] + 1)
    assert tokens.prune_ended() == 1  # the logged-out one, its access tokens expired
    clock.shift(app.config["REFRESH_TOKEN_TTL"] - app.config["ACCESS_TOKEN_TTL"] - 10)
    live.refresh()
    clock.shift(20)
    assert tokens.prune_ended() == 1  # the idle one
    assert client.post(REFRESH, json={"refresh_token": idle.tokens["refresh_token"]}).status_code == 401
    get_redis().flushdb()
    assert live.get(ME).status_code == 200
