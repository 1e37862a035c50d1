"""A person's data, exported (个人信息导出): everything the product holds about
the caller, as JSON, or as a ZIP with that JSON (``data.json``) and the bytes
of their photos (``photos/<upload id>.<ext>``).

Complete by construction, like account cancellation (``app.auth.cancellation``):
the export walks ``db.metadata`` for every column that is a foreign key to
``users.id`` and takes the rows where that column is the caller, grouped by
table, so a table added later is exported without anyone remembering to.
A second walk does the same for the columns that point at the caller's Party
identity (``member_identities.id``). What is left out, and why:

* **secrets**: ``SECRET_COLUMNS`` names, for every table of both walks, the
  columns never exported (login token ids and jtis, poll secrets, device
  tokens, the keys that sign codes, phone ciphertext and look-up hashes, the
  storage keys of files); a test fails when a new table points at users or
  identities without an entry here. A table added before its entry still
  leaves out any column whose name looks like a secret (``SECRET_NAMES``).
  Instead of ciphertext the caller gets their own phone decrypted where they
  gave it (binding requests, help requests) and "your phone on the roster"
  (the roster entry their identity is bound to: the branch's list, of which
  only the caller's own entry is shown).
* **other people**: in the caller's rows, a column pointing at another user
  (who decided, who confirmed, who was dispatched) or at another member's
  identity (whose badge the caller checked) is left out: that is not the
  caller's data. Badge checks of the caller's badge are shown with the
  time and branch only, not who checked or where they stood.
* **what the caller did to other people's records** (``ACTIONS``: decided a
  binding request, confirmed hours, granted a role, moderated a photo,
  dispatched an event...) is exported under ``actions_you_took``, with only
  the record's id and what was done, never the record: it is someone else's.

Times are ISO 8601 in UTC, decimals are numbers, dates ``YYYY-MM-DD``.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal

from sqlalchemy import Table, select

from app.auth.models import User
from app.common.db import utcnow
from app.extensions import db
from app.members import phones

# The columns never exported, for each table of the walks (a test checks
# every table is here, even with nothing to hide).
SECRET_COLUMNS: dict[str, frozenset[str]] = {name: frozenset(columns) for name, columns in {
    "users": (),
    # only under actions_you_took (ACTIONS): its before/after are other people's records
    "audit_log": ("before", "after", "request_id"),
    "badge_shown": (),
    "binding_requests": ("phone_encrypted", "phone_hash"),
    "checkin_attempts": (),
    "checkins": (),
    "console_tickets": ("poll_secret_hash",),
    "correction_requests": (),
    "display_devices": ("token_hash",),
    "duty_sessions": (),
    "grid_event_comments": (),
    "grid_event_followers": (),
    "grid_event_transitions": (),
    "grid_events": (),
    "grid_leaders": (),
    "help_requests": ("phone_encrypted",),
    "hours_ledger": (),
    "member_community_reports": (),
    # badge_ref ties the signed badges to the identity
    "member_identities": ("badge_ref",),
    "merchant_feedback": (),
    "merchant_plates": ("code_key",),
    "moderation_items": (),
    "notices": (),
    "org_community_reports": (),
    "participations": (),
    "plate_scans": (),
    "post_assignments": (),
    "post_ratings": (),
    "role_grants": (),
    "subscribe_deliveries": (),
    "subscriptions": (),
    "tasks": ("code_key",),
    # a family's id is in every refresh token of it, with the jti
    "token_families": ("id", "refresh_jti"),
    "uploads": ("storage_key",),
    "volunteer_certificates": (),
    "volunteers": (),
}.items()}

# Left out of a table not yet in SECRET_COLUMNS, whatever it is.
SECRET_NAMES = re.compile(r"secret|token|jti|hash|encrypted|key|password", re.IGNORECASE)

# Columns where the caller is only the one who acted on someone else's
# record: what they did (the record's own columns are not exported).
ACTIONS: dict[tuple[str, str], str] = {
    ("audit_log", "actor_id"): "admin_action",
    ("binding_requests", "decided_by_id"): "decided_binding_request",
    ("display_devices", "created_by_id"): "created_display_device",
    ("grid_event_transitions", "actor_id"): "acted_on_grid_event",
    ("grid_events", "assignee_user_id"): "assigned_grid_event",
    ("grid_events", "dispatcher_id"): "dispatched_grid_event",
    ("hours_ledger", "recorded_by_id"): "recorded_hours",
    ("member_community_reports", "decided_by_id"): "decided_member_report",
    ("merchant_plates", "decided_by_id"): "decided_merchant_plate",
    ("moderation_items", "decided_by_id"): "decided_moderation_item",
    ("org_community_reports", "decided_by_id"): "decided_org_report",
    ("org_community_reports", "requested_by_id"): "requested_org_report",
    ("participations", "confirmed_by_id"): "confirmed_participation",
    ("role_grants", "granted_by_id"): "granted_role",
    ("tasks", "created_by_id"): "created_task",
    ("uploads", "moderator_id"): "moderated_photo",
    ("volunteer_certificates", "revoked_by_id"): "revoked_certificate",
}
# What an action names besides the record's id: the action itself, and on
# which object (a transition's event), never a person.
ACTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "audit_log": ("action", "at"),
    "grid_event_transitions": ("event_id", "action", "created_at"),
}

# Columns pointing at the caller's identity, and what of those rows is the
# caller's: None = all but secrets; a tuple = only these columns.
IDENTITY_COLUMNS: dict[tuple[str, str], tuple[str, ...] | None] = {
    # who checked the badge, and where they stood, is the checker's
    ("badge_shown", "identity_id"): ("id", "branch_id", "shown_at"),
    ("checkins", "identity_id"): None,
    ("duty_sessions", "identity_id"): None,
    ("merchant_plates", "owner_identity_id"): None,
    ("post_assignments", "identity_id"): None,
}

PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def columns_pointing_at(table_name: str) -> list:
    """Every column of the schema that is a foreign key to ``<table_name>.id``."""
    return [column for table in db.metadata.sorted_tables for column in table.columns
            for fk in column.foreign_keys
            if fk.column.table.name == table_name and fk.column.name == "id"]


def _points_at_users(column) -> bool:
    return any(fk.column.table.name == "users" for fk in column.foreign_keys)


def _secret(table: Table, name: str) -> bool:
    secrets = SECRET_COLUMNS.get(table.name)
    return name in secrets if secrets is not None else bool(SECRET_NAMES.search(name))


def _value(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _points_at_identities(column) -> bool:
    return any(fk.column.table.name == "member_identities" for fk in column.foreign_keys)


def _row(table: Table, row, user_id: int, identity_id: int | None,
         only: tuple[str, ...] | None = None) -> dict:
    """A row of the caller's: no secrets, no other person's id (user or identity)."""
    out = {}
    for column in table.columns:
        name = column.name
        if only is not None and name not in only:
            continue
        if _secret(table, name):
            continue
        value = row._mapping[column]
        if _points_at_users(column) and value is not None and value != user_id:
            continue
        if _points_at_identities(column) and value is not None and value != identity_id:
            continue
        out[name] = _value(value)
    return out


def _rows(table: Table, where, order_column=None):
    order = order_column if order_column is not None else (
        table.c.id if "id" in table.c else next(iter(table.primary_key.columns)))
    return db.session.execute(select(table).where(where).order_by(order)).all()


def _add_phones(tables: dict) -> None:
    """The caller's own phone in full where they gave it, instead of ciphertext."""
    for name in ("binding_requests", "help_requests"):
        table = db.metadata.tables[name]
        rows = tables.get(name)
        if not rows:
            continue
        encrypted: dict[int, str | None] = dict(db.session.execute(select(table.c.id, table.c.phone_encrypted).where(
            table.c.id.in_([r["id"] for r in rows]))).all())
        for r in rows:
            token = encrypted.get(r["id"])
            r["phone"] = phones.decrypt(token) if token else None


