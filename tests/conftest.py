"""Fixtures: one app and schema per session, a clean database and Redis per test.

Backends come from the environment, so the same suite runs on both:
``TEST_DATABASE_URL`` (default: a SQLite file in a temp dir) and
``TEST_REDIS_URL`` (default: fakeredis). The mock WeChat server runs for
real on a free port, and the app talks to it over HTTP.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import event, select, text
from werkzeug.serving import make_server

from app import create_app
from app.auth.models import User
from app.extensions import db, get_redis, limiter
from mini_program_mock.wechat.server import create_mock_app

DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
# An environment production starts with: every setting it requires, each secret its own.
PRODUCTION_ENV = {"SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://db/app", "REDIS_URL": "redis://cache:6379/0",
                  "PHONE_KEY": "p" * 40, "BADGE_KEY": "b" * 40, "PUBLIC_BASE_URL": "https://api.example.cn/",
                  "WECHAT_PUSH_TOKEN": "push-token"}


def pytest_report_header(config):
    return [f"database: {DATABASE_URL or 'sqlite (temp file)'}",
            f"redis: {REDIS_URL or 'fakeredis'}"]


@pytest.fixture(scope="session")
def wechat_server():
    mock = create_mock_app()
    server = make_server("127.0.0.1", 0, mock, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=mock,
                          state=mock.extensions["wechat_mock"])
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """SQLite in a temp dir, or a fresh PostgreSQL database for this run (so
    that concurrent runs on one server never see each other's rows)."""
    if not DATABASE_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    import sqlalchemy as sa

    server_url = DATABASE_URL.replace("postgresql://", "postgresql+psycopg://")
    name = f"{server_url.rsplit('/', 1)[1]}_run_{os.getpid()}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory, wechat_server, database_url):
    instance = tmp_path_factory.mktemp("instance")
    return {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-and-even-hs512-000",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": REDIS_URL,
        # Jobs run at once, in the test, on both backends; tests/jobs/ runs
        # them on an RQ worker instead.
        "JOBS_EAGER": True,
        "INSTANCE_DIR": str(instance),
        "WECHAT_API_BASE": wechat_server.url,
        "WECHAT_PUSH_TOKEN": "test-push-token",  # tests/uploads/helpers.py signs pushes with it
        "RATELIMIT_LOGIN": "1000/minute",
        "RATELIMIT_REFRESH": "1000/minute",
        "RATELIMIT_CONSOLE_TICKET": "1000/minute",
        "RATELIMIT_CONSOLE_REDEEM": "10000/minute",
        "LOG_JSON": False,
    }


@pytest.fixture(scope="session")
def _app(settings):
    app = create_app(dict(settings))
    with app.app_context():
        db.create_all()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(settings, _app):
    """Another app on the same database and Redis, with config overrides."""

    def make(**overrides):
        return create_app({**settings, **overrides})

    return make


@pytest.fixture
def app(_app, wechat_server):
    with _app.app_context():
        yield _app
        db.session.remove()
        _clean_database()
        get_redis().flushdb()
        limiter.reset()
        _app.extensions.get("center_cache", {}).clear()  # ids restart with every test
    wechat_server.state.reset()


def _clean_database():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def queued(app, monkeypatch):
    """Jobs go to Redis for a worker instead of running at once (RQ retries only there)."""
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)


@pytest.fixture
def run_worker(queued):
    """``run_worker()``: an RQ SimpleWorker runs what is queued (and, with its
    scheduler, what is due for a retry) in this process, then stops."""
    import signal

    from rq import SimpleWorker

    from app.jobs.queue import make_worker

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run() -> bool:
        return make_worker(worker_class=SimpleWorker).work(burst=True, with_scheduler=True,
                                                           logging_level="WARNING")

    yield run
    for sig, handler in handlers.items():  # the worker installs its own
        signal.signal(sig, handler)


@pytest.fixture
def client(app):
    return app.test_client()


class ApiClient:
    """The test client with a bearer token and JSON by default."""

    def __init__(self, client, tokens: dict, user_id: int):
        self.client = client
        self.tokens = tokens
        self.user_id = user_id

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def _call(self, method, path, headers=None, **kwargs):
        return getattr(self.client, method)(path, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, **kw):
        return self._call("post", path, **kw)

    def patch(self, path, **kw):
        return self._call("patch", path, **kw)

    def put(self, path, **kw):
        return self._call("put", path, **kw)

    def refresh(self) -> None:
        """New tokens (after moving the clock past the access token's life)."""
        response = self.client.post("/api/v1/auth/refresh",
                                    json={"refresh_token": self.tokens["refresh_token"]})
        assert response.status_code == 200, response.json
        self.tokens = response.json

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


@pytest.fixture
def wx(client, wechat_server):
    """The phone: codes from the mock WeChat, as wx.login() and the phone button give them."""

    class Phone:
        def code(self, openid: str, unionid: str | None = None) -> str:
            body = {"openid": openid, **({"unionid": unionid} if unionid else {})}
            return wechat_server.app.test_client().post("/mock/wx/login", json=body).json["code"]

        def phone_code(self, phone: str, country_code: str = "86") -> str:
            return wechat_server.app.test_client().post(
                "/mock/wx/phone", json={"phone_number": phone, "country_code": country_code}).json["code"]

    return Phone()


