"""Acceptance (接单), attendance, confirmation (评单) and the hours ledger.

Rules:
* Never more acceptances than places: a place is taken by a conditional
  ``UPDATE tasks SET places_taken = places_taken + 1 WHERE places_taken <
  places``, with a CHECK constraint behind it. A full task answers
  ``task_full`` (or puts the volunteer on the waitlist if they asked).
* One participation per volunteer and task (a repeat returns it); no two
  held places whose times overlap; ``members_only`` tasks need an active
  member identity.
* Withdrawing frees the place until ``WITHDRAW_CUTOFF`` before the start;
  the first on the waitlist then gets it (never someone who just withdrew
  or took an overlapping task: the promotion takes their volunteer lock).
* Check-in and check-out need the volunteer at the task (within its
  radius) or the organizer's rotating code, during the task's day.
* A check-out still missing 12 hours after the end is closed automatically
  and flagged: it credits nothing until the organizer sets the real time.
* Only a confirmed participation counts: it writes one credit into the
  append-only ledger and is one person-time. Corrections are new entries.
* Every state change is a transition of :mod:`app.tasks.machines`; one of
  concurrent changes wins, the others answer 409 ``state_changed``. What is
  outside the caller's scope answers 404, never 403.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, can, roles_over
from app.common import signed_codes
from app.common.db import utcnow
from app.common.geo import Point, distance_m, to_gcj02
from app.common.pagination import keyset_page
from app.common.transitions import StateChanged
from app.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.services import identity_of
from app.moderation import services as moderation
from app.notices.services import notify
from app.subscriptions.services import announce
from app.tasks.machines import CORRECTION_REQUEST, PARTICIPATION, TASK
from app.tasks.models import CorrectionRequest, HelpRequest, HoursEntry, Participation, Task, Volunteer
from app.tasks.services import HOLDING_PLACE, InvalidState, _hours, managed_task, overlapping

CODE_STEP_SECONDS = 30
CODE_GRACE_SECONDS = 30
EARLY_CHECKIN = dt.timedelta(hours=1)
FORGOTTEN_AFTER = dt.timedelta(hours=12)


class NotAVolunteer(Forbidden):
    code = "not_a_volunteer"
    zh = "请先注册成为志愿者。"
    en = "Register as a volunteer first."


class TaskNotOpen(Conflict):
    code = "task_not_open"
    zh = "该任务当前为“{state}”状态，不能接单。"
    en = "This task is {state}; it cannot be accepted."


class TaskFull(Conflict):
    code = "task_full"
    zh = "该任务名额已满。"
    en = "This task has no places left."


class ScheduleConflict(Conflict):
    code = "schedule_conflict"
    zh = "您已接的任务与该任务时间重叠。"
    en = "You already hold a task at an overlapping time."


class MembersOnly(Forbidden):
    code = "members_only"
    zh = "该任务仅限党员志愿者。"
    en = "This task is for Party-member volunteers only."


class WithdrawCutoffPassed(Conflict):
    code = "withdraw_cutoff_passed"
    zh = "距任务开始已不足 {cutoff_hours} 小时，不能退出，请联系组织者。"
    en = "Less than {cutoff_hours} hours before the start: withdrawing is closed; contact the organizer."


class NotTaskTime(Conflict):
    code = "not_task_time"
    zh = "现在不在该任务的签到时间内。"
    en = "It is not the time of this task."


class LocationRequired(ValidationFailed):
    code = "location_required"
    zh = "请提供位置或扫描组织者出示的二维码。"
    en = "Send your location or scan the organizer's code."


class OutOfRange(Forbidden):
    code = "out_of_range"
    zh = "您距离任务地点 {distance_m} 米，需在 {radius_m} 米以内。"
    en = "You are {distance_m} m from the task; it needs {radius_m} m or less."


class InvalidTaskCode(BadRequest):
    code = "invalid_code"
    zh = "该二维码不是本任务的有效签到码。"
    en = "This is not a valid code for this task."


class NotYourParticipation(Forbidden):
    code = "not_your_task"
    zh = "只有求助的居民（或无求助单任务的组织者）可以确认和评价。"
    en = "Only the resident who asked (or the organizer, for tasks without a request) can confirm."


class NeedsReview(Conflict):
    code = "needs_review"
    zh = "签退时间缺失，需组织者补录实际时间后才能确认。"
    en = "The check-out time is missing; the organizer must set the real time first."


# ---- acceptance ------------------------------------------------------------------

def _participation(task_id: int, user_id: int) -> Participation | None:
    return db.session.scalar(select(Participation).where(
        Participation.task_id == task_id, Participation.user_id == user_id))


def _lock_volunteer(user_id: int) -> None:
    """One volunteer's places change one at a time (a no-op UPDATE of their row:
    PostgreSQL's row lock, SQLite's write lock), so that an overlap check sees
    the places just committed. Taken after the task's row (see machines)."""
    db.session.execute(update(Volunteer).where(Volunteer.user_id == user_id)
                       .values(user_id=Volunteer.user_id).execution_options(synchronize_session=False))


