"""One settings row by its key, inserted or changed: grid leaders, event
categories and time limits are set this way, safely against a concurrent
insert of the same key."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import log as audit
from app.auth.models import User
from app.extensions import db

T = TypeVar("T")


def upsert(model: type[T], key: dict[str, Any], values: dict[str, Any],
           audited: tuple[User, str, int | None] | None = None) -> T:
    """The row of ``key`` with ``values``, inserted or changed, committed. A
    concurrent insert of the same key (the unique constraint refuses ours)
    makes this a change of the row the other request made: the last write
    wins, and neither answers 500. ``audited`` (actor, action, org id) writes
    the audit row of the change in the same commit."""
    def find() -> T | None:
        return db.session.scalars(select(model).filter_by(**key)).first()

    def record(row: T, before: dict | None) -> None:
        if audited is not None:
            actor, action, org_id = audited
            after = audit.snapshot(row, *key, *values)
            audit.record(actor, action, row, org_id=org_id, before=before, after=after)

    row = find()
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
        try:
            record(row, None)  # flushes the insert: a concurrent one fails here or at the commit
            db.session.commit()
            return row
        except IntegrityError:
            db.session.rollback()
            row = find()
            if row is None:  # not the key after all
                raise
    before = audit.snapshot(row, *key, *values)
    for name, value in values.items():
        setattr(row, name, value)
    record(row, before)
    db.session.commit()
    return row
