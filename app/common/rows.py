"""Looking a row up by the id a request names.

Ids are 32-bit ``INTEGER`` columns (:data:`app.common.schemas.MAX_ID`): an id
from a path, a body or a scanned code can be larger than any row can have,
and must answer 404 (or "no such row") rather than fail in PostgreSQL."""
from __future__ import annotations

from typing import TypeVar

from app.common.schemas import MAX_ID
from app.errors import NotFound
from app.extensions import db

T = TypeVar("T")


def get_row(model: type[T], row_id: int) -> T | None:
    """The row with this primary key, or None (also for an id no row can have)."""
    return db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None


def get_or_404(model: type[T], row_id: int) -> T:
    """The row with this primary key, else :class:`NotFound`."""
    row = get_row(model, row_id)
    if row is None:
        raise NotFound()
    return row