def _claim_place_or_waitlist(task: Task, waitlist: bool) -> str:
    """Claim the task for an acceptance: a free place (the conditional UPDATE
    ``places_taken + 1 WHERE state = 'published' AND places_taken < places``)
    or, when full and asked for, a spot on the waitlist of a task still
    published. Either holds the task's row until the commit, so a cancel
    cannot slip in between."""
    try:
        TASK.apply(task, "accept", where=[Task.places_taken < Task.places],
                   places_taken=Task.places_taken + 1)
        return "accepted"
    except StateChanged as lost:
        if lost.details["state"] != "published":
            raise
    if not waitlist:
        raise TaskFull({"waitlist_available": True})
    TASK.apply(task, "join_waitlist")
    return "waitlisted"


def accept_task(user: User, task_id: int, waitlist: bool = False) -> tuple[Participation, bool]:
    """Take a place (or a waitlist spot). Returns (participation, created)."""
    volunteer = db.session.scalar(select(Volunteer.id).where(Volunteer.user_id == user.id))
    if volunteer is None:
        raise NotAVolunteer()
    task = db.session.get(Task, task_id)
    if task is None or task.state == "draft":
        raise NotFound()
    existing = _participation(task.id, user.id)
    if existing is not None and existing.state in (*HOLDING_PLACE, "waitlisted"):
        return existing, False
    if task.state != "published":
        raise TaskNotOpen({"state": task.state})
    if utcnow() >= task.starts_at:
        raise TaskNotOpen({"state": "started"})  # a place is taken before the work begins
    if task.members_only:
        identity = identity_of(user.id)
        if identity is None or not identity.is_active:
            raise MembersOnly()
    values = {"starts_at": task.starts_at, "ends_at": task.ends_at, "accepted_at": utcnow()}
    try:
        state = _claim_place_or_waitlist(task, waitlist)
        _lock_volunteer(user.id)
        if db.session.scalar(select(overlapping(user.id, task).exists())):
            raise ScheduleConflict()
        if state == "accepted" and task.help_request_id:
            _tell_requester(task)
        if existing is not None:
            # Coming back after withdrawing: only if no concurrent request of theirs did it first.
            try:
                PARTICIPATION.apply(existing, "rejoin", to=state, **values)
            except StateChanged:
                db.session.rollback()  # gives the place back
                return _participation(task.id, user.id), False
            db.session.commit()
            return existing, True
    except ApiError:
        db.session.rollback()
        raise
    participation = Participation(task=task, user_id=user.id, state=state, **values)  # no reload to answer
    db.session.add(participation)
    try:
        db.session.commit()
    except IntegrityError:  # the same volunteer's concurrent accept won
        db.session.rollback()
        return _participation(task.id, user.id), False
    return participation, True


def _tell_requester(task: Task) -> None:
    """The resident who asked for help learns that a volunteer took it (接单):
    an in-app notice per volunteer, one subscribe message per request."""
    request = db.session.get(HelpRequest, task.help_request_id)
    announce([request.requester_id], "help_request_accepted", request.id,
             {"title": task.title, "status": "已接单", "time": task.starts_at,
              "note": "志愿者已接单，请保持电话畅通"},
             request_id=request.id, task_id=task.id, title=task.title)


def with_waitlist_positions(participations: list[Participation]) -> list[Participation]:
    """Set ``waitlist_position`` (1 = next to get a place) on the waitlisted
    ones, in one query over their tasks' waitlists; no query when none is."""
    waiting = [p for p in participations if p.state == "waitlisted"]
    if waiting:
        rank = func.row_number().over(partition_by=Participation.task_id,
                                      order_by=(Participation.accepted_at, Participation.id))
        ranked = dict(db.session.execute(select(Participation.id, rank).where(
            Participation.task_id.in_({p.task_id for p in waiting}),
            Participation.state == "waitlisted")).all())
        for participation in waiting:
            participation.__dict__["waitlist_position"] = ranked.get(participation.id)
    return participations


