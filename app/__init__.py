"""The application factory: wires configuration, extensions, blueprints,
error handlers and CLI commands. No queries, no network, no migrations."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from app.common.json import JSONProvider
from app.config import load_config


def create_app(config: str | dict | None = None) -> Flask:
    """Build the app.

    ``config`` is a config name (``development``/``testing``/``production``,
    default ``APP_ENV``) or a dict of overrides applied on top of the
    environment's configuration.
    """
    app = Flask(__name__)
    app.json = JSONProvider(app)  # Decimal as a JSON number, as documented
    app.json.ensure_ascii = False  # Chinese stays readable in answers
    app.json.sort_keys = False  # fields in schema order
    if isinstance(config, dict):
        overrides, name = config, config.get("ENV_NAME")
    else:
        overrides, name = {}, config
    settings = load_config(name)
    settings.update(overrides)
    app.config.update(settings)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the headers a proxy overwrites or appends to: X-Forwarded-For
        # (nginx appends the peer) and -Proto. A client's X-Forwarded-Host or
        # X-Real-IP would pass an nginx that does not set them, so neither is read.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap it
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    from app import errors, logs
    from app.extensions import db, init_db, init_limiter, init_redis, migrate

    logs.init_app(app)
    errors.init_app(app)
    init_db(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    init_redis(app)
    init_limiter(app)
    from app.uploads.storage import init_storage

    init_storage(app)
    from app.jobs import queue

    queue.init_app(app)
    from app.subscriptions import services as subscriptions

    subscriptions.init_app(app)

    from app.api import init_api

    init_api(app)

    from app.cli import init_cli

    init_cli(app)

    if app.config["ENV_NAME"] == "production":
        from app.common import poster_font

        poster_font.log_if_missing()  # now, not when someone first prints a poster

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
        logging.getLogger(__name__).warning(
            "using SQLite (the embedded default when DATABASE_URL is not set): %s",
            app.config["SQLALCHEMY_DATABASE_URI"],
        )
    return app


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"
