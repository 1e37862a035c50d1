"""Aggregate rows that writers add to: one upsert per row that adds the
given amounts to what the row holds (INSERT ... ON CONFLICT DO UPDATE SET
c = row.c + EXCLUDED.c), on PostgreSQL and SQLite, in the caller's
transaction. Concurrent writers of one row never lose an increment: on
PostgreSQL the second waits for the first's row lock and adds to its
committed figures. The per-day figures the statistics read (check-ins,
volunteer service, grid events) are all kept this way."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db


def dialect_insert(model: Any):
    """The INSERT of ``model`` that has ``on_conflict_do_update`` on the session's database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def on_conflict_add(stmt: Any, model: Any, key: Sequence[str], columns: Sequence[str]) -> Any:
    """``stmt`` (an INSERT of ``model``) that, on a row of the same ``key``,
    adds its ``columns`` to the row's instead."""
    return stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: getattr(model, name) + getattr(stmt.excluded, name) for name in columns})


def add_to_rows(model: Any, key: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Add each of ``rows`` (the key's values and the amounts) to ``model``'s
    row of that key, creating it when missing; the rows are written in the
    order of their keys, so that two transactions adding to the same rows
    lock them in the same order and never deadlock. The keys must differ."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda row: tuple(row[name] for name in key))
    columns = [name for name in ordered[0] if name not in key]
    db.session.execute(on_conflict_add(dialect_insert(model).values(ordered), model, key, columns))