def withdraw(user: User, task_id: int) -> Participation:
    """Give a place back (until the cutoff); the first on the waitlist gets it.
    Of concurrent withdrawals of one participation one frees the place."""
    participation = _participation(task_id, user.id)
    if participation is None or participation.state not in ("accepted", "waitlisted"):
        raise NotFound()
    task = participation.task
    cutoff = dt.timedelta(seconds=current_app.config["WITHDRAW_CUTOFF"])
    if participation.state == "accepted" and utcnow() > task.starts_at - cutoff:
        raise WithdrawCutoffPassed({"cutoff_hours": round(cutoff.total_seconds() / 3600, 1)})
    try:
        release_place(participation)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return participation


def release_place(participation: Participation) -> None:
    """Withdraw an accepted or waitlisted participation in the caller's
    transaction; a place it held goes to the first on the waitlist."""
    task = participation.task
    held = participation.state == "accepted"
    # the task's row first (a concurrent promotion or cancel waits, or we wait for it)
    TASK.claim(task, "withdraw", **({"places_taken": Task.places_taken - 1} if held else {}))
    PARTICIPATION.apply(participation, "withdraw")
    if held:
        promote_waitlist(task)


def promote_waitlist(task: Task) -> None:
    """Give the task's free places to its waitlist, first come first served,
    skipping whoever holds an overlapping task. The caller has claimed the
    task's row (and refreshed ``task``); each promotion is a claim of its own,
    so a volunteer who left the list meanwhile is never promoted."""
    free = task.places - task.places_taken
    if free <= 0:
        return
    waiting = db.session.scalars(select(Participation).where(
        Participation.task_id == task.id, Participation.state == "waitlisted")
        .order_by(Participation.accepted_at, Participation.id)).all()
    promoted = 0
    for participation in waiting:
        if promoted == free:
            break
        _lock_volunteer(participation.user_id)
        if db.session.scalar(select(overlapping(participation.user_id, task).exists())):
            continue  # they took another task meanwhile; keep them waiting
        try:
            PARTICIPATION.apply(participation, "promote")
        except StateChanged:
            continue  # they left the list meanwhile
        promoted += 1
        announce([participation.user_id], "waitlist_promoted", task.id,
                 {"title": task.title, "status": "候补成功", "time": task.starts_at,
                  "note": task.address or "请按时参加"},
                 version=int(utcnow().timestamp()), task_id=task.id, title=task.title)
    if promoted:
        db.session.execute(update(Task).where(Task.id == task.id)
                           .values(places_taken=Task.places_taken + promoted)
                           .execution_options(synchronize_session=False))
        set_committed_value(task, "places_taken", task.places_taken + promoted)  # as stored; no flush


# ---- on the day ------------------------------------------------------------------

def task_code(actor: User, task_id: int) -> dict:
    """The rotating code the organizer shows for check-in and check-out
    (``token`` is the bare code, for its image)."""
    task = managed_task(actor, task_id)
    now = utcnow()
    step = int(now.timestamp()) // CODE_STEP_SECONDS
    token = signed_codes.sign("task", task.id, 1, step, task.code_key.encode())
    next_step_at = (step + 1) * CODE_STEP_SECONDS
    return {"qr_text": signed_codes.qr_text(token, current_app.config["QR_BASE_URL"]),
            "token": token,
            "expires_at": dt.datetime.fromtimestamp(next_step_at + CODE_GRACE_SECONDS, dt.UTC),
            "refresh_in": round(next_step_at - now.timestamp(), 3)}


