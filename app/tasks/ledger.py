"""Confirmation (评单) and the hours ledger.

Rules:
* Only a confirmed participation counts: it writes one credit into the
  append-only ledger and is one person-time. Corrections are new entries.
* What is outside the caller's scope answers 404, never 403.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import can, roles_over
from app.common.counters import add_to_rows
from app.common.db import LOCAL_TZ, utcnow
from app.common.pagination import Page, keyset_page
from app.common.work import unit_of_work
from app.errors import NotFound
from app.extensions import db
from app.moderation import services as moderation
from app.notices.services import notify
from app.tasks.errors import NeedsReview, NotYourParticipation
from app.tasks.machines import CORRECTION_REQUEST, PARTICIPATION, InvalidState
from app.tasks.models import CorrectionRequest, HelpRequest, HoursEntry, Participation, VolunteerDaily
from app.tasks.publishing import managed_task
from app.tasks.rules import as_hours, managed_participation


def credited_hours(participation: Participation) -> Decimal:
    """Actual service time, never more than the task credits per person."""
    if participation.checked_in_at is None or participation.checked_out_at is None:
        return as_hours(0)  # a time still missing credits nothing
    actual = (participation.checked_out_at - participation.checked_in_at).total_seconds() / 3600
    return min(as_hours(max(actual, 0)), Decimal(participation.task.hours_credited))


def count_daily(community_id: int, at: dt.datetime, hours: Decimal = Decimal(0), person_times: int = 0,
                score: int | None = None) -> None:
    """Add to the community's figures of the local day of ``at``, in the
    caller's transaction: one upsert that adds to the row, so concurrent
    writers on PostgreSQL never lose an increment."""
    add_to_rows(VolunteerDaily, ("community_id", "day"), [{
        "community_id": community_id, "day": at.astimezone(LOCAL_TZ).date(), "hours": hours,
        "person_times": person_times, "score_sum": score or 0, "score_count": int(score is not None)}])


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
    now = utcnow()  # the confirmation's and its credit's time: the day both count on
    with unit_of_work():
        PARTICIPATION.apply(participation, "confirm", where=[Participation.needs_review.is_(False)],
                            score=score, comment=comment, confirmed_by_id=user.id, confirmed_at=now)
        moderation.record(verdict, participation, org_id=task.community_id, author_id=user.id)
        db.session.add(HoursEntry(
            user_id=participation.user_id, task_id=task.id, participation_id=participation.id,
            community_id=task.community_id, kind="credit", hours=credited_hours(participation),
            recorded_by_id=user.id, service_name=task.title, organizer=task.community.name,
            place=task.address, service_started_at=participation.checked_in_at,
            service_ended_at=participation.checked_out_at, created_at=now,
            confirmed_by="requester" if requester is not None else "organizer"))
        count_daily(task.community_id, now, hours=credited_hours(participation), person_times=1, score=score)
        if requester is None:  # the organizer's act; a resident confirming their own request is not an admin's
            audit.record(user, "participation.confirm", participation, org_id=task.community_id,
                         before={"state": "checked_out"},
                         after={"state": "confirmed", "hours": str(credited_hours(participation))})
    moderation.after_commit(verdict)
    return participation


# What a correction copies from the credit it corrects: the record as it was confirmed.
FROZEN_RECORD = ("service_name", "organizer", "place", "service_started_at", "service_ended_at",
                 "confirmed_by")


def _ledger_total(participation_id: int) -> Decimal:
    return db.session.execute(select(func.coalesce(func.sum(HoursEntry.hours), 0)).where(
        HoursEntry.participation_id == participation_id)).scalar_one()


def correct_hours(actor: User, participation_id: int, hours: Decimal, reason: str,
                  request_id: int | None) -> HoursEntry:
    """Set a confirmed participation's hours to ``hours`` by appending the
    difference to the ledger, with the reason; nothing is edited. Corrections
    of one participation apply one after another, each from the latest
    total; a correction request is applied once."""
    participation = managed_participation(actor, participation_id)
    PARTICIPATION.check(participation, "correct")
    request = None
    if request_id is not None:  # checked before anything is written
        request = db.session.get(CorrectionRequest, request_id)
        if request is None or request.participation_id != participation.id:
            raise NotFound()
        CORRECTION_REQUEST.check(request, "apply")
    with unit_of_work():
        # claims the participation's row before its total is read (a self-transition)
        PARTICIPATION.apply(participation, "correct")
        if request is not None:
            CORRECTION_REQUEST.apply(request, "apply", decided_at=utcnow())
        delta = as_hours(hours) - as_hours(_ledger_total(participation.id))
        credit = db.session.scalar(select(HoursEntry).where(
            HoursEntry.participation_id == participation.id, HoursEntry.kind == "credit"))
        now = utcnow()
        entry = HoursEntry(user_id=participation.user_id, task_id=participation.task_id,
                           participation_id=participation.id, community_id=participation.task.community_id,
                           kind="correction", hours=delta, reason=reason, recorded_by_id=actor.id, created_at=now,
                           **{name: getattr(credit, name) for name in FROZEN_RECORD})
        db.session.add(entry)
        count_daily(participation.task.community_id, now, hours=delta)
        audit.record(actor, "participation.correct", participation, org_id=participation.task.community_id,
                     before={"hours": str(as_hours(hours) - delta)},
                     after={"hours": str(as_hours(hours)), "reason": reason, "correction_request_id": request_id})
        notify([participation.user_id], "hours_corrected", task_id=participation.task_id,
               hours=float(as_hours(hours)), reason=reason)  # a JSON number, as everywhere
    return entry


def request_correction(user: User, participation_id: int, hours: Decimal, reason: str) -> CorrectionRequest:
    participation = db.session.get(Participation, participation_id)
    if participation is None or participation.user_id != user.id:
        raise NotFound()
    if participation.state != "confirmed":
        raise InvalidState({"state": participation.state})
    request = CorrectionRequest(participation_id=participation.id, task_id=participation.task_id,
                                user_id=user.id, requested_hours=as_hours(hours), reason=reason)
    db.session.add(request)
    db.session.commit()
    return request


def reject_correction(actor: User, request_id: int) -> CorrectionRequest:
    request = db.session.get(CorrectionRequest, request_id)
    if request is None:
        raise NotFound()
    participation = managed_participation(actor, request.participation_id)
    with unit_of_work():
        CORRECTION_REQUEST.apply(request, "reject", decided_at=utcnow())
        audit.record(actor, "correction_request.reject", request, org_id=participation.task.community_id,
                     before={"state": "pending"}, after={"state": "rejected"})
    return request


def list_corrections(actor: User, task_id: int, limit: int, cursor: str | None) -> Page:
    """The task's correction requests, oldest first (the organizer)."""
    task = managed_task(actor, task_id)
    stmt = select(CorrectionRequest).where(CorrectionRequest.task_id == task.id)
    return keyset_page(stmt, (CorrectionRequest.id,), limit, cursor)


def volunteer_record(user: User, limit: int, cursor: str | None) -> dict:
    """Total hours, person-times and ratings received, beside a page of the
    ledger (newest first) as ``items`` and ``next_cursor``."""
    hours = db.session.scalar(select(func.coalesce(func.sum(HoursEntry.hours), 0))
                              .where(HoursEntry.user_id == user.id))
    confirmed = db.session.execute(
        select(func.count(Participation.id).label("person_times"), func.count(Participation.score).label("rated"),
               func.avg(Participation.score).label("average"))
        .where(Participation.user_id == user.id, Participation.state == "confirmed")).one()
    person_times, rated, average = confirmed.person_times, confirmed.rated, confirmed.average
    ledger = keyset_page(select(HoursEntry).where(HoursEntry.user_id == user.id), (HoursEntry.id,),
                         limit, cursor, descending=True)
    return {"total_hours": as_hours(hours), "person_times": person_times,
            "ratings": {"count": rated, "average": round(float(average), 2) if average else None},
            "items": ledger.items, "next_cursor": ledger.next_cursor}
