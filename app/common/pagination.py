"""Keyset pagination: the cursor is the sort key of the last row, opaque to clients.

Usage in a service::

    stmt = select(Thing).where(...)
    return keyset_page(stmt, (Thing.created_at, Thing.id), limit, cursor, descending=True)

The order columns must end with a unique column (the id), and an index
should cover them; no OFFSET is ever used.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, literal, tuple_

from app.errors import field_error
from app.extensions import db


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, columns) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        decoded = []
        for column, value in zip(columns, values, strict=False):
            python_type = column.type.python_type
            if value is None or isinstance(value, bool):
                raise ValueError  # sort keys are never null, and never booleans
            if python_type is dt.datetime:
                value = dt.datetime.fromisoformat(value)
            elif not isinstance(value, python_type):
                raise ValueError
            if isinstance(value, int) and not -(2**31) <= value < 2**31:
                raise ValueError  # no id or count column holds it: not our cursor
            decoded.append(value)
        return decoded
    except (ValueError, TypeError, UnicodeDecodeError, NotImplementedError):
        raise field_error("cursor", "Not a cursor this list gave out.") from None


def _after(columns, values, descending: bool):
    """Rows strictly after ``values`` in (col1, col2, ...) order: a row-value
    comparison, so that PostgreSQL seeks into the index that serves the order
    (an OR of the columns' steps makes it walk and drop every earlier row);
    SQLite has row values too."""
    if len(columns) == 1:
        return columns[0] < values[0] if descending else columns[0] > values[0]
    key = tuple_(*columns)
    bound = tuple_(*(literal(value, column.type) for column, value in zip(columns, values, strict=True)))
    return key < bound if descending else key > bound


def keyset_page(stmt: Select, columns: tuple, limit: int, cursor: str | None,
                descending: bool = False, scalars: bool = True,
                values: Callable[[Any], list] | None = None) -> Page:
    """One page of ``stmt`` in ``columns`` order, after ``cursor``.

    ``values(row)`` gives the sort key of a row when it is not the row's
    attributes named like the columns (an ordering by an expression)."""
    if cursor:
        stmt = stmt.where(_after(columns, _decode(cursor, columns), descending))
    order = [c.desc() if descending else c.asc() for c in columns]
    stmt = stmt.order_by(*order).limit(limit + 1)
    result = db.session.scalars(stmt) if scalars else db.session.execute(stmt)
    rows = list(result.unique() if scalars else result)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode(values(last) if values else [_value(last, c) for c in columns])
    return Page(rows, next_cursor)


def _value(row: Any, column) -> Any:
    return getattr(row, column.key)