def task_code_fresh(step: int, now: dt.datetime) -> bool:
    """Whether a task code of time step ``step`` is accepted at ``now``: from
    its step's start until ``CODE_GRACE_SECONDS`` after its end."""
    return step * CODE_STEP_SECONDS <= now.timestamp() < (step + 1) * CODE_STEP_SECONDS + CODE_GRACE_SECONDS


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
    participation = _participation(task_id, user.id)
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
    try:
        TASK.claim(task, "check_in")  # the task's row first: a concurrent cancel or complete decides
        PARTICIPATION.apply(participation, "check_in", checked_in_at=now)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
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
    try:
        PARTICIPATION.apply(participation, "check_out", checked_out_at=now)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
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
    participation = _managed(actor, participation_id)
    PARTICIPATION.check(participation, "set_times")
    start = checked_in_at or participation.checked_in_at
    if start is None or checked_out_at <= start:
        raise ValidationFailed({"fields": {"checked_out_at": ["Must be after the check-in."]}})
    try:
        before = audit.snapshot(participation, "checked_in_at", "checked_out_at", "needs_review")
        PARTICIPATION.apply(participation, "set_times", checked_in_at=start, checked_out_at=checked_out_at,
                            needs_review=False)
        audit.record(actor, "participation.set_times", participation, org_id=participation.task.community_id,
                     before=before,
                     after=audit.snapshot(participation, "checked_in_at", "checked_out_at", "needs_review"))
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return participation


def mark_no_show(actor: User, participation_id: int) -> Participation:
    participation = _managed(actor, participation_id)
    PARTICIPATION.check(participation, "no_show")
    if utcnow() < participation.task.starts_at:
        raise NotTaskTime()
    try:
        PARTICIPATION.apply(participation, "no_show")
        audit.record(actor, "participation.no_show", participation, org_id=participation.task.community_id,
                     before={"state": "accepted"}, after={"state": "no_show"})
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return participation


def _managed(actor: User, participation_id: int) -> Participation:
    participation = db.session.get(Participation, participation_id)
    if participation is None:
        raise NotFound()
    authorize(actor, "tasks.manage", participation.task.community)
    return participation


# ---- confirmation and the ledger ------------------------------------------------------

def credited_hours(participation: Participation) -> Decimal:
    """Actual service time, never more than the task credits per person."""
    actual = (participation.checked_out_at - participation.checked_in_at).total_seconds() / 3600
    return min(_hours(max(actual, 0)), Decimal(participation.task.hours_credited))


def confirm(user: User, participation_id: int, score: int, comment: str) -> Participation:
    """The resident who asked (or the organizer, for tasks without a request)
    confirms and rates; this credits the hours and counts one person-time.
    A participation the caller cannot see is 404; one they see but may not
    confirm is 403. A double tap credits once."""
    participation = db.session.get(Participation, participation_id)
    if participation is None:
        raise NotFound()
    task = participation.task
    requester = None
    if task.help_request_id is not None:
        requester = db.session.scalar(select(HelpRequest.requester_id).where(
            HelpRequest.id == task.help_request_id))
        allowed = requester == user.id
    else:
        allowed = can(user, "tasks.manage", task.community)
    if not allowed:
        if user.id in (participation.user_id, requester) or roles_over(user, task.community.path):
            raise NotYourParticipation()
        raise NotFound()  # out of scope: its existence is not revealed
    PARTICIPATION.check(participation, "confirm")
    if participation.needs_review:
        raise NeedsReview()
    verdict = moderation.check_text("task_rating", {"comment": comment}, user)
    try:
        PARTICIPATION.apply(participation, "confirm", where=[Participation.needs_review.is_(False)],
                            score=score, comment=comment, confirmed_by_id=user.id, confirmed_at=utcnow())
        moderation.record(verdict, participation, org_id=task.community_id, author_id=user.id)
    except ApiError:
        db.session.rollback()
        raise
    db.session.add(HoursEntry(
        user_id=participation.user_id, task_id=task.id, participation_id=participation.id,
        community_id=task.community_id, kind="credit", hours=credited_hours(participation),
        recorded_by_id=user.id, service_name=task.title, organizer=task.community.name,
        place=task.address, service_started_at=participation.checked_in_at,
        service_ended_at=participation.checked_out_at,
        confirmed_by="requester" if requester is not None else "organizer"))
    if requester is None:  # the organizer's act; a resident confirming their own request is not an admin's
        audit.record(user, "participation.confirm", participation, org_id=task.community_id,
                     before={"state": "checked_out"},
                     after={"state": "confirmed", "hours": str(credited_hours(participation))})
    db.session.commit()
    moderation.after_commit(verdict)
    return participation


# What a correction copies from the credit it corrects: the record as it was confirmed.
FROZEN_RECORD = ("service_name", "organizer", "place", "service_started_at", "service_ended_at",
                 "confirmed_by")


