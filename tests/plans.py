"""EXPLAIN budgets: the plan PostgreSQL chooses for what an endpoint sends,
at a realistic size, must read by index and remove few rows.

A test grows one table to history size with :func:`clone` (copies of a real
row, made by PostgreSQL itself), captures the statements of one request with
the ``count_queries`` fixture, and hands them to :func:`assert_within_budget`,
which runs ``EXPLAIN (ANALYZE, FORMAT JSON)`` on each one touching the table
and fails on a sequential scan of it, or on any plan node that removes more
than ``removed_at_most`` rows by filter (the signature of an index walked in
the wrong order, or of a scope applied after a join). SQLite's planner is not
the one production runs, so these budgets run in CI's PostgreSQL run only.
"""
from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import text

from app.extensions import db

ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
pg_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="EXPLAIN budgets are PostgreSQL's plans (CI's PG run)")

HISTORY = 100_000  # rows a budgeted table is grown to: past every planner's small-table shortcuts
REMOVED_AT_MOST = 1_000


def clone(table: str, template_id: int, n: int = HISTORY, **overrides: str) -> None:
    """``n`` copies of row ``template_id`` of ``table``; ``overrides`` give SQL
    expressions for columns, in which ``g`` is the copy's number (1..n)."""
    columns = [c.name for c in db.metadata.tables[table].columns if c.name != "id"]
    unknown = set(overrides) - set(columns)
    assert not unknown, unknown
    values = [overrides.get(c, f't."{c}"') for c in columns]
    db.session.execute(text(
        f'INSERT INTO {table} ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
        f'SELECT {", ".join(values)} FROM {table} AS t, generate_series(1, {n}) AS g WHERE t.id = {template_id}'))
    db.session.commit()
    db.session.execute(text(f"ANALYZE {table}"))
    db.session.commit()


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def violations(plan: dict, table: str, removed_at_most: int) -> list[str]:
    """What in ``plan`` breaks the budget for ``table``."""
    found = []
    for node in _nodes(plan):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == table:
            found.append(f"Seq Scan on {table}")
        for key in ("Rows Removed by Filter", "Rows Removed by Index Recheck", "Rows Removed by Join Filter"):
            removed = node.get(key, 0) * node.get("Actual Loops", 1)
            if removed > removed_at_most:
                found.append(f"{node['Node Type']} on {node.get('Relation Name', '?')}: {key} {removed}")
    return found


def assert_within_budget(calls: list, table: str, removed_at_most: int = REMOVED_AT_MOST) -> int:
    """Every SELECT in ``calls`` (``count_queries().calls``) that reads
    ``table`` is planned within budget; returns how many were checked."""
    checked = 0
    with db.engine.connect() as connection:
        for statement, parameters in calls:
            if not statement.lstrip().upper().startswith("SELECT") or table not in statement:
                continue
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).all()
            raw = rows[0][0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            problems = violations(plan, table, removed_at_most)
            assert not problems, (problems, statement, json.dumps(plan, indent=1)[:4000])
            checked += 1
    assert checked, f"no statement read {table}"
    return checked
