"""What is read from check-ins and scan attempts: a person's own, and a center's."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.checkin.centers import local_time, managed_center
from app.checkin.models import FAILED_PREDICATE, Checkin, CheckinAttempt
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.errors import NotFound
from app.extensions import db

# ---- reading ------------------------------------------------------------------

def my_checkin(user: User, checkin_id: int) -> Checkin:
    checkin = db.session.get(Checkin, checkin_id)
    if checkin is None or checkin.user_id != user.id:
        raise NotFound()
    return checkin


def my_checkins(user: User, limit: int, cursor: str | None) -> Page:
    stmt = select(Checkin).where(Checkin.user_id == user.id)
    return keyset_page(stmt, (Checkin.id,), limit, cursor, descending=True)


def my_attempts(user: User, limit: int, cursor: str | None) -> Page:
    """The person's own scans, failed ones too, newest first, with their
    centers (one query for the page, one for its centers)."""
    stmt = (select(CheckinAttempt).where(CheckinAttempt.user_id == user.id)
            .options(selectinload(CheckinAttempt.center)))
    return keyset_page(stmt, (CheckinAttempt.id,), limit, cursor, descending=True)


def occupancy(actor: User, center_id: int) -> dict:
    """How many are inside now: today's entries without an exit."""
    center = managed_center(actor, center_id, "center.operate")
    now = utcnow()
    today = local_time(center, now).date()
    inside = db.session.scalar(select(func.count()).select_from(Checkin).where(
        Checkin.center_id == center.id, Checkin.local_day == today, Checkin.exited_at.is_(None)))
    return {"center_id": center.id, "inside": inside, "day": today, "as_of": now}


FAILED = "failed"


def center_attempts(actor: User, center_id: int, *, day: dt.date | None, purpose: str | None,
                    status: str | None, limit: int, cursor: str | None) -> Page:
    """Every scan at a center, newest first; ``status`` is ``ok``,
    ``already_checked_in``, ``failed`` (any rejection) or one reason code."""
    center = managed_center(actor, center_id, "center.operate")
    stmt = select(CheckinAttempt).where(CheckinAttempt.center_id == center.id)
    if day is not None:
        stmt = stmt.where(CheckinAttempt.local_day == day)
    if purpose:
        stmt = stmt.where(CheckinAttempt.purpose == purpose)
    if status == FAILED:
        stmt = stmt.where(FAILED_PREDICATE)  # the partial index's own words
    elif status:
        stmt = stmt.where(CheckinAttempt.result == status)
    return keyset_page(stmt, (CheckinAttempt.id,), limit, cursor, descending=True)
