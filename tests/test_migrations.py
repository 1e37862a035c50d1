"""The migrations: one head, they build an empty database, and they match the models."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app.common.db import render_item
from app.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _script(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_there_is_exactly_one_head(app):
    assert len(_script(app).get_heads()) == 1


def _upgrade_and_compare(make_app, url):
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "render_item": render_item})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_upgrade_builds_an_empty_sqlite_database_that_matches_the_models(make_app, tmp_path):
    _upgrade_and_compare(make_app, f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="PostgreSQL run only")
def test_upgrade_builds_an_empty_postgresql_database_that_matches_the_models(make_app):
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin_url = PG_URL.replace("postgresql://", "postgresql+psycopg://")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        _upgrade_and_compare(make_app, admin_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
