"""Tasks (派单): creating, editing and moving them through their states.

Rules:
* A task moves ``draft`` → ``published`` → ``in_progress`` → ``completed``,
  or to ``cancelled`` from any open state; cancelling cancels and tells
  everyone who accepted, waits or served but was not yet credited.
* Every state change is a row of the tables in :mod:`app.tasks.machines`,
  claimed by one conditional UPDATE: of concurrent changes one wins, the
  others answer 409 ``state_changed``.
* ``places`` never drops below ``places_taken``: the edit is conditional on
  it and answers 409 ``places_below_taken`` otherwise.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal, select, update

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, can
from app.common import signed_codes
from app.common.db import utcnow
from app.common.geo import Point, to_gcj02
from app.common.transitions import StateChanged
from app.common.work import unit_of_work
from app.errors import NotFound, field_error
from app.extensions import db
from app.moderation import services as moderation
from app.orgs.services import visible_node
from app.subscriptions.services import announce
from app.tasks.accepting import promote_waitlist
from app.tasks.errors import EndsBeforeStart, NotACommunity, PlacesBelowTaken
from app.tasks.machines import HELP_REQUEST, PARTICIPATION, TASK
from app.tasks.models import HelpRequest, Participation, Task
from app.tasks.rules import HOLDING_PLACE, as_hours

TASK_FIELDS = ("title", "description", "category", "address", "radius_m", "starts_at", "ends_at",
               "places", "required_skills", "members_only", "hours_credited")


def create_task(actor: User, fields: dict) -> Task:
    """A draft task in a community of the actor's subtree, optionally made from
    a submitted help request (which then becomes ``dispatched``)."""
    request = None
    if fields.get("help_request_id") is not None:
        request = db.session.get(HelpRequest, fields["help_request_id"])
        if request is None:
            raise NotFound()
        authorize(actor, "tasks.manage", request.community)
        HELP_REQUEST.check(request, "dispatch")
        community = request.community
    else:
        if fields.get("community_id") is None:
            raise field_error("community_id", "Required unless the task comes from a help request.")
        community = visible_node(actor, fields["community_id"], "tasks.manage")
        if community.kind != "community":
            raise NotACommunity()
    values = {k: fields[k] for k in TASK_FIELDS if fields.get(k) is not None}
    if request is not None:
        values.setdefault("category", request.category)
        values.setdefault("description", request.description)
        values.setdefault("address", request.address)
    if "category" not in values:
        raise field_error("category", "Missing data for required field.")
    location = fields.get("location")
    if location:
        point = to_gcj02(location)
    elif request is not None and request.lat is not None and request.lng is not None:
        point = Point(request.lat, request.lng)
    else:
        raise field_error("location", "Missing data for required field.")
    if values["ends_at"] <= values["starts_at"]:
        raise EndsBeforeStart()
    duration = (values["ends_at"] - values["starts_at"]).total_seconds() / 3600
    values["hours_credited"] = as_hours(values.get("hours_credited", duration))
    verdict = moderation.check_text("task", {"title": values.get("title"),
                                             "description": values.get("description")}, actor)
    task = Task(community_id=community.id, help_request_id=request.id if request else None,
                lat=point.lat, lng=point.lng, code_key=signed_codes.new_key(),
                created_by_id=actor.id, state="draft", places_taken=0, **values)
    with unit_of_work():
        if request is not None:
            HELP_REQUEST.apply(request, "dispatch", decided_at=utcnow())
        db.session.add(task)
        moderation.record(verdict, task, org_id=community.id, author_id=actor.id)
        audit.record(actor, "task.create", task, org_id=community.id, after=audit.state(task))
    moderation.after_commit(verdict)
    return task


def managed_task(actor: User, task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound()
    authorize(actor, "tasks.manage", task.community)
    return task


def visible_task(user: User, task_id: int) -> Task:
    """Published tasks are public; drafts only for the community's admins;
    a task whose text is held for review only for its author and the admins."""
    task = db.session.get(Task, task_id)
    if task is None or (task.state == "draft" and not can(user, "tasks.manage", task.community)):
        raise NotFound()
    if not moderation.may_see(user, task, task.created_by_id, task.community):
        raise NotFound()
    return task


def transition_task(actor: User, task_id: int, action: str, reason: str | None = None) -> Task:
    """Publish, start, complete or cancel a task (the organizer). Cancelling
    cancels every participation not yet credited and tells those people;
    completing or cancelling closes the task's help request. Of concurrent
    transitions one wins (``complete`` and ``cancel`` at once: only one)."""
    task = managed_task(actor, task_id)
    values: dict[str, Any] = {}
    if action == "publish":
        values["published_at"] = utcnow()
    if action == "cancel":
        values["cancel_reason"] = reason
    with unit_of_work():
        before = audit.snapshot(task, "state")
        TASK.claim(task, action, **values)
        audit.record(actor, f"task.{action}", task, org_id=task.community_id, before=before,
                     after={**audit.snapshot(task, "state"), **({"reason": reason} if action == "cancel" else {})})
        if action == "cancel":
            people = PARTICIPATION.apply_all("cancel", Participation.task_id == task.id)
            # only the credited keep their places
            db.session.execute(update(Task).where(Task.id == task.id).values(places_taken=(
                select(func.count(Participation.id)).where(
                    Participation.task_id == task.id, Participation.state.in_(HOLDING_PLACE))
                .scalar_subquery())).execution_options(synchronize_session=False))
            db.session.refresh(task, ["places_taken"])
            announce([p.user_id for p in people], "task_cancelled", task.id,
                     {"title": task.title, "status": "已取消", "time": task.starts_at, "note": reason},
                     task_id=task.id, title=task.title, reason=reason)
        if action in ("complete", "cancel") and task.help_request_id:
            request = db.session.get_one(HelpRequest, task.help_request_id)
            if "close" in HELP_REQUEST.possible(request):
                HELP_REQUEST.apply(request, "close")
            if action == "complete":
                announce([request.requester_id], "help_request_completed", request.id,
                         {"title": task.title, "status": "已完成", "time": utcnow(),
                          "note": "请确认并评价志愿服务"},
                         request_id=request.id, task_id=task.id, title=task.title)
    return task


def update_task(actor: User, task_id: int, fields: dict) -> Task:
    """Edit a draft or published task. The edit is one conditional UPDATE:
    ``places`` never drops below the places taken, even while volunteers
    accept (409 ``places_below_taken``); new places go to the waitlist first."""
    task = managed_task(actor, task_id)
    TASK.check(task, "edit")
    values = {key: fields[key] for key in TASK_FIELDS if fields.get(key) is not None}
    if fields.get("location"):
        point = to_gcj02(fields["location"])
        values.update(lat=point.lat, lng=point.lng)
    if values.get("ends_at", task.ends_at) <= values.get("starts_at", task.starts_at):
        raise EndsBeforeStart()
    places = values.get("places")
    if places is not None and places < task.places_taken:
        raise PlacesBelowTaken({"places": places, "places_taken": task.places_taken})
    more_places = places is not None and places > task.places
    audited = audit.state(task)
    before = {key: getattr(task, key) for key in CHANGES_TOLD}
    verdict = moderation.check_text("task", {"title": values.get("title"),
                                             "description": values.get("description")}, actor)
    with unit_of_work():
        try:
            TASK.claim(task, "edit", where=[literal(places) >= Task.places_taken] if places else [],
                       **values)
        except StateChanged as lost:
            if places is None or lost.details["state"] not in TASK["edit"].sources:
                raise
            taken = db.session.scalar(select(Task.places_taken).where(Task.id == task.id))
            raise PlacesBelowTaken({"places": places, "places_taken": taken}) from None
        if "starts_at" in values or "ends_at" in values:
            db.session.execute(update(Participation).where(Participation.task_id == task.id)
                               .values(starts_at=task.starts_at, ends_at=task.ends_at)
                               .execution_options(synchronize_session=False))
        if more_places and task.state == "published":
            promote_waitlist(task)
        db.session.flush()
        audit.record_change(actor, "task.update", task, audited, org_id=task.community_id)
        _tell_change(task, before)
        moderation.record(verdict, task, org_id=task.community_id, author_id=actor.id)
    moderation.after_commit(verdict)
    return task


# What volunteers who joined a task are told of when it changes: its time and place.
CHANGES_TOLD = ("starts_at", "ends_at", "address", "lat", "lng")


def _tell_change(task: Task, before: dict) -> None:
    """Tell those holding a place or waiting for one that the task's time or
    place changed (not its description or places)."""
    changed = [key for key in CHANGES_TOLD if getattr(task, key) != before[key]]
    if not changed:
        return
    people = db.session.scalars(select(Participation.user_id).where(
        Participation.task_id == task.id, Participation.state.in_(("accepted", "waitlisted")))).all()
    what = "时间" if {"starts_at", "ends_at"} & set(changed) else ""
    what += "地点" if {"address", "lat", "lng"} & set(changed) else ""
    announce(people, "task_changed", task.id,
             {"title": task.title, "status": f"{what}变更", "time": task.starts_at,
              "note": task.address or "地点已更新"},
             version=int(utcnow().timestamp()), task_id=task.id, title=task.title,
             changed=changed, starts_at=task.starts_at.isoformat(), ends_at=task.ends_at.isoformat(),
             address=task.address)
