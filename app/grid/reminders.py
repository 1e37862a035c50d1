"""Overdue grid events: tell who is late, then the level above.

Rules (run every 10 minutes by ``app.jobs.schedule``, or ``flask jobs
remind-overdue-events``):

* An open event whose step deadline has passed is told once per deadline
  (``overdue_notified_for`` holds the deadline told): the step's people are
  told ``grid_event_overdue``: the owner's admins while it waits to be
  accepted or verified, its handler (the person, or the admins of the
  organization it was dispatched to; the owner's admins if none) while it is
  being handled. A new step or an approved extension is a new deadline,
  told again when it passes.
* Escalation (吹哨报到) is the owner's decision, never automatic: an event
  still overdue ``GRID_ESCALATION_REMINDER_HOURS`` after its deadline
  reminds the admins of the level above its owner (the street above a
  community, the district above a street), once per deadline
  (``escalation_reminded_for``), so they can press the owner or take it up.
  An event owned by the district has no level above and reminds no one.
* Each event is claimed by a conditional UPDATE on the deadline as read, and
  its notices and messages commit with the claim: two runs at once (or a
  run after a crash) tell each deadline once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, or_, select, update

from app.extensions import db
from app.grid.access import admins_of, handlers_of
from app.grid.escalation import next_level
from app.grid.models import GridEvent
from app.subscriptions.services import announce

BATCH = 100
STEP_NAMES = {"accept": "受理", "handle": "处置", "verify": "核查"}


def remind_overdue_events(now: dt.datetime) -> tuple[int, int]:
    """Tell of the deadlines that passed (and long passed) by ``now``; how
    many events were told overdue, and how many reminded one level up."""
    hours = current_app.config["GRID_ESCALATION_REMINDER_HOURS"]
    overdue = _sweep(GridEvent.overdue_notified_for, now, _tell_overdue)
    escalated = _sweep(GridEvent.escalation_reminded_for, now - dt.timedelta(hours=hours),
                       _remind_above)
    return overdue, escalated


def _sweep(column, passed_before: dt.datetime, tell: Callable[[GridEvent, dt.datetime], None]) -> int:
    told, after_id = 0, 0
    while True:
        events = db.session.scalars(
            select(GridEvent).where(GridEvent.is_open.is_(True), GridEvent.deadline_at < passed_before,
                                    or_(column.is_(None), column != GridEvent.deadline_at),
                                    GridEvent.id > after_id)
            .order_by(GridEvent.id).limit(BATCH)).all()
        if not events:
            return told
        for event in events:
            after_id = event.id
            deadline = event.deadline_at  # passed, so there is one
            if deadline is not None and _claim(event, column):
                tell(event, deadline)
                told += 1
            db.session.commit()  # one event at a time: its claim, notices and messages together


def _claim(event: GridEvent, column) -> bool:
    """Mark the deadline as read told; False when another run told it first
    or the event moved on meanwhile."""
    result = cast(CursorResult[Any], db.session.execute(
        update(GridEvent).where(GridEvent.id == event.id, GridEvent.deadline_at == event.deadline_at,
                                GridEvent.is_open.is_(True),
                                or_(column.is_(None), column != GridEvent.deadline_at))
        .values({column.key: GridEvent.deadline_at})
        .execution_options(synchronize_session=False)))
    return bool(result.rowcount)


def _tell_overdue(event: GridEvent, deadline: dt.datetime) -> None:
    if event.step == "handle":
        who = handlers_of(event) or admins_of(event.owner_org_id)
    else:
        who = admins_of(event.owner_org_id)
    step = STEP_NAMES.get(event.step or "", "办理")
    announce(who, "grid_event_overdue", event.id,
             {"title": event.title, "status": "已超时", "time": deadline, "note": f"{step}已超时"},
             version=int(deadline.timestamp()), event_id=event.id, title=event.title,
             step=event.step, deadline_at=deadline.isoformat())


def _remind_above(event: GridEvent, deadline: dt.datetime) -> None:
    higher = next_level(event)
    if higher is None:
        return
    announce(admins_of(higher.id), "grid_event_escalation", event.id,
             {"title": event.title, "status": "请督办", "time": deadline,
              "note": f"{event.owner.name}超时未办结"},
             version=int(deadline.timestamp()), event_id=event.id, title=event.title,
             owner_org_id=event.owner_org_id, deadline_at=deadline.isoformat())