def _identity(user_id: int) -> dict | None:
    """The Party identity with its branch and the caller's own roster entry."""
    from app.members.models import MemberIdentity, RosterEntry
    from app.orgs.models import OrgNode

    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == user_id))
    if identity is None:
        return None
    branch = db.session.get(OrgNode, identity.branch_id)
    out = {"id": identity.id, "branch": {"id": branch.id, "name": branch.name} if branch else None,
           "roster": None}
    entry = db.session.get(RosterEntry, identity.roster_entry_id) if identity.roster_entry_id else None
    if entry is not None:
        out["roster"] = {"id": entry.id, "name": entry.name, "phone": phones.decrypt(entry.phone_encrypted),
                         "join_date": _value(entry.join_date), "member_status": entry.member_status}
    return out


def export_data(user: User) -> dict:
    """Everything the product holds about ``user``; see the module docstring."""
    users = db.metadata.tables["users"]
    identity = _identity(user.id)
    identity_id = identity["id"] if identity else None
    me = db.session.execute(select(users).where(users.c.id == user.id)).one()
    tables: dict[str, list[dict]] = {}
    actions: dict[str, list[dict]] = {}
    for column in columns_pointing_at("users"):
        table = column.table
        verb = ACTIONS.get((table.name, column.name))
        rows = _rows(table, column == user.id)
        if not rows:
            continue
        if verb is None:
            tables.setdefault(table.name, []).extend(_row(table, row, user.id, identity_id) for row in rows)
            continue
        extra = ACTION_COLUMNS.get(table.name, ())
        actions.setdefault(table.name, []).extend(
            {"id": row._mapping[table.c.id], "did": verb,
             **{name: _value(row._mapping[table.c[name]]) for name in extra}} for row in rows)
    _add_phones(tables)
    by_identity: dict[str, list[dict]] = {}
    if identity is not None:
        for column in columns_pointing_at("member_identities"):
            table = column.table
            only = IDENTITY_COLUMNS.get((table.name, column.name))
            user_column = next((c for c in table.columns if _points_at_users(c)
                                and (table.name, c.name) not in ACTIONS), None)
            where = column == identity["id"]
            if user_column is not None and only is None:
                where = where & ((user_column != user.id) | user_column.is_(None))  # already above
            rows = _rows(table, where)
            if rows:
                by_identity[table.name] = [_row(table, row, user.id, identity_id, only) for row in rows]
    for rows in (*tables.values(), *actions.values(), *by_identity.values()):
        rows.sort(key=lambda r: (r.get("id") is None, r.get("id") or 0))
    return {
        "exported_at": _value(utcnow()),
        "user": _row(users, me, user.id, identity_id),
        "member_identity": identity,
        "tables": dict(sorted(tables.items())),
        "by_your_identity": dict(sorted(by_identity.items())),
        "actions_you_took": dict(sorted(actions.items())),
    }


def export_json(user: User) -> bytes:
    return json.dumps(export_data(user), ensure_ascii=False, indent=1, sort_keys=False).encode()


def export_zip(user: User) -> bytes:
    """``data.json`` (the same as ``export_json``) and the caller's photos."""
    from app.uploads.models import Upload
    from app.uploads.storage import get_storage

    data = export_json(user)
    storage = get_storage()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", data)
        for upload in db.session.scalars(select(Upload).where(Upload.owner_id == user.id)
                                         .order_by(Upload.id)):
            try:
                content = storage.load(upload.storage_key)
            except FileNotFoundError:
                continue  # removed by moderation or retention since: nothing to give
            ext = PHOTO_EXTENSIONS.get(upload.content_type, "bin")
            archive.writestr(f"photos/{upload.id}.{ext}", content)
    return buffer.getvalue()
