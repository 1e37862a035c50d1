"""Column types shared by every model."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC
# The district's own time: the day a figure, a rating or a certificate counts on.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Stored as naive UTC on every backend, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    @property
    def python_type(self) -> type:
        return dt.datetime  # keyset cursors decode their datetime values by it

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# Byte-wise ordering on PostgreSQL, so that materialized-path ranges are exact
# whatever the database's locale; SQLite compares bytes already.
PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


def render_item(type_, obj, autogen_context):
    """Alembic autogenerate: write our column types as the plain types they
    store, so that migrations never import application code."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def append_only(table) -> None:
    """On PostgreSQL, a trigger that refuses any UPDATE or DELETE of ``table``'s
    rows (a ledger, a trail): created with the table by ``create_all``; a
    migration that adds such a table runs the same two statements."""
    from sqlalchemy import DDL, event

    for statement in append_only_sql(table.name):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))


def append_only_sql(name: str) -> tuple[str, str]:
    return (
        f"""CREATE OR REPLACE FUNCTION {name}_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION '{name} is append-only';
    END $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name}
    FOR EACH ROW EXECUTE FUNCTION {name}_append_only()""",
    )
