"""Badges: issuing one, verifying a scanned one, when it was shown, key rotation.

Only an active member gets a badge; a badge lives ``BADGE_TTL`` seconds.
Verification checks format, key, signature and expiry, then the identity's
status *now*: a revoked member's badge fails at once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.audit import log as audit
from app.auth.models import User
from app.badges import keys
from app.badges.models import BadgeKey, BadgeShown
from app.common.db import utcnow
from app.common.geo import to_gcj02
from app.common.pagination import Page, keyset_page
from app.errors import Forbidden
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity
from app.members.services import require_active_member


def my_badge(user: User) -> tuple[str, dt.datetime]:
    """A fresh badge token for the user's active identity."""
    identity = require_active_member(user)
    token, expires_at = keys.sign_badge(identity, utcnow())
    return f"{current_app.config['QR_BASE_URL']}/b/{token}", expires_at


def _badge_token(text: str) -> str:
    """The bare token of a scanned text: the QR carries it behind ``QR_BASE_URL/b/``."""
    text = text.strip()
    prefix = current_app.config["QR_BASE_URL"] + "/b/"
    return text[len(prefix):] if text.startswith(prefix) else text


@dataclass
class Verification:
    """What a verifier is told: valid or why not, and the member (masked) if valid."""

    valid: bool
    reason: str | None
    member: dict | None


def verify_badge(verifier: User, code: str, location: dict | None) -> Verification:
    """Check a scanned badge; a valid one is recorded as "identity shown"."""
    now = utcnow()
    check = keys.check_signature(_badge_token(code), now)
    if check.payload is None or not check.valid:
        return Verification(False, check.reason, None)
    identity = db.session.scalar(select(MemberIdentity).where(
        MemberIdentity.badge_ref == check.payload["r"]))
    if identity is None or identity.status not in ("active", "suspended"):  # revoked, closed
        return Verification(False, "identity_revoked", None)
    if identity.status == "suspended":
        return Verification(False, "identity_suspended", None)
    entry = identity.roster_entry
    if entry is None:  # only a closed identity loses its roster entry
        return Verification(False, "identity_revoked", None)
    shown = BadgeShown(identity_id=identity.id, branch_id=identity.branch_id,
                       verifier_id=verifier.id, shown_at=now)
    if location:
        point = to_gcj02(location)
        shown.lat, shown.lng = point.lat, point.lng
    db.session.add(shown)
    db.session.commit()
    return Verification(True, None, {
        "display_name": phones.mask_name(entry.name), "branch": identity.branch.name,
        "member_status": entry.member_status, "member_since_year": entry.join_date.year})


def badge_shown(user: User, limit: int, cursor: str | None) -> Page:
    """When the user's badge was verified, newest first (the member sees who checked)."""
    identity = require_active_member(user)
    stmt = select(BadgeShown).where(BadgeShown.identity_id == identity.id)
    return keyset_page(stmt, (BadgeShown.id,), limit, cursor, descending=True)


def rotate_badge_key(actor: User) -> BadgeKey:
    """District admins only: a rotation is district-wide, and audited on the district."""
    district = audit.district_of(actor)
    if district is None:
        raise Forbidden()
    key = keys.rotate()
    audit.record(actor, "badge_key.rotate", key, org_id=district, after={"kid": key.kid})
    db.session.commit()
    return key
