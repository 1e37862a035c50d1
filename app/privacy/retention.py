"""Retention: personal details that only matter for a while are removed when
their time is up, by the daily ``purge-personal-data`` job; the rows that
count something stay, so every figure is the same before and after.

===========================  ==================================  ===========  ===================================
what                         removed                             after        setting
===========================  ==================================  ===========  ===================================
a scan attempt's details     position, accuracy, IP, user agent  90 days      ``RETENTION_ATTEMPT_DETAILS_DAYS``
a check-in's position        position                            90 days      ``RETENTION_CHECKIN_POSITION_DAYS``
a badge check's position     the checker's position              30 days      ``RETENTION_BADGE_POSITION_DAYS``
an upload nothing took       the row and the file                24 hours     ``RETENTION_ORPHAN_UPLOAD_HOURS``
===========================  ==================================  ===========  ===================================

A check-in's result, center, day and purpose, an attempt's result and
distance, and a badge check's branch and time are what the statistics read:
they are kept. The work is done in batches of ``BATCH`` rows, each its own
transaction, so a purge never holds long locks on tables that scans write.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import or_, select, update

from app.extensions import db

BATCH = 1000


def purge(now: dt.datetime) -> dict[str, int]:
    """Apply every retention period as of ``now``; how many rows each touched."""
    from app.badges.models import BadgeShown
    from app.checkin.models import Checkin, CheckinAttempt

    def days(setting: str) -> dt.datetime:
        return now - dt.timedelta(days=current_app.config[setting])

    return {
        "attempt_details": _clear(CheckinAttempt, CheckinAttempt.server_time < days("RETENTION_ATTEMPT_DETAILS_DAYS"),
                                  (CheckinAttempt.lat, CheckinAttempt.lng, CheckinAttempt.accuracy_m,
                                   CheckinAttempt.ip, CheckinAttempt.device)),
        "checkin_positions": _clear(Checkin, Checkin.checked_in_at < days("RETENTION_CHECKIN_POSITION_DAYS"),
                                    (Checkin.lat, Checkin.lng)),
        "badge_check_positions": _clear(BadgeShown, BadgeShown.shown_at < days("RETENTION_BADGE_POSITION_DAYS"),
                                        (BadgeShown.lat, BadgeShown.lng)),
        "orphan_uploads": _remove_orphan_uploads(
            now - dt.timedelta(hours=current_app.config["RETENTION_ORPHAN_UPLOAD_HOURS"])),
    }


def _clear(model, older, columns) -> int:
    """Set ``columns`` to NULL on the rows ``older`` than their period that
    still hold any of them."""
    still_held = [column.isnot(None) for column in columns]
    total = 0
    while True:
        ids: Sequence[int] = db.session.scalars(select(model.id).where(older, or_(*still_held))
                                 .order_by(model.id).limit(BATCH)).all()
        if not ids:
            return total
        db.session.execute(update(model).where(model.id.in_(ids))
                           .values({column.key: None for column in columns})
                           .execution_options(synchronize_session=False))
        db.session.commit()
        total += len(ids)


def _remove_orphan_uploads(before: dt.datetime) -> int:
    """Photos uploaded and never attached to anything."""
    from app.uploads.models import Upload
    from app.uploads.services import delete_unattached, remove_files

    total = 0
    while True:
        batch = db.session.scalars(select(Upload.id).where(
            Upload.attached_at.is_(None), Upload.created_at < before).order_by(Upload.id).limit(BATCH)).all()
        if not batch:
            return total
        keys = delete_unattached(Upload.id.in_(batch))
        db.session.commit()
        remove_files(keys)
        total += len(keys)
