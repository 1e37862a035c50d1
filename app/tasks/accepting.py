"""Acceptance (接单), withdrawal and the waitlist.

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
* Every state change is a transition of :mod:`app.tasks.machines`; one of
  concurrent changes wins, the others answer 409 ``state_changed``.

On PostgreSQL a first acceptance is two statements (the hottest write path
after the check-in): one claims the place or the waitlist spot and the
volunteer's lock with every guard in its WHERE, the next writes the
participation unless it overlaps (it must be a statement of its own: only
a new statement's snapshot sees what the volunteer's lock waited for).
What those cannot settle (a return after withdrawing, a change made
meanwhile) goes the general way, the only one on SQLite.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from flask import current_app
from sqlalchemy import Select, Table, bindparam, exists, false, func, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import User
from app.common.db import utcnow
from app.common.transitions import StateChanged
from app.common.work import unit_of_work
from app.errors import ApiError, NotFound
from app.extensions import db
from app.members.services import identity_of
from app.subscriptions.services import announce
from app.tasks.errors import MembersOnly, NotAVolunteer, ScheduleConflict, TaskFull, TaskNotOpen, WithdrawCutoffPassed
from app.tasks.machines import PARTICIPATION, TASK
from app.tasks.models import HelpRequest, Participation, Task, Volunteer
from app.tasks.rules import HOLDING_PLACE, overlapping, participation_of


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
    if db.session.get_bind().dialect.name == "postgresql":
        accepted = _accept_on_postgresql(user, task_id, waitlist)
        if accepted is not None:
            return accepted
    volunteer = db.session.scalar(select(Volunteer.id).where(Volunteer.user_id == user.id))
    if volunteer is None:
        raise NotAVolunteer()
    task = db.session.get(Task, task_id)
    if task is None or task.state == "draft":
        raise NotFound()
    existing = participation_of(task.id, user.id)
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
    values: dict[str, Any] = {"starts_at": task.starts_at, "ends_at": task.ends_at, "accepted_at": utcnow()}
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
                return _held(task.id, user.id), False
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
        return _held(task.id, user.id), False
    return participation, True


_TASKS = cast(Table, Task.__table__)
_VOLUNTEERS = cast(Table, Volunteer.__table__)
_PARTICIPATIONS = cast(Table, Participation.__table__)
# What the answer (the task's title) and the requester's notice read of the claimed task.
_TASK_COLUMNS = ("id", "title", "starts_at", "ends_at", "help_request_id")


def _accept_on_postgresql(user: User, task_id: int, waitlist: bool) -> tuple[Participation, bool] | None:
    """A first acceptance in two statements; None, with nothing written, when
    the general path must judge (a participation exists, or the task changed
    between the statement's snapshot and its claim, or the waitlist spot was
    not claimed). The answers are the general path's, in its order."""
    now = utcnow()
    identity = user.identity  # loaded with the request's user, as the check-in reads it
    member = identity is not None and identity.is_active
    row = db.session.execute(_claim_statement(), {
        "p_task": task_id, "p_user": user.id, "p_now": now, "p_member": member,
        "p_waitlist": waitlist}).one()
    if row.id is None:  # nothing claimed, nothing written: say why
        if row.volunteer_id is None:
            raise NotAVolunteer()
        if row.seen_state is None or row.seen_state == "draft":
            raise NotFound()
        if row.existing_state is not None:
            return None  # a repeat, or a return after withdrawing
        if row.seen_state != "published":
            raise TaskNotOpen({"state": row.seen_state})
        if now >= row.seen_starts_at:
            raise TaskNotOpen({"state": "started"})
        if row.seen_members_only and not member:
            raise MembersOnly()
        if row.seen_full and not waitlist:
            raise TaskFull({"waitlist_available": True})
        return None  # changed meanwhile
    task = Task(**{key: getattr(row, key) for key in _TASK_COLUMNS})  # as claimed; not in the session
    state = "accepted" if row.took_place else "waitlisted"
    written = db.session.execute(_participation_statement(), {
        "p_task": task_id, "p_user": user.id, "p_state": state, "p_starts": task.starts_at,
        "p_ends": task.ends_at, "p_now": now}).one()
    if written.conflict:
        db.session.rollback()  # gives the place back
        raise ScheduleConflict()
    if written.id is None:  # the same volunteer's concurrent accept won
        db.session.rollback()
        return _held(task_id, user.id), False
    if state == "accepted" and task.help_request_id:
        _tell_requester(task)
    db.session.commit()
    # the row as written: the statement's values, and the id it returned
    participation = Participation(id=written.id, task_id=task_id, task=task, user_id=user.id, state=state,
                                  starts_at=task.starts_at, ends_at=task.ends_at, accepted_at=now,
                                  needs_review=False, content_state="visible")
    return participation, True


def _returned(tasks) -> list:
    return [tasks[key] for key in _TASK_COLUMNS]


