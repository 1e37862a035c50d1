"""The periodic jobs' bodies: each takes the time now and calls the feature
that does the work (scheduled in :mod:`app.jobs.schedule`, run by the RQ
workers of :mod:`app.jobs.queue`, or by hand through ``flask jobs <name>``)."""
from __future__ import annotations

from app.auth.tokens import prune_ended
from app.common.db import utcnow
from app.common.idempotency import prune_expired
from app.grid import reminders
from app.moderation.services import recheck_unchecked
from app.privacy.retention import purge
from app.tasks import presence


def close_forgotten_checkouts() -> int:
    """Hourly: close volunteer check-outs still missing 12 h after their task."""
    return presence.close_forgotten_checkouts(utcnow())


def purge_personal_data() -> dict[str, int]:
    """Daily: remove the personal details whose retention period is over
    (app.privacy.retention); how many rows of each kind."""
    return purge(utcnow())


def prune_sessions() -> tuple[int, int]:
    """Hourly: delete login sessions no token of which can still be used, and
    Idempotency-Key answers older than a day; how many of each."""
    return prune_ended(), prune_expired()


def remind_overdue_events() -> tuple[int, int]:
    """Every 10 minutes: tell of grid events newly overdue, and remind the
    level above of those overdue for long; how many of each."""
    return reminders.remind_overdue_events(utcnow())


def recheck_texts() -> int:
    """Every 10 minutes: re-enqueue the content re-check of every text still
    unchecked (WeChat was unreachable when it was written); how many."""
    return recheck_unchecked()
