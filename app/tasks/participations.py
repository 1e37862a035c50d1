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
  the first on the waitlist then gets it.
* Check-in and check-out need the volunteer at the task (within its
  radius) or the organizer's rotating code, during the task's day.
* A check-out still missing 12 hours after the end is closed automatically
  and flagged: it credits nothing until the organizer sets the real time.
* Only a confirmed participation counts: it writes one credit into the
  append-only ledger and is one person-time. Corrections are new entries.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.auth.permissions import authorize, can, subtree_clause
from app.common import signed_codes
from app.common.db import utcnow
from app.common.geo import Point, distance_m, to_gcj02
from app.common.pagination import keyset_page
from app.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import MemberIdentity
from app.members.services import identity_of
from app.notices.services import notify
from app.orgs.models import OrgNode
from app.orgs.services import visible_node
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


class InvalidTaskCode(ApiError):
    status = 400
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


def _take_place(task_id: int) -> bool:
    """Atomically take one place of a published task; False when none is left."""
    return db.session.execute(
        update(Task).where(Task.id == task_id, Task.state == "published",
                           Task.places_taken < Task.places)
        .values(places_taken=Task.places_taken + 1)
        .execution_options(synchronize_session=False)).rowcount == 1


def _free_place(task_id: int) -> None:
    db.session.execute(update(Task).where(Task.id == task_id, Task.places_taken > 0)
                       .values(places_taken=Task.places_taken - 1)
                       .execution_options(synchronize_session=False))


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
    # One volunteer's acceptances run one at a time (a no-op UPDATE of their row: PostgreSQL's
    # row lock, SQLite's write lock), so the overlap check sees the ones just committed.
    db.session.execute(update(Volunteer).where(Volunteer.id == volunteer)
                       .values(user_id=Volunteer.user_id).execution_options(synchronize_session=False))
    if db.session.scalar(select(overlapping(user.id, task).exists())):
        db.session.rollback()
        raise ScheduleConflict()
    if _take_place(task.id):
        state = "accepted"
    elif waitlist:
        state = "waitlisted"
    else:
        db.session.rollback()
        raise TaskFull({"waitlist_available": True})
    values = {"state": state, "starts_at": task.starts_at, "ends_at": task.ends_at,
              "accepted_at": utcnow()}
    if existing is not None:
        # Coming back after withdrawing: only if no concurrent request of theirs did it first.
        if db.session.execute(update(Participation).where(
                Participation.id == existing.id, Participation.state == existing.state)
                .values(**values)).rowcount != 1:
            db.session.rollback()  # gives the place back
            return _participation(task.id, user.id), False
        db.session.commit()
        return existing, True
    participation = Participation(task=task, user_id=user.id, **values)  # no reload to answer
    db.session.add(participation)
    try:
        db.session.commit()
    except IntegrityError:  # the same volunteer's concurrent accept won
        db.session.rollback()
        return _participation(task.id, user.id), False
    return participation, True




def withdraw(user: User, task_id: int) -> Participation:
    """Give a place back (until the cutoff); the first on the waitlist gets it."""
    participation = _participation(task_id, user.id)
    if participation is None or participation.state not in ("accepted", "waitlisted"):
        raise NotFound()
    task = participation.task
    cutoff = dt.timedelta(seconds=current_app.config["WITHDRAW_CUTOFF"])
    if participation.state == "accepted" and utcnow() > task.starts_at - cutoff:
        raise WithdrawCutoffPassed({"cutoff_hours": round(cutoff.total_seconds() / 3600, 1)})
    held = participation.state == "accepted"
    # Conditional, so that concurrent withdrawals free one place, not one each.
    if db.session.execute(update(Participation).where(
            Participation.id == participation.id, Participation.state == participation.state)
            .values(state="withdrawn")).rowcount != 1:
        db.session.rollback()
        raise NotFound()
    if held:
        _free_place(task.id)
        _promote_waitlist(task)
    db.session.commit()
    return participation


def _promote_waitlist(task: Task) -> None:
    """Give freed places to the waitlist, first come first served."""
    waiting = db.session.scalars(select(Participation).where(
        Participation.task_id == task.id, Participation.state == "waitlisted")
        .order_by(Participation.accepted_at, Participation.id)).all()
    for participation in waiting:
        if db.session.scalar(select(overlapping(participation.user_id, task).exists())):
            continue  # they took another task meanwhile; keep them waiting
        if not _take_place(task.id):
            return
        participation.state = "accepted"
        notify([participation.user_id], "waitlist_promoted", task_id=task.id, title=task.title)


# ---- on the day ------------------------------------------------------------------

