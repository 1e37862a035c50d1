"""The timed steps of an event and their traffic lights.

Each open event is in one timed step: ``accept`` (from the report),
``handle`` (from acceptance, extended by approved extensions) and ``verify``
(from the resolution), each with the hours of its category and urgency
(:func:`app.grid.categories.limits_for`). Whether a step finished in time is
frozen on the transition that finished it; an event with a late step stays
``late``.
"""
from __future__ import annotations

import datetime as dt

from app.grid.categories import limits_for
from app.grid.models import GridEvent

STEPS = ("accept", "handle", "verify")  # in the order of limits_for's hours


def start_step(event: GridEvent, step: str | None, now: dt.datetime) -> None:
    """Begin ``step`` at ``now`` with its deadline; None: no step any more."""
    event.step, event.step_started_at = step, now if step else None
    if step is None:
        event.deadline_at = None
        return
    limits = dict(zip(STEPS, limits_for(event.category, event.urgency), strict=True))
    event.deadline_at = now + dt.timedelta(hours=limits[step])


def finish_step(event: GridEvent, now: dt.datetime) -> tuple[str | None, bool | None]:
    """End the step under way: which step it was and whether in time (None, None: no step)."""
    if event.step is None:
        return None, None
    in_time = event.deadline_at is None or now <= event.deadline_at
    if not in_time:
        event.late = True
    return event.step, in_time


def light(event: GridEvent, now: dt.datetime) -> str | None:
    """green under 80 % of the step's time, yellow up to 100 %, red beyond."""
    if not event.is_open or event.deadline_at is None or event.step_started_at is None:
        return None
    total = (event.deadline_at - event.step_started_at).total_seconds()
    used = (now - event.step_started_at).total_seconds()
    share = used / total if total > 0 else 1.0
    return "green" if share < 0.8 else "yellow" if share <= 1.0 else "red"