@pytest.fixture
def login(client, wx):
    """Log in through HTTP and the mock WeChat; returns an authenticated
    ApiClient. Every client made is remembered (``login.made``) so that
    ``travel`` can renew their tokens."""
    made: list[ApiClient] = []

    def do_login(openid: str) -> ApiClient:
        response = client.post("/api/v1/auth/wechat/login", json={"code": wx.code(openid)})
        assert response.status_code == 200, response.json
        api = ApiClient(client, response.json, response.json["user"]["id"])
        made.append(api)
        return api

    do_login.made = made
    return do_login


@pytest.fixture
def clock():
    """A frozen clock; feature packages override it (autouse) with their own T0,
    started before any login since tokens issued in the future are refused."""
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def travel(clock, login):
    """``travel(when)`` or ``travel(hours=...)``: move the frozen clock forward
    and renew every client's tokens (access tokens live 15 minutes)."""

    def go(when: dt.datetime | None = None, **delta) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        target = when or now + dt.timedelta(**delta)
        assert target >= now, "tokens issued later would be refused: travel forward only"
        clock.move_to(target)
        for api in login.made:
            api.refresh()
        return target

    return go


@pytest.fixture
def admin(login_as, tree):
    """An org admin of community A."""
    return login_as("org_admin", tree.a)


@pytest.fixture
def admin_b(login_as, tree):
    """An org admin of community B."""
    return login_as("org_admin", tree.b)


@pytest.fixture
def street_admin(login_as, tree):
    return login_as("org_admin", tree.street)


@pytest.fixture
def district_admin(login_as, tree):
    return login_as("district_admin", tree.district)


@pytest.fixture
def tree(app):
    """district D -> street S -> communities A, B; branches and units under them."""
    from app.orgs.services import create_root, insert_node

    d = create_root("district", "江城区")
    s = insert_node("street", "南恩街道", d)
    a = insert_node("community", "丰泽社区", s)
    b = insert_node("community", "新江社区", s)
    a1 = insert_node("party_branch", "丰泽社区第一党支部", a)
    a2 = insert_node("party_branch", "丰泽社区第二党支部", a)
    b1 = insert_node("party_branch", "新江社区党支部", b)
    unit = insert_node("office_building", "汇银大厦", s)
    db.session.commit()
    return SimpleNamespace(district=d.id, street=s.id, a=a.id, b=b.id, a1=a1.id, a2=a2.id,
                           b1=b1.id, unit=unit.id)


@pytest.fixture
def login_as(login):
    """``login_as("org_admin", org_id)``: a fresh user holding that role."""
    from app.orgs.services import grant_role

    counter = iter(range(1, 10_000))

    def do(role: str | None, org_id: int | None = None, openid: str | None = None) -> ApiClient:
        api = login(openid or f"{role or 'user'}-{org_id}-{next(counter)}")
        if role:
            grant_role(None, org_id, api.user_id, role)
        return api

    return do


@pytest.fixture
def member(app, login, wx, tree):
    """``member(name, phone, branch_id)``: a user bound to a fresh roster entry."""
    import datetime as dt

    from app.members import phones
    from app.members.models import RosterEntry

    def make(name="陈小文", phone="13800138000", branch_id=None, openid=None) -> ApiClient:
        entry = RosterEntry(branch_id=branch_id or tree.a1, name=name,
                            phone_encrypted=phones.encrypt(phone), phone_hash=phones.lookup_hash(phone),
                            phone_masked=phones.mask(phone), join_date=dt.date(2010, 7, 1),
                            member_status="full")
        db.session.add(entry)
        db.session.commit()
        api = login(openid or f"member-{phone}")
        response = api.post("/api/v1/me/member-binding",
                            json={"name": name, "phone_code": wx.phone_code(phone)})
        assert response.status_code == 201, response.json
        api.identity = response.json["identity"]
        return api

    return make


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: ...; q.count`` counts SQL statements sent."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = SimpleNamespace(count=0, statements=[], calls=[])

        def before(conn, cursor, statement, parameters, context, executemany):
            counter.count += 1
            counter.statements.append(statement)
            counter.calls.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting


def user_by_openid(openid: str) -> User:
    return db.session.scalar(select(User).where(User.openid == openid))


def assert_error(response, status: int, code: str):
    """Status AND the one envelope."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


# ---- real concurrent requests ------------------------------------------------

@pytest.fixture
def live_url(app):
    """The app behind a real threaded HTTP server on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(512)  # room for hundreds of simultaneous connects
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def fire(calls: list[tuple], method: str = "post") -> list:
    """Send every (url, body, headers[, method]) from its own thread, all
    released together; the ``requests`` responses in the order of ``calls``.
    A call's fourth item, if any, overrides ``method``."""
    import requests

    barrier = threading.Barrier(len(calls))

    def one(call):
        url, body, headers, verb = (*call, method)[:4]
        with requests.Session() as session:
            barrier.wait()
            return session.request(verb, url, json=body, headers=headers, timeout=120)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def fire_at_once(url: str, calls: list[tuple[dict | None, dict]], method: str = "post") -> list:
    """Send every (body, headers) to ``url`` at once."""
    return fire([(url, body, headers) for body, headers in calls], method)
