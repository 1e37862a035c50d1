"""A dependency that is down answers 503 naming it, in the one envelope, with
Retry-After and X-Request-ID, logged; never a 500. And the app recovers by
itself once the dependency is back.

Outages are made inside the tests and never touch the shared servers: an
app pointed at a closed port, a throwaway redis-server of our own that is
killed and started again, and, on PostgreSQL, the test run's own database
connections terminated as a restart would.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.extensions import db, limiter
from app.tasks.models import HelpRequest
from tests.conftest import ApiClient, assert_error

ME = "/api/v1/me"
LOGIN = "/api/v1/auth/wechat/login"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test's own, on a free port, that can be killed
    and started again (empty, on the same port) as a restart does."""

    def __init__(self, workdir):
        self.port, self.workdir, self.process = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        probe = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:  # bounded wait for the process to listen
            try:
                probe.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def throwaway_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def restore_limiter(app):
    """Flask-Limiter is one object for every app: bind it back to the test
    app's storage after a test built an app on a dead one."""
    yield
    limiter.init_app(app)
    limiter._storage_dead = False


def assert_dependency_down(response, dependency: str):
    error = assert_error(response, 503, "service_unavailable")
    assert error["details"] == {"dependency": dependency}
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-Request-ID"]
    return error


def help_request(tree):
    from tests.tasks.conftest import END, HERE, START, iso

    return {"community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
            "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START),
            "window_end": iso(END), "contact_phone": "13900001111"}


# ---- Redis -------------------------------------------------------------------------------------

def test_redis_on_a_closed_port_answers_503_naming_redis(app, login, make_app, wx, caplog):
    api = login("o-no-redis")
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    caplog.set_level(logging.ERROR, logger="app.errors")
    response = down.get(ME, headers={"Authorization": f"Bearer {api.tokens['access_token']}"})
    assert_dependency_down(response, "redis")
    logged = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert logged and logged[-1].request_id == response.headers["X-Request-ID"]
    # the login (rate limited too, on the same dead Redis) is no 500 either
    assert_dependency_down(down.post(LOGIN, json={"code": wx.code("o-no-redis")}), "redis")


def test_redis_killed_mid_test_answers_503_and_works_again_once_restarted(
        app, login, make_app, throwaway_redis, tree):
    api = login("o-redis-restart")
    other = ApiClient(make_app(REDIS_URL=throwaway_redis.url).test_client(), api.tokens, api.user_id)
    assert other.get(ME).status_code == 200

    throwaway_redis.stop()
    assert_dependency_down(other.get(ME), "redis")
    assert_dependency_down(other.post("/api/v1/help-requests", json=help_request(tree),
                                      headers={"Idempotency-Key": "during-outage"}), "redis")
    assert_dependency_down(other.post("/api/v1/auth/logout"), "redis")

    throwaway_redis.start()  # empty, as after a restart
    assert other.get(ME).status_code == 200
    created = other.post("/api/v1/help-requests", json=help_request(tree),
                         headers={"Idempotency-Key": "during-outage"})
    assert created.status_code == 201, created.json
    assert db.session.scalar(select(func.count()).select_from(HelpRequest)) == 1
    # nothing was half-done by the failed logout, and a logout now holds
    assert other.post("/api/v1/auth/logout").status_code == 204
    assert_error(other.get(ME), 401, "invalid_token")


def test_rate_limit_storage_down_still_limits_in_memory_and_never_fails(make_app, wx):
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0", RATELIMIT_LOGIN="2/minute")
    client = app.test_client()
    statuses = [client.post(LOGIN, json={"code": wx.code("o-limited")}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# ---- PostgreSQL --------------------------------------------------------------------------------

def test_an_unreachable_database_answers_503_naming_the_database(app, login, make_app):
    api = login("o-no-db")
    down = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none",
                    SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}})
    response = down.test_client().get(ME, headers={"Authorization": f"Bearer {api.tokens['access_token']}"})
    assert_dependency_down(response, "database")


def _terminate_our_connections():
    """What a PostgreSQL restart does to pooled connections, limited to this
    test run's own database."""
    engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            killed = connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            connection.commit()
    finally:
        engine.dispose()
    return killed


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="PostgreSQL run only")
def test_connections_cut_by_a_database_restart_never_answer_500(app, login, make_app, tree):
    api = login("o-pg-restart")
    # the test's client shares one session across requests; a fresh app's
    # client has a session per request, as in production
    clients = [api, ApiClient(make_app().test_client(), api.tokens, api.user_id)]
    answers = []
    for round_ in range(3):
        for who in clients:
            who.get(ME)  # hold pooled connections
        assert _terminate_our_connections() >= 1
        for who in clients:
            for attempt in range(3):
                response = (who.get(ME) if attempt != 1 else who.post(
                    "/api/v1/help-requests", json=help_request(tree),
                    headers={"Idempotency-Key": f"cut-{round_}-{id(who)}"}))
                answers.append(response.status_code)
                if response.status_code == 503:
                    assert_dependency_down(response, "database")
                else:
                    assert response.status_code in (200, 201), response.get_data(as_text=True)
            assert who.get(ME).status_code == 200  # recovered by itself
    assert 500 not in answers
