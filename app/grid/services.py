"""Grids, their leaders, categories and time limits, and grid events.

The lifecycle (each action says who may take it; an action the state does
not allow answers 409 with the allowed ones):

    unverified --confirm--> reported --accept--> accepted
    reported --reject(reason)--> rejected / --duplicate(of)--> duplicate
    accepted --handle_self--> in_progress / --dispatch(to org or person)--> dispatched
    dispatched --take--> in_progress / --return(reason)--> accepted
    in_progress --extend(hours)--> in_progress, approved by the dispatcher (approve_extension)
    in_progress --resolve(note, photos)--> resolved
    resolved --verify_ok--> closed / --verify_fail(reason)--> dispatched (rework + 1)
    closed --reopen (the reporter, within 7 days)--> accepted
    any open state --escalate(reason)--> same state, owned one level up

The lifecycle is one table, ``MACHINE`` (app/common/transitions.py), and
one handler per action (``HANDLERS``). Taking an action is always: the event
must be visible (else 404), its state must allow the action (409
``action_not_allowed``), the user must be the one its rule names (403); then
the action is claimed by one conditional UPDATE on the state and owner as
read (and the pending extension, for the extension actions), so that of
concurrent actions exactly one wins and the others get 409
``state_changed``; then the handler does the action's work, the timeline
row is written and the whole commits once. Any domain error rolls it back.

Each event is in one timed step: ``accept`` (from the report), ``handle``
(from acceptance, extended by approved extensions) and ``verify`` (from the
resolution). Whether a step finished in time is frozen on the transition
that finished it.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit import log as audit
from app.auth.models import RoleGrant, User
from app.auth.permissions import PERMISSIONS, can, grants_of, roles_over, scope_clause, subtree_clause
from app.common.db import utcnow
from app.common.geo import (
    EARTH_RADIUS_M,
    Point,
    bounding_box,
    contains,
    distance_m,
    polygon_ring,
    to_gcj02,
)
from app.common.pagination import Page, keyset_page
from app.common.transitions import Machine, Transition
from app.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, field_error
from app.extensions import db
from app.grid.models import (
    FINAL_STATES,
    LEADER_ROLES,
    OPEN_STATES,
    EventCategory,
    EventComment,
    EventFollower,
    EventPhoto,
    EventTransition,
    Grid,
    GridEvent,
    GridLeader,
    TimeLimit,
)
from app.moderation import services as moderation
from app.orgs.models import OrgNode
from app.orgs.services import grant_role, insert_node, visible_node
from app.subscriptions.services import announce
from app.uploads import services as uploads
from app.uploads.models import Upload

DEFAULT_CATEGORIES = (
    ("facilities", "设施损坏", "community"),
    ("sanitation", "环境卫生", "community"),
    ("safety", "安全隐患", "community"),
    ("dispute", "邻里纠纷", "community"),
    ("illegal_construction", "违章建筑", "street"),
    ("epidemic", "疫情防控", "community"),
    ("other", "其他", "community"),
)
# urgency -> hours for (accept, handle, verify), when a category has no row of its own
DEFAULT_LIMITS = {"urgent": (1.0, 24.0, 24.0), "normal": (24.0, 120.0, 48.0)}
# Who reports straight to "reported" (everyone else: "unverified"), in the
# order the role is named on the record.
ROLE_ORDER = ("district_admin", "org_admin", "grid_leader", "building_leader", "lane_leader")
REPORTS_CONFIRMED = frozenset(ROLE_ORDER)
DUPLICATE_RADIUS_M = 100
DUPLICATE_DAYS = 7
REOPEN_DAYS = 7
MAX_PHOTOS = 9
CATEGORY_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")  # as CategorySchema.code


class NoGrid(ValidationFailed):
    code = "no_grid"
    zh = "该位置不在任何网格内，且您没有所属网格。"
    en = "This location is in no grid, and you belong to none."


class InvalidBoundary(ValidationFailed):
    code = "invalid_boundary"
    zh = "网格边界不是有效的 GeoJSON 多边形：{why}。"
    en = "The boundary is not a valid GeoJSON Polygon: {why}."


class TooManyPhotos(ValidationFailed):
    code = "too_many_photos"
    zh = "每次最多上传 {max} 张照片。"
    en = "At most {max} photos per report."


class UnknownCategory(ValidationFailed):
    code = "unknown_category"
    zh = "未知的事件类别。"
    en = "Unknown event category."


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"
    zh = "事件当前为“{state}”状态，不能执行“{action}”。"
    en = "The event is {state}; '{action}' is not possible now."


class ReopenExpired(Conflict):
    code = "reopen_expired"
    zh = "结案超过 {days} 天，不能再重新打开，请重新上报。"
    en = "Closed more than {days} days ago; report it again instead."


class InvalidDuplicate(ValidationFailed):
    code = "invalid_duplicate"
    zh = "重复事件须指向同一社区内的另一个事件。"
    en = "A duplicate must point at another event of the same community."


class NoHigherLevel(Conflict):
    code = "no_higher_level"
    zh = "已是最高层级，不能再上报。"
    en = "Already owned by the top level."


class NoPendingExtension(Conflict):
    code = "no_pending_extension"
    zh = "没有待审批的延期申请。"
    en = "There is no extension request to approve."


class MissingField(ApiError):
    status = 422
    code = "validation_failed"
    zh = "缺少“{field}”。"
    en = "'{field}' is required for this action."

    def __init__(self, field: str):
        super().__init__({"field": field, "fields": {field: ["Required for this action."]}})


# ---- grids ------------------------------------------------------------------------

def _boundary(geojson: dict | None) -> tuple[dict | None, tuple | None]:
    if geojson is None:
        return None, None
    try:
        ring = polygon_ring(geojson)
    except ValueError as error:
        raise InvalidBoundary({"why": str(error)}) from None
    lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
    return geojson, (min(lats), max(lats), min(lngs), max(lngs))


def create_grid(actor: User, community_id: int, name: str, households: int,
                boundary: dict | None) -> Grid:
    """A grid of a community, with its grid Party group created beside it."""
    community = visible_node(actor, community_id, "grid.manage")
    if community.kind != "community":
        raise field_error("community_id", "Grids belong to a community.")
    geojson, box = _boundary(boundary)
    group = insert_node("party_group", f"{name}党小组", community)
    grid = Grid(community_id=community.id, party_group_id=group.id, name=name,
                households=households, boundary=geojson)
    if box:
        grid.min_lat, grid.max_lat, grid.min_lng, grid.max_lng = box
    db.session.add(grid)
    audit.record(actor, "grid.create", grid, org_id=community.id,
                 after=audit.snapshot(grid, "name", "households", "party_group_id"))
    db.session.commit()
    return grid


def get_grid(grid_id: int) -> Grid:
    grid = db.session.get(Grid, grid_id)
    if grid is None:
        raise NotFound()
    return grid


def visible_grid(actor: User, grid_id: int) -> Grid:
    """The grid, if the actor holds a role over it: an admin of the community
    or above, or one of its leaders (their role is on the grid's Party group)."""
    grid = get_grid(grid_id)
    if not roles_over(actor, grid.party_group.path):
        raise NotFound()
    return grid


def update_grid(actor: User, grid_id: int, fields: dict) -> Grid:
    grid = get_grid(grid_id)
    visible_node(actor, grid.community_id, "grid.manage")
    before = audit.state(grid)
    if "name" in fields:
        grid.name = fields["name"]
    if "households" in fields:
        grid.households = fields["households"]
    if "boundary" in fields:
        grid.boundary, box = _boundary(fields["boundary"])
        grid.min_lat, grid.max_lat, grid.min_lng, grid.max_lng = box or (None, None, None, None)
    audit.record_change(actor, "grid.update", grid, before, org_id=grid.community_id)
    db.session.commit()
    return grid


def grids_at(point: Point) -> list[Grid]:
    """The grids whose boundary holds the point (bounding boxes first, by index)."""
    candidates = db.session.scalars(select(Grid).where(
        Grid.min_lat <= point.lat, Grid.max_lat >= point.lat,
        Grid.min_lng <= point.lng, Grid.max_lng >= point.lng).order_by(Grid.id)).all()
    return [g for g in candidates if contains(polygon_ring(g.boundary), point)]


def grid_at(point: Point) -> Grid | None:
    """The grid that holds the point (the first one, if boundaries overlap)."""
    return next(iter(grids_at(point)), None)


def _own_grid(user: User, grid: Grid) -> bool:
    """A grid the user may look up by a point: one they hold a role over (its
    community's admins and above, its leaders), one of the community they
    reported their residence to, or one they reported an event in."""
    from app.orgs.models import MemberCommunityReport

    if roles_over(user, grid.party_group.path):
        return True
    reported_here = select(GridEvent.id).where(GridEvent.reporter_id == user.id,
                                               GridEvent.grid_id == grid.id).exists()
    lives_here = select(MemberCommunityReport.id).where(
        MemberCommunityReport.user_id == user.id, MemberCommunityReport.community_id == grid.community_id,
        MemberCommunityReport.state == "confirmed").exists()
    return bool(db.session.scalar(select(or_(reported_here, lives_here))))


def list_grids(actor: User, community_id: int | None, at: Point | None, limit: int,
               cursor: str | None) -> Page:
    """Grids of a community or of the actor's scope. ``at``: the actor's own
    grid holding the point (see :func:`_own_grid`); nothing when the point
    lies in no grid of theirs, so that a point never reveals another
    community's grid or its boundary."""
    if at is not None:
        grid = next((g for g in grids_at(at) if _own_grid(actor, g)), None)
        return Page([grid] if grid else [], None)
    stmt = select(Grid).join(Grid.community)
    if community_id is not None:
        community = visible_node(actor, community_id, "org.view")
        stmt = stmt.where(Grid.community_id == community.id)
    else:
        stmt = stmt.where(scope_clause(actor, "org.view", OrgNode.path))
    return keyset_page(stmt, (Grid.id,), limit, cursor)


def assign_leader(actor: User, grid_id: int, user_id: int, role: str, buildings: list[str],
                  lanes: list[str]) -> GridLeader:
    """A leader of the grid; the role is granted on the grid's Party group."""
    grid = get_grid(grid_id)
    visible_node(actor, grid.community_id, "grid.manage")
    grant_role(actor, grid.party_group_id, user_id, role)
    return _upsert(GridLeader, {"grid_id": grid.id, "user_id": user_id, "role": role},
                   {"buildings": buildings, "lanes": lanes},
                   audited=(actor, "grid_leader.assign", grid.community_id))


def _upsert(model: type, key: dict, values: dict, audited: tuple | None = None):
    """The row of ``key`` with ``values``, inserted or changed, committed. A
    concurrent insert of the same key (the unique constraint refuses ours)
    makes this a change of the row the other request made: the last write
    wins, and neither answers 500. ``audited`` (actor, action, org id) writes
    the audit row of the change in the same commit."""
    def find():
        return db.session.scalars(select(model).filter_by(**key)).first()

    def record(row, before: dict | None) -> None:
        if audited is not None:
            actor, action, org_id = audited
            after = audit.snapshot(row, *key, *values)
            audit.record(actor, action, row, org_id=org_id, before=before, after=after)

    row = find()
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
        try:
            record(row, None)  # flushes the insert: a concurrent one fails here or at the commit
            db.session.commit()
            return row
        except IntegrityError:
            db.session.rollback()
            row = find()
            if row is None:  # not the key after all
                raise
    before = audit.snapshot(row, *key, *values)
    for name, value in values.items():
        setattr(row, name, value)
    record(row, before)
    db.session.commit()
    return row


def list_leaders(actor: User, grid_id: int) -> list[GridLeader]:
    grid = visible_grid(actor, grid_id)
    return list(db.session.scalars(select(GridLeader).where(GridLeader.grid_id == grid.id)
                                   .order_by(GridLeader.id)))


def _leader_grids(user: User) -> list[int]:
    return list(db.session.scalars(select(GridLeader.grid_id).where(GridLeader.user_id == user.id)
                                   .distinct()))


# ---- categories and limits --------------------------------------------------------------

def ensure_default_categories() -> None:
    """Insert the default categories that are missing (the migration does the same)."""
    for _ in range(2):  # a concurrent start inserted some first: look again
        present = set(db.session.scalars(select(EventCategory.code)))
        for code, name, level in DEFAULT_CATEGORIES:
            if code not in present:
                db.session.add(EventCategory(code=code, name=name, level=level))
        try:
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not insert the default event categories")


def list_categories() -> list[EventCategory]:
    return list(db.session.scalars(select(EventCategory).order_by(EventCategory.code)))


def _require_district_admin(actor: User) -> None:
    if not any(role == "district_admin" for role, _ in grants_of(actor)):
        raise Forbidden()


def upsert_category(actor: User, code: str, name: str, level: str, active: bool) -> EventCategory:
    """Add or change a category (district admins); concurrent PUTs of one code: the last wins."""
    _require_district_admin(actor)
    if not CATEGORY_CODE.fullmatch(code):
        raise field_error("code", "Use 2-32 lower-case letters, digits or _, starting with a letter.")
    return _upsert(EventCategory, {"code": code}, {"name": name, "level": level, "active": active},
                   audited=(actor, "event_category.set", audit.district_of(actor)))


def limits_for(category: str, urgency: str) -> tuple[float, float, float]:
    row = db.session.get(TimeLimit, (category, urgency))
    if row is None:
        return DEFAULT_LIMITS[urgency]
    return row.accept_hours, row.handle_hours, row.verify_hours


def set_limits(actor: User, category: str, urgency: str, hours: tuple[float, float, float]) -> dict:
    """Set one category's and urgency's hours (district admins); concurrent PUTs: the last wins."""
    _require_district_admin(actor)
    if db.session.get(EventCategory, category) is None:
        raise UnknownCategory()
    row = _upsert(TimeLimit, {"category": category, "urgency": urgency},
                  dict(zip(("accept_hours", "handle_hours", "verify_hours"), hours, strict=True)),
                  audited=(actor, "time_limit.set", audit.district_of(actor)))
    return {"category": row.category, "urgency": row.urgency, "accept_hours": row.accept_hours,
            "handle_hours": row.handle_hours, "verify_hours": row.verify_hours, "default": False}


def time_limits() -> list[dict]:
    """The whole table: every active category × urgency, stored or default."""
    rows = {(r.category, r.urgency): r for r in db.session.scalars(select(TimeLimit))}
    table = []
    for category in list_categories():
        for urgency in DEFAULT_LIMITS:
            row = rows.get((category.code, urgency))
            hours = (row.accept_hours, row.handle_hours, row.verify_hours) if row else DEFAULT_LIMITS[urgency]
            table.append({"category": category.code, "urgency": urgency, "accept_hours": hours[0],
                          "handle_hours": hours[1], "verify_hours": hours[2], "default": row is None})
    return table


# ---- reporting ----------------------------------------------------------------------

def _start_step(event: GridEvent, step: str | None, now: dt.datetime, hours: float | None = None) -> None:
    event.step, event.step_started_at = step, now if step else None
    if step is None:
        event.deadline_at = None
        return
    limits = dict(zip(("accept", "handle", "verify"), limits_for(event.category, event.urgency), strict=False))
    event.deadline_at = now + dt.timedelta(hours=hours if hours is not None else limits[step])


def _finish_step(event: GridEvent, now: dt.datetime) -> tuple[str | None, bool | None]:
    if event.step is None:
        return None, None
    in_time = event.deadline_at is None or now <= event.deadline_at
    if not in_time:
        event.late = True
    return event.step, in_time


@dataclass
class Reported:
    event: GridEvent
    possible_duplicates: list[GridEvent]


def possible_duplicates(category: str, point: Point, now: dt.datetime, community_id: int,
                        exclude_id: int | None = None):
    """Open events of the same category within 100 m in the last 7 days, of
    the same community (another community's events are never shown)."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(point, DUPLICATE_RADIUS_M)
    rows = db.session.scalars(select(GridEvent).where(
        GridEvent.category == category, GridEvent.community_id == community_id, GridEvent.lat.between(min_lat, max_lat),
        GridEvent.lng.between(min_lng, max_lng), GridEvent.is_open.is_(True),
        GridEvent.created_at >= now - dt.timedelta(days=DUPLICATE_DAYS),
        GridEvent.id != (exclude_id or 0))).all()
    return sorted((e for e in rows if distance_m(point, Point(e.lat, e.lng)) <= DUPLICATE_RADIUS_M),
                  key=lambda e: distance_m(point, Point(e.lat, e.lng)))


def report_event(user: User, fields: dict) -> Reported:
    """File a report. Leaders of the grid report straight to ``reported``;
    members and residents to ``unverified`` (a leader confirms it). The grid
    comes from the location, else from the reporter's own grid. A report that
    fails stores nothing (its photos stay unattached)."""
    try:
        return _report_event(user, fields)
    except ApiError:
        db.session.rollback()
        raise


def _report_event(user: User, fields: dict) -> Reported:
    category = db.session.get(EventCategory, fields["category"])
    if category is None or not category.active:
        raise UnknownCategory()
    photo_ids = fields.get("photo_ids") or []
    if len(photo_ids) > MAX_PHOTOS:
        raise TooManyPhotos({"max": MAX_PHOTOS})
    point = to_gcj02(fields["location"])
    grid = grid_at(point)
    if grid is None:
        own = _leader_grids(user)
        if len(own) != 1:
            raise NoGrid()
        grid = get_grid(own[0])
    roles = roles_over(user, grid.party_group.path) & REPORTS_CONFIRMED
    role = next((r for r in ROLE_ORDER if r in roles), None) or _plain_role(user)
    verdict = moderation.check_text("grid_event", {"title": fields["title"],
                                                   "description": fields.get("description")}, user)
    now = utcnow()
    owner = _level_above(grid.community, category.level)
    event = GridEvent(grid_id=grid.id, community_id=grid.community_id, owner_org_id=owner.id,
                      category=category.code, title=fields["title"],
                      description=fields.get("description", ""), lat=point.lat, lng=point.lng,
                      urgency=fields["urgency"], state="reported" if roles else "unverified",
                      is_open=True, reporter_id=user.id, reporter_role=role, created_at=now)
    _start_step(event, "accept", now)
    # only events the reporter may see: never another reporter's event, or its id
    duplicates = [e for e in possible_duplicates(category.code, point, now, grid.community_id)
                  if _can_see(user, e)]
    db.session.add(event)
    db.session.flush()
    db.session.add(EventTransition(event_id=event.id, actor_id=user.id, actor_role=role, action="report",
                                   from_state=None, to_state=event.state, note="", created_at=now))
    for upload in uploads.claim(user, photo_ids):
        db.session.add(EventPhoto(event_id=event.id, upload_id=upload.id, stage="report"))
    moderation.record(verdict, event, org_id=event.community_id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return Reported(event, duplicates)


def _plain_role(user: User) -> str:
    from app.members.services import identity_of

    identity = identity_of(user.id)
    return "member" if identity and identity.is_active else "resident"


# ---- who may do what ------------------------------------------------------------------

def _is_owner(user: User, event: GridEvent) -> bool:
    return can(user, "grid.manage", event.owner)


def _is_lead(user: User, event: GridEvent) -> bool:
    return can(user, "grid.lead", event.grid.party_group)


def _is_handler(user: User, event: GridEvent) -> bool:
    if event.assignee_user_id is not None:
        return event.assignee_user_id == user.id
    if event.assignee_org_id is not None:
        return can(user, "grid.manage", db.session.get(OrgNode, event.assignee_org_id))
    return False


def _can_see(user: User, event: GridEvent) -> bool:
    """Who may read an event; one whose text is held for review only its
    reporter and the admins of its community."""
    if moderation.is_hidden(event):
        return moderation.may_see(user, event, event.reporter_id, event.community)
    return (event.reporter_id == user.id or event.assignee_user_id == user.id
            or can(user, "grid.manage", event.community) or _is_owner(user, event)
            or _is_lead(user, event) or _is_handler(user, event)
            or db.session.scalar(select(exists().where(EventFollower.event_id == event.id,
                                                       EventFollower.user_id == user.id))))


def visible_event(user: User, event_id: int) -> GridEvent:
    event = db.session.get(GridEvent, event_id)
    if event is None or not _can_see(user, event):
        raise NotFound()
    return event


WHO = {
    "owner": _is_owner,
    "lead": _is_lead,
    "handler": _is_handler,
    "verifier": lambda u, e: _is_owner(u, e) or _is_lead(u, e),
    "dispatcher": lambda u, e: e.dispatcher_id == u.id or _is_owner(u, e),
    "reporter": lambda u, e: e.reporter_id == u.id,
}
# The lifecycle: (from-states, action, who) -> to-state (None: the state stays).
MACHINE = Machine(GridEvent, [
    Transition("confirm", ("unverified",), "reported", who="lead"),
    Transition("accept", ("reported",), "accepted", who="owner"),
    Transition("reject", ("unverified", "reported"), "rejected", who="owner"),
    Transition("duplicate", ("unverified", "reported"), "duplicate", who="owner"),
    Transition("handle_self", ("accepted",), "in_progress", who="owner"),
    Transition("dispatch", ("accepted",), "dispatched", who="owner"),
    Transition("take", ("dispatched",), "in_progress", who="handler"),
    Transition("return", ("dispatched",), "accepted", who="handler"),
    Transition("extend", ("in_progress",), None, who="handler"),
    Transition("approve_extension", ("in_progress",), None, who="dispatcher"),
    Transition("resolve", ("in_progress",), "resolved", who="handler"),
    Transition("verify_ok", ("resolved",), "closed", who="verifier"),
    Transition("verify_fail", ("resolved",), "dispatched", who="verifier"),
    Transition("reopen", ("closed",), "accepted", who="reporter"),
    Transition("escalate", OPEN_STATES, None, who="owner"),
], not_allowed=ActionNotAllowed)


def allowed_actions(user: User, event: GridEvent) -> list[str]:
    """The actions the event's state allows and the user may take, in table order."""
    return MACHINE.possible(event, lambda t: WHO[t.who](user, event))


def _actor_role(user: User, event: GridEvent, who: str) -> str:
    """The role the user acts in: taken where the permission came from (the
    grid's Party group for leaders, the owner for admins, the assignee org for
    a handling org), before the action changes any of them."""
    if who == "reporter":
        return "reporter"
    if who == "handler":
        if event.assignee_user_id == user.id:
            return "handler"
        nodes = [db.session.get(OrgNode, event.assignee_org_id)] if event.assignee_org_id else []
    elif who == "lead":
        nodes = [event.grid.party_group]
    elif who == "verifier":
        nodes = [event.owner, event.grid.party_group]
    else:
        nodes = [event.owner]
    roles = set().union(*(roles_over(user, node.path) for node in nodes))
    for role in ("district_admin", "org_admin", *LEADER_ROLES):
        if role in roles:
            return role
    return who


def _level_above(node: OrgNode, kind: str) -> OrgNode:
    """``node`` itself, or its nearest ancestor of ``kind`` (a category's
    handling level); the node when there is no such ancestor."""
    if node.kind == kind:
        return node
    ancestors = db.session.scalars(select(OrgNode).where(OrgNode.id.in_(node.ancestor_ids[:-1]))).all()
    return next((a for a in sorted(ancestors, key=lambda a: -a.depth) if a.kind == kind), node)


def _next_level(event: GridEvent) -> OrgNode | None:
    """The street above the owning community, then the district above that."""
    wanted = {"community": "street", "street": "district"}.get(event.owner.kind)
    if wanted is None:
        return None
    higher = _level_above(event.owner, wanted)
    return higher if higher.id != event.owner.id else None


def transition(user: User, event_id: int, action: str, args: dict) -> GridEvent:
    """Take ``action`` on an event, if its state allows it and the user may.
    An action that fails changes nothing (nor claims its photos)."""
    try:
        return _transition(user, event_id, action, args)
    except ApiError:
        db.session.rollback()
        raise


@dataclass
class Step:
    """One action under way: what its handler reads (the claimed event, the
    arguments, the time) and what it leaves for the timeline row."""

    user: User
    event: GridEvent
    args: dict
    now: dt.datetime
    data: dict = field(default_factory=dict)
    finished: tuple[str | None, bool | None] = (None, None)  # the step it finished, in time?
    photo_ids: list[int] = field(default_factory=list)  # attached to the timeline row

    def need(self, name: str):
        if not self.args.get(name):
            raise MissingField(name)
        return self.args[name]


def _claim_conditions(event: GridEvent, action: str) -> list:
    """What the claim holds besides the state, so that concurrent actions that
    keep the state serialize too: the owner the who-check was made against
    (escalate moves it without changing the state), and for the extension
    actions the pending request as it was read."""
    conditions = [GridEvent.owner_org_id == event.owner_org_id]
    if action in ("extend", "approve_extension"):
        pending = GridEvent.pending_extension_hours
        conditions.append(pending.is_(None) if event.pending_extension_hours is None
                          else pending == event.pending_extension_hours)
    return conditions


def _transition(user: User, event_id: int, action: str, args: dict) -> GridEvent:
    event = visible_event(user, event_id)
    try:
        rule = MACHINE.check(event, action)
    except ActionNotAllowed as refused:
        refused.details["allowed_actions"] = allowed_actions(user, event)
        raise
    if not WHO[rule.who](user, event):
        raise Forbidden({"allowed_actions": allowed_actions(user, event)})
    actor_role = _actor_role(user, event, rule.who)
    now = utcnow()
    before = MACHINE.apply(event, action, where=_claim_conditions(event, action))
    step = Step(user, event, args, now)
    HANDLERS[action](step)
    event.is_open = event.state not in FINAL_STATES
    finished_step, in_time = step.finished
    record = EventTransition(event_id=event.id, actor_id=user.id, actor_role=actor_role, action=action,
                             from_state=before, to_state=event.state, note=args.get("note") or "",
                             data=step.data, step=finished_step, in_time=in_time, created_at=now)
    db.session.add(record)
    if step.photo_ids:
        db.session.flush()
        for upload in uploads.claim(user, step.photo_ids):
            db.session.add(EventPhoto(event_id=event.id, upload_id=upload.id, stage=action,
                                      transition_id=record.id))
    _tell(step, action, record)
    db.session.commit()
    return event


# ---- who is told of a step ---------------------------------------------------------------

def admins_of(org_id: int | None) -> list[int]:
    """The users holding an admin role on the organization itself: who is told
    for it (not every admin above it, who may see it too)."""
    if org_id is None:
        return []
    return list(db.session.scalars(select(RoleGrant.user_id).where(
        RoleGrant.org_id == org_id, RoleGrant.role.in_(PERMISSIONS["grid.manage"]))).all())


def handlers_of(event: GridEvent) -> list[int]:
    """Who handles the event: the person it was dispatched to, or the admins
    of the organization it was dispatched to."""
    if event.assignee_user_id is not None:
        return [event.assignee_user_id]
    return admins_of(event.assignee_org_id)


def _tell(step: Step, action: str, record: EventTransition) -> None:
    """Dispatched: the handler. Returned by the handler: the dispatcher; sent
    back for rework: the handler. Closed: the reporter. Never the actor."""
    event, reason = step.event, step.data.get("reason")
    if action == "dispatch":
        who, name, status, when = handlers_of(event), "grid_event_dispatched", "待处置", event.deadline_at
        note = db.session.get(EventCategory, event.category).name
    elif action == "return":
        who, name, status, when, note = [event.dispatcher_id], "grid_event_returned", "已退回", step.now, reason
    elif action == "verify_fail":
        who, name, status, when, note = handlers_of(event), "grid_event_returned", "返工", step.now, reason
    elif action == "verify_ok":
        who, name, status, when, note = [event.reporter_id], "grid_event_closed", "已结案", step.now, \
            "感谢您的上报"
    else:
        return
    who = [user_id for user_id in who if user_id is not None and user_id != step.user.id]
    if not who:
        return
    db.session.flush()  # the transition's id tells this step from a later one alike
    announce(who, name, event.id, {"title": event.title, "status": status, "time": when, "note": note},
             version=record.id, event_id=event.id, title=event.title, action=action, reason=reason)


# ---- what each action does, once it is claimed -------------------------------------------

def _end(step: Step) -> None:
    _start_step(step.event, None, step.now)
    step.event.closed_at = step.now


def _confirm(step: Step) -> None:
    pass  # a leader vouches for the report; the accept step keeps running


def _accept(step: Step) -> None:
    step.finished = _finish_step(step.event, step.now)
    _start_step(step.event, "handle", step.now)


def _reject(step: Step) -> None:
    step.data["reason"] = step.need("reason")
    step.finished = _finish_step(step.event, step.now)
    _end(step)


def _duplicate(step: Step) -> None:
    event = step.event
    original = db.session.get(GridEvent, step.need("duplicate_of"))
    if original is None or original.id == event.id or original.community_id != event.community_id:
        raise InvalidDuplicate()
    step.data["duplicate_of"] = event.duplicate_of_id = original.id
    step.finished = _finish_step(event, step.now)
    _end(step)


def _handle_self(step: Step) -> None:
    event = step.event
    event.assignee_org_id, event.assignee_user_id, event.dispatcher_id = event.owner_org_id, None, step.user.id


def _dispatch(step: Step) -> None:
    to_org, to_user = step.args.get("to_org_id"), step.args.get("to_user_id")
    if bool(to_org) == bool(to_user):
        raise MissingField("to_org_id")
    if to_org and db.session.get(OrgNode, to_org) is None:
        raise field_error("to_org_id", "No such organization.")
    if to_user and db.session.get(User, to_user) is None:
        raise field_error("to_user_id", "No such user.")
    event = step.event
    event.assignee_org_id, event.assignee_user_id, event.dispatcher_id = to_org, to_user, step.user.id
    step.data.update({"to_org_id": to_org, "to_user_id": to_user})


def _take(step: Step) -> None:
    pass  # the handler starts; the handle step keeps running


def _return(step: Step) -> None:
    step.data["reason"] = step.need("reason")
    step.event.assignee_org_id = step.event.assignee_user_id = None


def _extend(step: Step) -> None:
    hours = float(step.need("hours"))
    step.event.pending_extension_hours = step.data["hours"] = hours


def _approve_extension(step: Step) -> None:
    event = step.event
    if not event.pending_extension_hours:
        raise NoPendingExtension()
    event.deadline_at = event.deadline_at + dt.timedelta(hours=event.pending_extension_hours)
    step.data.update({"hours": event.pending_extension_hours, "deadline_at": event.deadline_at.isoformat()})
    event.pending_extension_hours = None


def _resolve(step: Step) -> None:
    photo_ids = step.args.get("photo_ids") or []
    if len(photo_ids) > MAX_PHOTOS:
        raise TooManyPhotos({"max": MAX_PHOTOS})
    step.photo_ids = photo_ids
    step.finished = _finish_step(step.event, step.now)
    _start_step(step.event, "verify", step.now)


def _verify_ok(step: Step) -> None:
    step.finished = _finish_step(step.event, step.now)
    _end(step)


def _verify_fail(step: Step) -> None:
    event = step.event
    step.data["reason"] = step.need("reason")
    step.finished = _finish_step(event, step.now)
    event.rework_count += 1
    if event.assignee_org_id is None and event.assignee_user_id is None:
        event.assignee_org_id = event.owner_org_id
    _start_step(event, "handle", step.now)


def _reopen(step: Step) -> None:
    event = step.event
    if event.closed_at is None or step.now - event.closed_at > dt.timedelta(days=REOPEN_DAYS):
        raise ReopenExpired({"days": REOPEN_DAYS})
    event.closed_at = None
    event.assignee_org_id = event.assignee_user_id = None
    _start_step(event, "handle", step.now)


def _escalate(step: Step) -> None:
    event = step.event
    step.data["reason"] = step.need("reason")
    higher = _next_level(event)
    if higher is None:
        raise NoHigherLevel()
    step.data.update({"from_org_id": event.owner_org_id, "to_org_id": higher.id})
    event.owner = higher
    event.escalations += 1


HANDLERS = {
    "confirm": _confirm, "accept": _accept, "reject": _reject, "duplicate": _duplicate,
    "handle_self": _handle_self, "dispatch": _dispatch, "take": _take, "return": _return,
    "extend": _extend, "approve_extension": _approve_extension, "resolve": _resolve,
    "verify_ok": _verify_ok, "verify_fail": _verify_fail, "reopen": _reopen, "escalate": _escalate,
}
assert set(HANDLERS) == set(MACHINE.actions), "every action of the lifecycle has its handler"


def follow(user: User, event_id: int, note: str) -> GridEvent:
    """Add your voice to an open event you can see instead of filing a
    duplicate (once: following again changes nothing). An event you cannot
    see is 404, as if it did not exist."""
    event = visible_event(user, event_id)
    if not event.is_open:
        raise NotFound()
    db.session.add(EventFollower(event_id=event.id, user_id=user.id, note=note))
    try:
        db.session.flush()
    except IntegrityError:  # already following (perhaps by a concurrent request)
        db.session.rollback()
        return event
    event.followers = GridEvent.followers + 1
    db.session.commit()
    db.session.refresh(event)
    return event


def comment(user: User, event_id: int, body: str) -> EventComment:
    """Comment on an event you can see; the text passes the content check first."""
    event = visible_event(user, event_id)
    verdict = moderation.check_text("grid_comment", {"body": body}, user)
    entry = EventComment(event_id=event.id, user_id=user.id, body=body)
    db.session.add(entry)
    try:
        moderation.record(verdict, entry, org_id=event.community_id, author_id=user.id)
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    moderation.after_commit(verdict)
    return entry


def timeline(user: User, event_id: int) -> dict:
    event = visible_event(user, event_id)
    transitions = db.session.scalars(select(EventTransition).where(EventTransition.event_id == event.id)
                                     .order_by(EventTransition.id)).all()
    comments = select(EventComment).where(EventComment.event_id == event.id)
    if not can(user, moderation.PERMISSION, event.community):  # others' held comments are not shown
        comments = comments.where(or_(EventComment.content_state.in_(moderation.SHOWN),
                                      EventComment.user_id == user.id))
    comments = db.session.scalars(comments.order_by(EventComment.id)).all()
    return {"event_id": event.id, "transitions": transitions, "comments": comments}


def event_photo(user: User, event_id: int, upload_id: int):
    """A photo of an event the user sees, if the content check lets the user
    see it (app.uploads.services.shown_to); 404 otherwise."""
    event = visible_event(user, event_id)
    found = photos_of(user, [event.id])[event.id]
    if not any(photo.upload_id == upload_id for photo in found):
        raise NotFound()
    return uploads.get_upload(upload_id)


@dataclass(frozen=True)
class ShownPhoto:
    upload_id: int
    stage: str
    check_state: str


def photos_of(user: User, event_ids: list[int]) -> dict[int, list[ShownPhoto]]:
    """The photos of each event that ``user`` may see, in one query: passed
    ones, and undecided ones to their uploader and to the admins who manage
    the event's community (they act on the report and moderate its photos)."""
    found: dict[int, list[ShownPhoto]] = {i: [] for i in event_ids}
    if not event_ids:
        return found
    moderators = PERMISSIONS["grid.manage"]
    rows = db.session.execute(
        select(EventPhoto.event_id, EventPhoto.upload_id, EventPhoto.stage, Upload.owner_id,
               Upload.check_state, OrgNode.path)
        .join(Upload, Upload.id == EventPhoto.upload_id)
        .join(GridEvent, GridEvent.id == EventPhoto.event_id)
        .join(OrgNode, OrgNode.id == GridEvent.community_id)
        .where(EventPhoto.event_id.in_(event_ids)).order_by(EventPhoto.id))
    for event_id, upload_id, stage, owner_id, state, path in rows:
        if uploads.shown_to(user.id, owner_id, state, bool(roles_over(user, path) & moderators)):
            found[event_id].append(ShownPhoto(upload_id, stage, state))
    return found


def light(event: GridEvent, now: dt.datetime) -> str | None:
    """green under 80 % of the step's time, yellow up to 100 %, red beyond."""
    if not event.is_open or event.deadline_at is None or event.step_started_at is None:
        return None
    total = (event.deadline_at - event.step_started_at).total_seconds()
    used = (now - event.step_started_at).total_seconds()
    share = used / total if total > 0 else 1.0
    return "green" if share < 0.8 else "yellow" if share <= 1.0 else "red"


def list_events(user: User, filters: dict, limit: int, cursor: str | None) -> Page:
    """Events the user may see: an admin's subtree, a leader's grid, the
    reporter's own, the handler's assigned; filtered and keyset-paginated."""
    community = aliased(OrgNode)
    group = aliased(OrgNode)
    stmt = (select(GridEvent).join(community, community.id == GridEvent.community_id)
            .join(Grid, Grid.id == GridEvent.grid_id).join(group, group.id == Grid.party_group_id))
    visible = [scope_clause(user, "grid.manage", community.path),
               scope_clause(user, "grid.lead", group.path),
               GridEvent.reporter_id == user.id, GridEvent.assignee_user_id == user.id]
    managed_orgs = select(OrgNode.id).where(scope_clause(user, "grid.manage", OrgNode.path))
    visible.append(GridEvent.assignee_org_id.in_(managed_orgs))
    stmt = stmt.where(or_(*visible))
    # held for review: only the reporter and the community's admins (the board of the others)
    stmt = stmt.where(moderation.shown_clause(user, GridEvent.content_state, GridEvent.reporter_id,
                                              GridEvent.community_id))
    now = utcnow()
    if filters.get("state"):
        stmt = stmt.where(GridEvent.state == filters["state"])
    if filters.get("category"):
        stmt = stmt.where(GridEvent.category == filters["category"])
    if filters.get("grid_id"):
        stmt = stmt.where(GridEvent.grid_id == filters["grid_id"])
    if filters.get("community_id"):
        stmt = stmt.where(GridEvent.community_id == filters["community_id"])
    if filters.get("overdue"):
        stmt = stmt.where(GridEvent.is_open.is_(True), GridEvent.deadline_at < now)
    if filters.get("mine"):
        stmt = stmt.where(GridEvent.reporter_id == user.id)
    if filters.get("assigned"):
        stmt = stmt.where(or_(GridEvent.assignee_user_id == user.id,
                              and_(GridEvent.assignee_user_id.is_(None),
                                   GridEvent.assignee_org_id.in_(managed_orgs))))
    if filters.get("near"):
        point, radius = filters["near"], filters.get("radius_m", 1000)
        min_lat, max_lat, min_lng, max_lng = bounding_box(point, radius)
        # the box (by index), then the circle: metres on a local flat projection,
        # exact enough at these radii and plain arithmetic on every backend
        per_lat = math.pi * EARTH_RADIUS_M / 180
        per_lng = per_lat * math.cos(math.radians(point.lat))
        d_north, d_east = (GridEvent.lat - point.lat) * per_lat, (GridEvent.lng - point.lng) * per_lng
        stmt = stmt.where(GridEvent.lat.between(min_lat, max_lat), GridEvent.lng.between(min_lng, max_lng),
                          d_north * d_north + d_east * d_east <= radius * radius)
    return keyset_page(stmt, (GridEvent.id,), limit, cursor, descending=True)


def grid_stats(actor: User, org_id: int, day_from: dt.datetime, day_to: dt.datetime) -> dict:
    """Grids and grid Party groups, events by state and category, closed in
    time vs late, average time to close, rework and escalations — for a subtree."""
    org = visible_node(actor, org_id, "stats.read")
    community = aliased(OrgNode)
    in_tree = subtree_clause(community.path, org.path)
    grids = db.session.scalar(select(func.count(Grid.id))
                              .join(community, community.id == Grid.community_id).where(in_tree))
    base = (select(GridEvent).join(community, community.id == GridEvent.community_id)
            .where(in_tree, GridEvent.created_at >= day_from, GridEvent.created_at < day_to)).subquery()
    by_state = dict(db.session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all())
    by_category = dict(db.session.execute(select(base.c.category, func.count())
                                          .group_by(base.c.category)).all())
    in_time, late, rework, escalations = db.session.execute(select(
        func.count().filter(and_(base.c.state == "closed", base.c.late.is_(False))),
        func.count().filter(and_(base.c.state == "closed", base.c.late.is_(True))),
        func.coalesce(func.sum(base.c.rework_count), 0),
        func.coalesce(func.sum(base.c.escalations), 0))).one()
    closed = db.session.execute(select(base.c.created_at, base.c.closed_at)
                                .where(base.c.state == "closed")).all()
    seconds = [(c - s).total_seconds() for s, c in closed if c is not None and s is not None]
    return {
        "org_id": org.id, "from": day_from, "to": day_to,
        "grids": grids, "grid_party_groups": grids,
        "events_by_state": by_state, "events_by_category": by_category,
        "closed_in_time": in_time, "closed_late": late,
        "average_seconds_to_close": round(sum(seconds) / len(seconds)) if seconds else None,
        "rework": int(rework), "escalations": int(escalations),
    }


def present(user: User, events: list[GridEvent], with_actions: bool = False) -> list[GridEvent]:
    """Attach what the answer shows beside the row: traffic light, photo links
    (one query for the whole page) and, for a single event, the actions the
    viewer may take (an empty list in lists, where they are not computed)."""
    from flask import url_for

    now = utcnow()
    photos = photos_of(user, [e.id for e in events])
    for event in events:
        event.light = light(event, now)
        event.photos = [{"upload_id": p.upload_id, "stage": p.stage, "check_state": p.check_state,
                         "url": url_for("grid.event_photo", event_id=event.id, upload_id=p.upload_id)}
                        for p in photos[event.id]]
        # a list on every answer (as documented); only a single event's answer computes it
        event.allowed_actions = allowed_actions(user, event) if with_actions else []
    return events