def task_code(actor: User, task_id: int) -> dict:
    """The rotating code the organizer shows for check-in and check-out."""
    task = managed_task(actor, task_id)
    now = utcnow()
    step = int(now.timestamp()) // CODE_STEP_SECONDS
    token = signed_codes.sign("task", task.id, 1, step, task.code_key.encode())
    next_step_at = (step + 1) * CODE_STEP_SECONDS
    return {"qr_text": signed_codes.qr_text(token, current_app.config["QR_BASE_URL"]),
            "expires_at": dt.datetime.fromtimestamp(next_step_at + CODE_GRACE_SECONDS, dt.timezone.utc),
            "refresh_in": round(next_step_at - now.timestamp(), 3)}


def _prove_presence(task: Task, location: dict | None, code: str | None, now: dt.datetime) -> None:
    if code:
        try:
            parsed = signed_codes.parse(signed_codes.token_from_qr_text(
                code, current_app.config["QR_BASE_URL"]))
        except signed_codes.MalformedCode:
            raise InvalidTaskCode() from None
        fresh = (parsed.step * CODE_STEP_SECONDS <= now.timestamp()
                 < (parsed.step + 1) * CODE_STEP_SECONDS + CODE_GRACE_SECONDS)
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
    participation = _own(user, task_id)
    if participation.state == "checked_in":
        return participation
    if participation.state != "accepted":
        raise InvalidState({"state": participation.state})
    task = participation.task
    now = utcnow()
    if not task.starts_at - EARLY_CHECKIN <= now <= task.ends_at:
        raise NotTaskTime()
    _prove_presence(task, location, code, now)
    participation.state, participation.checked_in_at = "checked_in", now
    if task.state == "published":
        task.state = "in_progress"
    db.session.commit()
    return participation


def check_out(user: User, task_id: int, location: dict | None, code: str | None) -> Participation:
    participation = _own(user, task_id)
    if participation.state == "checked_out":
        return participation
    if participation.state != "checked_in":
        raise InvalidState({"state": participation.state})
    now = utcnow()
    if now > participation.task.ends_at + FORGOTTEN_AFTER:
        raise NotTaskTime()
    _prove_presence(participation.task, location, code, now)
    participation.state, participation.checked_out_at = "checked_out", now
    db.session.commit()
    return participation


def close_forgotten_checkouts(now: dt.datetime) -> int:
    """Close check-outs still missing 12 h after their task ended, flagged for
    review (run by ``flask jobs close-forgotten-checkouts``, e.g. hourly)."""
    forgotten = db.session.scalars(select(Participation).where(
        Participation.state == "checked_in", Participation.ends_at < now - FORGOTTEN_AFTER)).all()
    for participation in forgotten:
        participation.state, participation.needs_review = "checked_out", True
    db.session.commit()
    return len(forgotten)


def set_times(actor: User, participation_id: int, checked_in_at: dt.datetime | None,
              checked_out_at: dt.datetime) -> Participation:
    """The organizer records the real service time (e.g. after a forgotten check-out)."""
    participation = _managed(actor, participation_id)
    if participation.state not in ("checked_in", "checked_out"):
        raise InvalidState({"state": participation.state})
    start = checked_in_at or participation.checked_in_at
    if start is None or checked_out_at <= start:
        raise ValidationFailed({"fields": {"checked_out_at": ["Must be after the check-in."]}})
    participation.checked_in_at, participation.checked_out_at = start, checked_out_at
    participation.state, participation.needs_review = "checked_out", False
    db.session.commit()
    return participation


