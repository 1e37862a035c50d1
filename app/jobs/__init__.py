"""Background jobs, run from cron or a scheduler through ``flask jobs ...``."""
from __future__ import annotations

from app.common.db import utcnow


def close_forgotten_checkouts() -> int:
    """Hourly: close volunteer check-outs still missing 12 h after their task."""
    from app.tasks.participations import close_forgotten_checkouts as close

    return close(utcnow())
