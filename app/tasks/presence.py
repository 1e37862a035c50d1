"""Attendance on the day: the organizer's rotating code, check-in and check-out.

Rules:
* Check-in and check-out need the volunteer at the task (within its
  radius) or the organizer's rotating code, during the task's day.
* A check-out still missing 12 hours after the end is closed automatically
  and flagged: it credits nothing until the organizer sets the real time.
* What is outside the caller's scope answers 404, never 403.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app

from app.audit import log as audit
from app.auth.models import User
from app.common import signed_codes
from app.common.db import utcnow
from app.common.geo import Point, distance_m, to_gcj02
from app.common.rotating import Rotation
from app.common.work import unit_of_work
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.tasks.errors import InvalidTaskCode, LocationRequired, NotTaskTime, OutOfRange
from app.tasks.machines import PARTICIPATION, TASK
from app.tasks.models import Participation, Task
from app.tasks.publishing import managed_task
from app.tasks.rules import managed_participation, participation_of

CODE_STEP_SECONDS = 30
CODE_GRACE_SECONDS = 30
TASK_CODES = Rotation(CODE_STEP_SECONDS, CODE_GRACE_SECONDS)
EARLY_CHECKIN = dt.timedelta(hours=1)
FORGOTTEN_AFTER = dt.timedelta(hours=12)


def task_code(actor: User, task_id: int) -> dict:
    """The rotating code the organizer shows for check-in and check-out
    (``token`` is the bare code, for its image)."""
    task = managed_task(actor, task_id)
    shown = TASK_CODES.show("task", task.id, 1, task.code_key.encode(), utcnow())
    return {"qr_text": signed_codes.qr_text(shown.token, current_app.config["QR_BASE_URL"]),
            "token": shown.token, "expires_at": shown.expires_at, "refresh_in": shown.refresh_in}


def task_code_fresh(step: int, now: dt.datetime) -> bool:
    """Whether a task code of time step ``step`` is accepted at ``now``: from
    its step's start until ``CODE_GRACE_SECONDS`` after its end."""
    return TASK_CODES.fresh(step, now)


def _prove_presence(task: Task, location: dict | None, code: str | None, now: dt.datetime) -> None:
    if code:
        try:
            parsed = signed_codes.parse(signed_codes.token_from_qr_text(
                code, current_app.config["QR_BASE_URL"]))
        except signed_codes.MalformedCode:
            raise InvalidTaskCode() from None
        fresh = task_code_fresh(parsed.step, now)
        if parsed.kind != "task" or parsed.subject_id != task.id or not fresh \
                or not parsed.verify(task.code_key.encode()):
            raise InvalidTaskCode()
        return
    if not location:
        raise LocationRequired()
    distance = distance_m(to_gcj02(location), Point(task.lat, task.lng))
    if distance > task.radius_m:
        raise OutOfRange({"distance_m": round(distance), "radius_m": task.radius_m})


def _own(user: User, task_id: int) -> Participation:
    participation = participation_of(task_id, user.id)
    if participation is None:
        raise NotFound()
    return participation


def check_in(user: User, task_id: int, location: dict | None, code: str | None) -> Participation:
    """Arrive at a published or running task (the first arrival starts it)."""
    participation = _own(user, task_id)
    if participation.state == "checked_in":
        return participation
    PARTICIPATION.check(participation, "check_in")
    task = participation.task
    now = utcnow()
    if not task.starts_at - EARLY_CHECKIN <= now <= task.ends_at:
        raise NotTaskTime()
    _prove_presence(task, location, code, now)
    with unit_of_work():
        TASK.claim(task, "check_in")  # the task's row first: a concurrent cancel or complete decides
        PARTICIPATION.apply(participation, "check_in", checked_in_at=now)
    return participation


def check_out(user: User, task_id: int, location: dict | None, code: str | None) -> Participation:
    participation = _own(user, task_id)
    if participation.state == "checked_out":
        return participation
    PARTICIPATION.check(participation, "check_out")
    now = utcnow()
    if now > participation.task.ends_at + FORGOTTEN_AFTER:
        raise NotTaskTime()
    _prove_presence(participation.task, location, code, now)
    with unit_of_work():
        PARTICIPATION.apply(participation, "check_out", checked_out_at=now)
    return participation


def close_forgotten_checkouts(now: dt.datetime) -> int:
    """Close check-outs still missing 12 h after their task ended, flagged for
    review (run by ``flask jobs close-forgotten-checkouts``, e.g. hourly)."""
    closed = PARTICIPATION.apply_all("close_forgotten", Participation.ends_at < now - FORGOTTEN_AFTER,
                       needs_review=True)
    db.session.commit()
    return len(closed)


def set_times(actor: User, participation_id: int, checked_in_at: dt.datetime | None,
              checked_out_at: dt.datetime) -> Participation:
    """The organizer records the real service time (e.g. after a forgotten check-out)."""
    participation = managed_participation(actor, participation_id)
    PARTICIPATION.check(participation, "set_times")
    start = checked_in_at or participation.checked_in_at
    if start is None or checked_out_at <= start:
        raise ValidationFailed({"fields": {"checked_out_at": ["Must be after the check-in."]}})
    with unit_of_work():
        before = audit.snapshot(participation, "checked_in_at", "checked_out_at", "needs_review")
        PARTICIPATION.apply(participation, "set_times", checked_in_at=start, checked_out_at=checked_out_at,
                            needs_review=False)
        audit.record(actor, "participation.set_times", participation, org_id=participation.task.community_id,
                     before=before,
                     after=audit.snapshot(participation, "checked_in_at", "checked_out_at", "needs_review"))
    return participation


def mark_no_show(actor: User, participation_id: int) -> Participation:
    participation = managed_participation(actor, participation_id)
    PARTICIPATION.check(participation, "no_show")
    if utcnow() < participation.task.starts_at:
        raise NotTaskTime()
    with unit_of_work():
        PARTICIPATION.apply(participation, "no_show")
        audit.record(actor, "participation.no_show", participation, org_id=participation.task.community_id,
                     before={"state": "accepted"}, after={"state": "no_show"})
    return participation
