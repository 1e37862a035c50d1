"""SQL the statistics need that SQLite and PostgreSQL spell differently,
so that figures are computed by the database, never by loading rows; and
the subtree every statistic starts from."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Float, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.auth.permissions import subtree_clause
from app.extensions import db
from app.orgs.models import OrgNode


class seconds_between(FunctionElement):
    """``end - start`` in seconds, on PostgreSQL and SQLite (naive UTC timestamps on both)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def subtree_ids(path: str) -> list[int]:
    """The nodes of the subtree, by the path index: each figure is then read
    by ``community_id IN (...)`` on an index, so none reads what lies outside
    the caller's scope, however large the history there."""
    return list(db.session.scalars(select(OrgNode.id).where(subtree_clause(OrgNode.path, path))))