@functools.cache
def _claim_statement() -> Select:
    """Claim a place (or, when full and asked for, a waitlist spot) and then
    the volunteer's lock, in the lock order of :mod:`app.tasks.machines`; the
    task's row is claimed only if the volunteer exists and has no
    participation in it, the task is published and not started, and a
    ``members_only`` task has an active member. The row also gives the task
    as the snapshot saw it, for the answer when nothing was claimed."""
    tasks = _TASKS.c
    user_id = bindparam("p_user", type_=_VOLUNTEERS.c.user_id.type)
    task_id = bindparam("p_task", type_=tasks.id.type)
    volunteer = select(Volunteer.id).where(Volunteer.user_id == user_id).scalar_subquery()
    existing = (select(Participation.state)
                .where(Participation.task_id == task_id, Participation.user_id == user_id).scalar_subquery())
    guards = (tasks.id == task_id, tasks.state == "published",
              tasks.starts_at > bindparam("p_now", type_=tasks.starts_at.type),
              or_(tasks.members_only == false(), bindparam("p_member", type_=tasks.members_only.type)),
              exists(select(Volunteer.id).where(Volunteer.user_id == user_id)),
              ~exists(select(Participation.id).where(Participation.task_id == task_id,
                                                     Participation.user_id == user_id)))
    place = (update(_TASKS).where(*guards, tasks.places_taken < tasks.places)
             .values(places_taken=tasks.places_taken + 1).returning(*_returned(tasks)).cte("place"))
    # full (its own WHERE is the opposite of the place's, so never both): the row is held until the commit
    spot = (update(_TASKS)
            .where(*guards, tasks.places_taken >= tasks.places,
                   bindparam("p_waitlist", type_=tasks.members_only.type))
            .values(state=tasks.state).returning(*_returned(tasks)).cte("spot"))
    claimed = select(*place.c, true().label("took_place")).union_all(
        select(*spot.c, false().label("took_place"))).cte("claimed")
    volunteers = _VOLUNTEERS.c
    lock = (update(_VOLUNTEERS).where(volunteers.user_id == user_id, exists(select(claimed.c.id)))
            .values(user_id=volunteers.user_id).returning(volunteers.id).cte("lock"))
    seen = select(tasks.state.label("seen_state"), tasks.starts_at.label("seen_starts_at"),
                  tasks.members_only.label("seen_members_only"),
                  (tasks.places_taken >= tasks.places).label("seen_full")).where(tasks.id == task_id).cte("seen")
    asked = select(volunteer.label("volunteer_id"), existing.label("existing_state")).cte("asked")
    return (select(asked, seen, claimed)
            .select_from(asked.outerjoin(seen, true()).outerjoin(claimed, true()))
            .add_cte(lock))


@functools.cache
def _participation_statement() -> Select:
    """Write the participation unless the volunteer holds an overlapping place
    (their lock is held, so this statement's snapshot sees their latest
    places); nothing when their concurrent accept of this task won. The row
    says which."""
    columns = _PARTICIPATIONS.c
    user_id = bindparam("p_user", type_=columns.user_id.type)
    task_id = bindparam("p_task", type_=columns.task_id.type)
    starts = bindparam("p_starts", type_=columns.starts_at.type)
    ends = bindparam("p_ends", type_=columns.ends_at.type)
    overlap = exists(select(Participation.id).where(
        Participation.user_id == user_id, Participation.task_id != task_id,
        Participation.state.in_(("accepted", "checked_in")),
        Participation.starts_at < ends, Participation.ends_at > starts))
    conflict = select(overlap.label("conflict")).cte("conflict")
    row = select(task_id, user_id, bindparam("p_state", type_=columns.state.type), starts, ends,
                 bindparam("p_now", type_=columns.accepted_at.type), false(), literal("visible")
                 ).select_from(conflict).where(conflict.c.conflict == false())
    written = (postgresql.insert(_PARTICIPATIONS)
               .from_select(["task_id", "user_id", "state", "starts_at", "ends_at", "accepted_at",
                             "needs_review", "content_state"], row)
               .on_conflict_do_nothing(index_elements=["task_id", "user_id"])
               .returning(columns.id).cte("written"))
    return select(conflict, written).select_from(conflict.outerjoin(written, true()))


def _held(task_id: int, user_id: int) -> Participation:
    """The participation a concurrent request of the same volunteer committed first."""
    return db.session.scalars(select(Participation).where(
        Participation.task_id == task_id, Participation.user_id == user_id)).one()


def _tell_requester(task: Task) -> None:
    """The resident who asked for help learns that a volunteer took it (接单):
    an in-app notice per volunteer, one subscribe message per request."""
    request = db.session.get_one(HelpRequest, task.help_request_id)
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
        ranked: dict[int, int] = dict(db.session.execute(select(Participation.id, rank).where(
            Participation.task_id.in_({p.task_id for p in waiting}),
            Participation.state == "waitlisted")).all())
        for participation in waiting:
            participation.__dict__["waitlist_position"] = ranked.get(participation.id)
    return participations


def withdraw(user: User, task_id: int) -> Participation:
    """Give a place back (until the cutoff); the first on the waitlist gets it.
    Of concurrent withdrawals of one participation one frees the place."""
    participation = participation_of(task_id, user.id)
    if participation is None or participation.state not in ("accepted", "waitlisted"):
        raise NotFound()
    task = participation.task
    cutoff = dt.timedelta(seconds=current_app.config["WITHDRAW_CUTOFF"])
    if participation.state == "accepted" and utcnow() > task.starts_at - cutoff:
        raise WithdrawCutoffPassed({"cutoff_hours": round(cutoff.total_seconds() / 3600, 1)})
    with unit_of_work():
        release_place(participation)
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
