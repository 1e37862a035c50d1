"""Writing and reading the audit trail.

Every admin action, and every change of a person's status, calls
:func:`record` before its commit, so the row exists exactly when the change
was committed::

    before = audit.snapshot(center, "name", "radius_m")
    ...change the center...
    audit.record(actor, "center.update", center, org_id=center.org_id,
                 before=before, after=audit.snapshot(center, "name", "radius_m"))

``before``/``after`` hold the fields the action changed (``snapshot``
makes them JSON: dates in ISO 8601, decimals as strings); a creation has no
``before``, a deletion no ``after``. Nothing here updates or deletes a row.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import g, has_request_context

from app.audit.models import AuditEntry
from app.auth.permissions import paths_for
from app.extensions import db


def record(actor, action: str, obj=None, *, org_id: int | None, before: dict | None = None,
           after: dict | None = None, object_type: str | None = None,
           object_id: int | None = None) -> AuditEntry:
    """Add the audit row of an action to the caller's transaction."""
    if obj is not None and hasattr(obj, "id") and obj.id is None:
        db.session.flush()  # a new object: its id first
    entry = AuditEntry(
        actor_id=getattr(actor, "id", actor), action=action,
        object_type=object_type or obj.__tablename__,
        # a row keyed otherwise (a category's code) is named by its key in before/after
        object_id=object_id if obj is None else getattr(obj, "id", None),
        org_id=org_id, before=before, after=after,
        request_id=getattr(g, "request_id", None) if has_request_context() else None)
    db.session.add(entry)
    return entry


SECRET_PARTS = ("key", "token", "hash", "encrypted", "secret")


def state(obj) -> dict:
    """Every column of ``obj`` but its secrets (keys, tokens, hashes,
    ciphertext: never copied into the trail), as JSON."""
    return {column.key: jsonable(getattr(obj, column.key)) for column in obj.__table__.columns
            if not any(part in column.key for part in SECRET_PARTS)}


def record_change(actor, action: str, obj, before: dict, *, org_id: int | None) -> AuditEntry:
    """The audit row of an edit: the fields that changed since ``before``
    (a :func:`state`), with their old and new values."""
    old, new = changed(before, state(obj))
    return record(actor, action, obj, org_id=org_id, before=old, after=new)


def district_of(actor) -> int | None:
    """The organization where the actor's district-wide settings (categories,
    time limits, badge keys) are recorded: the highest node on which the
    permission table lets them ``district.configure``; None if none does."""
    paths = paths_for(actor, "district.configure")
    return int(paths[0].strip("/").split("/")[-1]) if paths else None


def snapshot(obj, *fields: str) -> dict:
    return {field: jsonable(getattr(obj, field)) for field in fields}


def jsonable(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields whose value changed, before and after."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}