def mark_no_show(actor: User, participation_id: int) -> Participation:
    participation = _managed(actor, participation_id)
    if participation.state != "accepted":
        raise InvalidState({"state": participation.state})
    if utcnow() < participation.task.starts_at:
        raise NotTaskTime()
    participation.state = "no_show"
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
    confirms and rates; this credits the hours and counts one person-time."""
    participation = db.session.get(Participation, participation_id)
    if participation is None:
        raise NotFound()
    task = participation.task
    if task.help_request_id is not None:
        requester = db.session.scalar(select(HelpRequest.requester_id).where(
            HelpRequest.id == task.help_request_id))
        allowed = requester == user.id
    else:
        allowed = can(user, "tasks.manage", task.community)
    if not allowed:
        raise NotYourParticipation()
    if participation.state == "confirmed":
        raise InvalidState({"state": participation.state})
    if participation.state != "checked_out":
        raise InvalidState({"state": participation.state})
    if participation.needs_review:
        raise NeedsReview()
    # Conditional, so that a double tap (two concurrent confirms) credits once.
    if db.session.execute(update(Participation).where(
            Participation.id == participation.id, Participation.state == "checked_out",
            Participation.needs_review.is_(False))
            .values(state="confirmed", score=score, comment=comment, confirmed_by_id=user.id,
                    confirmed_at=utcnow())).rowcount != 1:
        db.session.rollback()
        raise InvalidState({"state": "confirmed"})
    db.session.add(HoursEntry(user_id=participation.user_id, task_id=task.id,
                              participation_id=participation.id, community_id=task.community_id,
                              kind="credit", hours=credited_hours(participation),
                              recorded_by_id=user.id))
    db.session.commit()
    return participation


def _ledger_total(participation_id: int) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(HoursEntry.hours), 0)).where(
        HoursEntry.participation_id == participation_id))


def correct_hours(actor: User, participation_id: int, hours: Decimal, reason: str,
                  request_id: int | None) -> HoursEntry:
    """Set a confirmed participation's hours to ``hours`` by appending the
    difference to the ledger, with the reason; nothing is edited."""
    participation = _managed(actor, participation_id)
    if participation.state != "confirmed":
        raise InvalidState({"state": participation.state})
    request = None
    if request_id is not None:  # checked before anything is written
        request = db.session.get(CorrectionRequest, request_id)
        if request is None or request.participation_id != participation.id:
            raise NotFound()
        if request.state != "pending":
            raise InvalidState({"state": request.state})
    # Lock the participation's row before reading its total, so that concurrent
    # corrections apply one after another (a no-op UPDATE: PostgreSQL's row lock,
    # SQLite's write lock) and each computes its difference from the latest total.
    db.session.execute(update(Participation).where(Participation.id == participation.id)
                       .values(state=Participation.state).execution_options(synchronize_session=False))
    if request is not None and db.session.execute(update(CorrectionRequest).where(
            CorrectionRequest.id == request.id, CorrectionRequest.state == "pending")
            .values(state="applied", decided_at=utcnow())).rowcount != 1:
        db.session.rollback()  # applied by a concurrent correction
        raise InvalidState({"state": "applied"})
    delta = _hours(hours) - _hours(_ledger_total(participation.id))
    entry = HoursEntry(user_id=participation.user_id, task_id=participation.task_id,
                       participation_id=participation.id, community_id=participation.task.community_id,
                       kind="correction", hours=delta, reason=reason, recorded_by_id=actor.id)
    db.session.add(entry)
    notify([participation.user_id], "hours_corrected", task_id=participation.task_id,
           hours=str(_hours(hours)), reason=reason)
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
    _managed(actor, request.participation_id)
    if request.state != "pending":
        raise InvalidState({"state": request.state})
    request.state, request.decided_at = "rejected", utcnow()
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


def volunteer_stats(actor: User, org_id: int, day_from: dt.datetime, day_to: dt.datetime) -> dict:
    """The district's figures for a subtree and period, each an indexed query."""
    org = visible_node(actor, org_id, "stats.read")
    in_tree = subtree_clause(OrgNode.path, org.path)
    if day_to <= day_from:
        raise ValidationFailed({"fields": {"to": ["Must be after 'from'."]}})
    # a member volunteer is one whose identity is active now (not when they registered)
    active_member = MemberIdentity.status == "active"
    members, others = db.session.execute(
        select(func.count(Volunteer.id).filter(active_member),
               func.count(Volunteer.id).filter(or_(MemberIdentity.id.is_(None), ~active_member)))
        .join(Volunteer.community)
        .outerjoin(MemberIdentity, MemberIdentity.user_id == Volunteer.user_id)
        .where(in_tree, Volunteer.created_at < day_to)).one()
    hours = db.session.scalar(
        select(func.coalesce(func.sum(HoursEntry.hours), 0))
        .join(OrgNode, OrgNode.id == HoursEntry.community_id)
        .where(in_tree, HoursEntry.created_at >= day_from, HoursEntry.created_at < day_to))
    person_times, average = db.session.execute(
        select(func.count(Participation.id), func.avg(Participation.score))
        .join(Task, Task.id == Participation.task_id).join(OrgNode, OrgNode.id == Task.community_id)
        .where(in_tree, Participation.state == "confirmed",
               Participation.confirmed_at >= day_from, Participation.confirmed_at < day_to)).one()
    requests = dict(db.session.execute(
        select(HelpRequest.state, func.count(HelpRequest.id)).join(HelpRequest.community)
        .where(in_tree, HelpRequest.created_at >= day_from, HelpRequest.created_at < day_to)
        .group_by(HelpRequest.state)).all())
    tasks = dict(db.session.execute(
        select(Task.state, func.count(Task.id)).join(Task.community)
        .where(in_tree, Task.starts_at >= day_from, Task.starts_at < day_to)
        .group_by(Task.state)).all())
    return {
        "org_id": org.id, "from": day_from, "to": day_to,
        "volunteers": {"members": members, "others": others, "total": members + others},
        "person_times": person_times, "hours": _hours(hours),
        "average_rating": round(float(average), 2) if average is not None else None,
        "requests_by_state": requests, "tasks_by_state": tasks,
    }