def _ledger_total(participation_id: int) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(HoursEntry.hours), 0)).where(
        HoursEntry.participation_id == participation_id))


def correct_hours(actor: User, participation_id: int, hours: Decimal, reason: str,
                  request_id: int | None) -> HoursEntry:
    """Set a confirmed participation's hours to ``hours`` by appending the
    difference to the ledger, with the reason; nothing is edited. Corrections
    of one participation apply one after another, each from the latest
    total; a correction request is applied once."""
    participation = _managed(actor, participation_id)
    PARTICIPATION.check(participation, "correct")
    request = None
    if request_id is not None:  # checked before anything is written
        request = db.session.get(CorrectionRequest, request_id)
        if request is None or request.participation_id != participation.id:
            raise NotFound()
        CORRECTION_REQUEST.check(request, "apply")
    try:
        # claims the participation's row before its total is read (a self-transition)
        PARTICIPATION.apply(participation, "correct")
        if request is not None:
            CORRECTION_REQUEST.apply(request, "apply", decided_at=utcnow())
    except ApiError:
        db.session.rollback()
        raise
    delta = _hours(hours) - _hours(_ledger_total(participation.id))
    credit = db.session.scalar(select(HoursEntry).where(
        HoursEntry.participation_id == participation.id, HoursEntry.kind == "credit"))
    entry = HoursEntry(user_id=participation.user_id, task_id=participation.task_id,
                       participation_id=participation.id, community_id=participation.task.community_id,
                       kind="correction", hours=delta, reason=reason, recorded_by_id=actor.id,
                       **{name: getattr(credit, name) for name in FROZEN_RECORD})
    db.session.add(entry)
    audit.record(actor, "participation.correct", participation, org_id=participation.task.community_id,
                 before={"hours": str(_hours(hours) - delta)},
                 after={"hours": str(_hours(hours)), "reason": reason, "correction_request_id": request_id})
    notify([participation.user_id], "hours_corrected", task_id=participation.task_id,
           hours=float(_hours(hours)), reason=reason)  # a JSON number, as everywhere
    db.session.commit()
    return entry


def request_correction(user: User, participation_id: int, hours: Decimal, reason: str) -> CorrectionRequest:
    participation = db.session.get(Participation, participation_id)
    if participation is None or participation.user_id != user.id:
        raise NotFound()
    if participation.state != "confirmed":
        raise InvalidState({"state": participation.state})
    request = CorrectionRequest(participation_id=participation.id, task_id=participation.task_id,
                                user_id=user.id, requested_hours=_hours(hours), reason=reason)
    db.session.add(request)
    db.session.commit()
    return request


def reject_correction(actor: User, request_id: int) -> CorrectionRequest:
    request = db.session.get(CorrectionRequest, request_id)
    if request is None:
        raise NotFound()
    participation = _managed(actor, request.participation_id)
    try:
        CORRECTION_REQUEST.apply(request, "reject", decided_at=utcnow())
        audit.record(actor, "correction_request.reject", request, org_id=participation.task.community_id,
                     before={"state": "pending"}, after={"state": "rejected"})
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return request


def list_corrections(actor: User, task_id: int) -> list[CorrectionRequest]:
    task = managed_task(actor, task_id)
    return list(db.session.scalars(select(CorrectionRequest).where(CorrectionRequest.task_id == task.id)
                                   .order_by(CorrectionRequest.id)))


# ---- records and counts ---------------------------------------------------------------

def volunteer_record(user: User, limit: int, cursor: str | None) -> dict:
    """Total hours and person-times, the ledger (newest first) and ratings received."""
    hours = db.session.scalar(select(func.coalesce(func.sum(HoursEntry.hours), 0))
                              .where(HoursEntry.user_id == user.id))
    person_times, rated, average = db.session.execute(
        select(func.count(Participation.id), func.count(Participation.score), func.avg(Participation.score))
        .where(Participation.user_id == user.id, Participation.state == "confirmed")).one()
    ledger = keyset_page(select(HoursEntry).where(HoursEntry.user_id == user.id), (HoursEntry.id,),
                         limit, cursor, descending=True)
    return {"total_hours": _hours(hours), "person_times": person_times,
            "ratings": {"count": rated, "average": round(float(average), 2) if average else None},
            "ledger": ledger.items, "next_cursor": ledger.next_cursor}
