"""Volunteers, help requests (点单) and tasks (派单).

Rules:
* A help request moves ``submitted`` → ``dispatched`` (it became a task) |
  ``rejected`` (with a reason) | ``cancelled`` (by the resident), and
  ``dispatched`` → ``closed`` when its task completes or is cancelled.
* The resident's phone is shown in full only to volunteers who accepted the
  task made from the request; everyone else sees it masked.
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

import base64
import json
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, exists, func, literal, select, update

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, can, scope_clause, subtree_clause
from app.common import signed_codes
from app.common.db import utcnow
from app.common.geo import Point, bounding_box, distance_m, to_gcj02
from app.common.pagination import Page, keyset_page
from app.common.transitions import StateChanged
from app.errors import ApiError, Conflict, NotFound, ValidationFailed, field_error
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.members.services import identity_of
from app.moderation import services as moderation
from app.notices.services import notify
from app.orgs.models import OrgNode
from app.orgs.services import get_node, visible_node
from app.subscriptions.services import announce
from app.tasks.machines import (  # noqa: F401 (InvalidState, OPEN_TASK_STATES: named here by views)
    HELP_REQUEST,
    OPEN_TASK_STATES,
    PARTICIPATION,
    TASK,
    InvalidState,
)
from app.tasks.models import HelpRequest, Participation, Task, Volunteer

HOLDING_PLACE = ("accepted", "checked_in", "checked_out", "confirmed")


class NotACommunity(ValidationFailed):
    code = "not_a_community"
    zh = "请选择一个社区。"
    en = "Choose a community."


class PlacesBelowTaken(Conflict):
    code = "places_below_taken"
    zh = "已有 {places_taken} 人接单，名额不能少于此数（您设为 {places}）。"
    en = "{places_taken} places are taken; places cannot be fewer (you asked for {places})."


class EndsBeforeStart(ValidationFailed):
    code = "ends_before_start"
    zh = "结束时间必须晚于开始时间。"
    en = "The end must be after the start."


def _community(community_id: int) -> OrgNode:
    node = db.session.get(OrgNode, community_id)
    if node is None or node.kind != "community":
        raise NotACommunity()
    return node


def _hours(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---- volunteers ----------------------------------------------------------------

def register_volunteer(user: User, community_id: int, skills: list[str],
                       availability: str, name: str | None = None) -> tuple[Volunteer, bool]:
    """Register (or update) the user as a volunteer; members are marked 党员志愿者.
    New or changed skills pass the content check first."""
    community = _community(community_id)
    identity = identity_of(user.id)
    volunteer = db.session.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    created = volunteer is None
    skills = sorted(set(skills))
    changed = created or skills != volunteer.skills
    verdict = moderation.check_text("volunteer", {"skills": skills if changed else None}, user)
    if created:
        volunteer = Volunteer(user_id=user.id)
        db.session.add(volunteer)
    volunteer.community = community  # the relationship too: sessions keep objects after commit
    volunteer.skills = skills
    volunteer.availability = availability
    if name is not None:
        volunteer.name = name.strip() or None
    volunteer.is_member = bool(identity and identity.is_active)
    moderation.record(verdict, volunteer, org_id=community.id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return volunteer, created


def my_volunteer(user: User) -> Volunteer:
    volunteer = db.session.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    if volunteer is None:
        raise NotFound()
    return volunteer


# ---- help requests -------------------------------------------------------------

def create_help_request(user: User, fields: dict) -> HelpRequest:
    community = _community(fields["community_id"])
    if fields["window_end"] <= fields["window_start"]:
        raise EndsBeforeStart()
    phone = phones.normalize(fields["contact_phone"])
    if phone is None:
        raise field_error("contact_phone", "Not a mainland mobile number.")
    verdict = moderation.check_text("help_request", {"description": fields["description"],
                                                     "address": fields.get("address")}, user)
    request = HelpRequest(requester_id=user.id, community_id=community.id,
                          category=fields["category"], description=fields["description"],
                          address=fields.get("address", ""), window_start=fields["window_start"],
                          window_end=fields["window_end"], phone_encrypted=phones.encrypt(phone),
                          phone_masked=phones.mask(phone))
    if fields.get("location"):
        point = to_gcj02(fields["location"])
        request.lat, request.lng = point.lat, point.lng
    db.session.add(request)
    moderation.record(verdict, request, org_id=community.id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return request


def visible_help_request(user: User, request_id: int) -> HelpRequest:
    """The request if the user asked it, administers its community or accepted
    its task. Only a volunteer holding a place on one of its tasks sees the
    phone in full (``phone_visible``), and only until that task ends: once it
    is completed or cancelled, or its ``ends_at`` has passed, they see the
    masked phone like everyone else (the help is over; the record stays)."""
    request = db.session.get(HelpRequest, request_id)
    if request is None:
        raise NotFound()
    holding = (Participation.user_id == user.id, Participation.state.in_(HOLDING_PLACE),
               Participation.task_id == Task.id, Task.help_request_id == request.id)
    accepted = db.session.scalar(select(exists().where(*holding)))
    if not (request.requester_id == user.id or accepted or can(user, "tasks.manage", request.community)):
        raise NotFound()
    if not moderation.may_see(user, request, request.requester_id, request.community):
        raise NotFound()  # held for review: only its author and the admins
    if accepted and db.session.scalar(select(exists().where(
            *holding, Task.state.notin_(("completed", "cancelled")), Task.ends_at > utcnow()))):
        request.phone_visible = phones.decrypt(request.phone_encrypted)
    return request


def cancel_help_request(user: User, request_id: int) -> HelpRequest:
    """The resident withdraws a request not yet dispatched."""
    request = db.session.get(HelpRequest, request_id)
    if request is None or request.requester_id != user.id:
        raise NotFound()
    try:
        HELP_REQUEST.apply(request, "cancel", decided_at=utcnow())
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return request


def reject_help_request(actor: User, request_id: int, reason: str) -> HelpRequest:
    """The community declines a submitted request; the resident is told why.
    Of concurrent decisions (dispatch, reject, the resident's cancel) one wins."""
    request = db.session.get(HelpRequest, request_id)
    if request is None:
        raise NotFound()
    authorize(actor, "tasks.manage", request.community)
    try:
        HELP_REQUEST.apply(request, "reject", reject_reason=reason, decided_at=utcnow())
    except ApiError:
        db.session.rollback()
        raise
    audit.record(actor, "help_request.reject", request, org_id=request.community_id,
                 before={"state": "submitted"}, after={"state": "rejected", "reason": reason})
    notify([request.requester_id], "help_request_rejected", request_id=request.id, reason=reason)
    db.session.commit()
    return request


def list_help_requests(actor: User, community_id: int | None, state: str | None, mine: bool,
                       limit: int, cursor: str | None) -> Page:
    stmt = select(HelpRequest)
    if mine:
        stmt = stmt.where(HelpRequest.requester_id == actor.id)
    else:
        stmt = stmt.join(HelpRequest.community).where(scope_clause(actor, "tasks.manage", OrgNode.path))
        if community_id is not None:
            stmt = stmt.where(HelpRequest.community_id == community_id)
    if state:
        stmt = stmt.where(HelpRequest.state == state)
    return keyset_page(stmt, (HelpRequest.id,), limit, cursor, descending=True)


# who the resident sees on the task made from their request: not the waitlist,
# nor those who withdrew, nor places a cancelled task took back
SERVING = ("accepted", "checked_in", "checked_out", "confirmed", "no_show")


def help_request_volunteers(user: User, request_id: int, limit: int, cursor: str | None) -> Page:
    """The volunteers on the task a request became, for the resident who asked
    (they confirm and rate each one who served: 评单) and the community's
    admins; anyone else gets 404. Party-member volunteers come with their
    masked name (as a badge shows it); a request not dispatched has none."""
    request = db.session.get(HelpRequest, request_id)
    if request is None or not (request.requester_id == user.id
                               or can(user, "tasks.manage", request.community)):
        raise NotFound()
    stmt = (select(Participation).join(Task, Task.id == Participation.task_id)
            .where(Task.help_request_id == request.id, Participation.state.in_(SERVING)))
    page = keyset_page(stmt, (Participation.id,), limit, cursor)
    user_ids = [p.user_id for p in page.items]
    names = dict(db.session.execute(
        select(MemberIdentity.user_id, RosterEntry.name).join(MemberIdentity.roster_entry)
        .where(MemberIdentity.user_id.in_(user_ids), MemberIdentity.status == "active")).all()) \
        if user_ids else {}
    for participation in page.items:
        name = names.get(participation.user_id)
        participation.volunteer_name = phones.mask_name(name) if name else None
    return page


# ---- tasks ---------------------------------------------------------------------

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
    elif request is not None and request.lat is not None:
        point = Point(request.lat, request.lng)
    else:
        raise field_error("location", "Missing data for required field.")
    if values["ends_at"] <= values["starts_at"]:
        raise EndsBeforeStart()
    duration = (values["ends_at"] - values["starts_at"]).total_seconds() / 3600
    values["hours_credited"] = _hours(values.get("hours_credited", duration))
    verdict = moderation.check_text("task", {"title": values.get("title"),
                                             "description": values.get("description")}, actor)
    task = Task(community_id=community.id, help_request_id=request.id if request else None,
                lat=point.lat, lng=point.lng, code_key=signed_codes.new_key(),
                created_by_id=actor.id, state="draft", places_taken=0, **values)
    if request is not None:
        try:
            HELP_REQUEST.apply(request, "dispatch", decided_at=utcnow())
        except ApiError:
            db.session.rollback()
            raise
    db.session.add(task)
    moderation.record(verdict, task, org_id=community.id, author_id=actor.id)
    audit.record(actor, "task.create", task, org_id=community.id, after=audit.state(task))
    db.session.commit()
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
    values = {}
    if action == "publish":
        values["published_at"] = utcnow()
    if action == "cancel":
        values["cancel_reason"] = reason
    try:
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
            request = db.session.get(HelpRequest, task.help_request_id)
            if "close" in HELP_REQUEST.possible(request):
                HELP_REQUEST.apply(request, "close")
            if action == "complete":
                announce([request.requester_id], "help_request_completed", request.id,
                         {"title": task.title, "status": "已完成", "time": utcnow(),
                          "note": "请确认并评价志愿服务"},
                         request_id=request.id, task_id=task.id, title=task.title)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
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
    try:
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
            from app.tasks.participations import (
                promote_waitlist,  # (that module imports this one)
            )

            promote_waitlist(task)
        db.session.flush()
        audit.record_change(actor, "task.update", task, audited, org_id=task.community_id)
        _tell_change(task, before)
        moderation.record(verdict, task, org_id=task.community_id, author_id=actor.id)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
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


def list_tasks(user: User, *, community_id: int | None, state: str | None, category: str | None,
               open_only: bool, near: Point | None, radius_m: float, limit: int,
               cursor: str | None) -> Page:
    """Tasks by community, state, category; ``open_only`` keeps published
    tasks with places left; ``near`` sorts by distance (within ``radius_m``)."""
    stmt = select(Task)
    if state == "draft":
        stmt = stmt.join(Task.community).where(
            Task.state == "draft", scope_clause(user, "tasks.manage", OrgNode.path))
    elif state:
        stmt = stmt.where(Task.state == state)
    else:
        stmt = stmt.where(Task.state != "draft")
    if community_id is not None:
        community = get_node(community_id)
        stmt = stmt.where(Task.community_id.in_(
            select(OrgNode.id).where(subtree_clause(OrgNode.path, community.path))))
    if category:
        stmt = stmt.where(Task.category == category)
    if open_only:
        stmt = stmt.where(Task.state == "published", Task.places_taken < Task.places)
    stmt = stmt.where(moderation.shown_clause(user, Task.content_state, Task.created_by_id,
                                              Task.community_id))
    if near is None:
        return keyset_page(stmt, (Task.starts_at, Task.id), limit, cursor)
    min_lat, max_lat, min_lng, max_lng = bounding_box(near, radius_m)
    rows = db.session.scalars(stmt.where(Task.lat.between(min_lat, max_lat),
                                         Task.lng.between(min_lng, max_lng)).limit(2000)).all()
    after = _decode_near_cursor(cursor) if cursor else None
    ranked = sorted((distance_m(near, Point(t.lat, t.lng)), t.id, t) for t in rows)
    ranked = [r for r in ranked if r[0] <= radius_m and (after is None or (r[0], r[1]) > after)]
    for distance, _, task in ranked[:limit]:
        task.distance_m = round(distance)
    next_cursor = _encode_near_cursor(*ranked[limit - 1][:2]) if len(ranked) > limit else None
    return Page([task for _, _, task in ranked[:limit]], next_cursor)


# ``near`` lists are keyset-paged on (distance, id), computed in Python.
def _encode_near_cursor(distance: float, task_id: int) -> str:
    raw = json.dumps(["near", distance, task_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_near_cursor(cursor: str) -> tuple[float, int]:
    try:
        tag, distance, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if tag != "near" or not isinstance(distance, (int, float)) or isinstance(distance, bool) \
                or not isinstance(task_id, int) or isinstance(task_id, bool):
            raise ValueError
        return float(distance), task_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise field_error("cursor", "Not a cursor this list gave out.") from None


def my_tasks(user: User, state: str | None, limit: int, cursor: str | None) -> Page:
    """The volunteer's participations; a rating's comment held for review is
    not shown to them (they did not write it)."""
    stmt = select(Participation).where(Participation.user_id == user.id)
    if state:
        stmt = stmt.where(Participation.state == state)
    page = keyset_page(stmt, (Participation.id,), limit, cursor, descending=True)
    for participation in page.items:
        participation.comment_hidden = moderation.is_hidden(participation)
    return page


def task_participants(actor: User, task_id: int, limit: int, cursor: str | None) -> Page:
    task = managed_task(actor, task_id)
    stmt = select(Participation).where(Participation.task_id == task.id)
    return keyset_page(stmt, (Participation.id,), limit, cursor)


def overlapping(user_id: int, task: Task):
    """Places the user holds on other tasks whose time overlaps ``task``."""
    return select(Participation.id).where(
        Participation.user_id == user_id, Participation.task_id != task.id,
        Participation.state.in_(("accepted", "checked_in")),
        and_(Participation.starts_at < task.ends_at, Participation.ends_at > task.starts_at))

