"""Extension objects, created unbound; ``create_app`` binds them.

The Redis client is made in :func:`init_redis` and kept in
``app.extensions["redis"]``; nothing connects at import.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.common.db import render_item

log = logging.getLogger(__name__)

# Stable constraint names, so that Alembic can alter them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after the one commit of a request: the answer is dumped
# from them without reloading every row.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
# What a model class derives from. mypy cannot see ``db.Model`` as a class (it
# is made at runtime from Base), so type checking is given Base itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate(compare_type=True, render_as_batch=True, render_item=render_item)


def _client_address() -> str:
    # The socket's peer, or what TRUSTED_PROXIES proxies said it was (ProxyFix,
    # in create_app): never a header the client itself controls.
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_address, headers_enabled=True)


def init_redis(app: Flask) -> None:
    """Two clients on one Redis: the app's (strings) and the job queue's (RQ
    keeps pickled job data, so its client must not decode answers)."""
    url = app.config.get("REDIS_URL")
    if url:
        # Short timeouts and two quick retries: a connection cut by a Redis
        # restart is replaced on the spot, and Redis down answers 503 within
        # seconds instead of holding a worker. (An RQ worker raises its own
        # client's read timeout above its blocking dequeue.)
        def connect(**options):
            return redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30,
                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.25), 2), **options)

        client, queue_client = connect(decode_responses=True), connect()
    else:
        import fakeredis

        server = fakeredis.FakeServer()
        client = fakeredis.FakeRedis(server=server, decode_responses=True)
        queue_client = fakeredis.FakeRedis(server=server)
        log.warning("REDIS_URL is not set: using an in-process fakeredis (embedded default)")
    app.extensions["redis"] = client
    app.extensions["queue_redis"] = queue_client


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def get_queue_redis() -> redis.Redis:
    """The job queue's client: the same Redis as :func:`get_redis`, bytes in and out."""
    return current_app.extensions["queue_redis"]


def init_limiter(app: Flask) -> None:
    # Flask-Limiter keeps its own connection; embedded mode counts in memory.
    uri = app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if uri.startswith(("redis://", "rediss://")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                              {"socket_timeout": 2, "socket_connect_timeout": 2})
    # Redis down must not turn every limited call into an error: count in this
    # process's memory until the storage answers again (it is re-checked with
    # a backoff), and should even that fail, let the request through.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)


def init_db(app: Flask) -> None:
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Enforce foreign keys like PostgreSQL does; WAL lets readers run beside a writer.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()
