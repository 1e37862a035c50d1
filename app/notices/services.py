"""Telling users things. Notices are added to the caller's transaction, so a
notice exists exactly when the change it reports was committed."""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.extensions import db
from app.notices.models import Notice


def notify(user_ids, kind: str, **data) -> None:
    db.session.add_all(Notice(user_id=user_id, kind=kind, data=data) for user_id in user_ids)


def my_notices(user, limit: int, cursor: str | None) -> Page:
    return keyset_page(select(Notice).where(Notice.user_id == user.id), (Notice.id,), limit, cursor,
                       descending=True)


UNREAD_CAP = 100  # the tab shows "99+" beyond this; counting further walks old rows


def unread_count(user) -> int:
    """How many of the user's notices are unread, up to UNREAD_CAP."""
    unread = (select(Notice.id).where(Notice.user_id == user.id, Notice.read_at.is_(None))
              .order_by(Notice.id.desc()).limit(UNREAD_CAP).subquery())
    return db.session.scalars(select(func.count()).select_from(unread)).one()


def mark_read(user, up_to_id: int) -> int:
    """Mark the user's notices up to ``up_to_id`` read; returns how many changed."""
    result = cast(CursorResult[Any], db.session.execute(update(Notice).where(
        Notice.user_id == user.id, Notice.id <= up_to_id, Notice.read_at.is_(None)).values(read_at=utcnow())))
    db.session.commit()
    return result.rowcount
