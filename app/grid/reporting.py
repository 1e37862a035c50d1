"""Reporting a grid event: where it goes (the grid of its location, the
level that handles its category), the state it starts in (a leader's report
is ``reported``, anyone else's ``unverified`` until a leader confirms it),
its photos, and the open events nearby it may duplicate."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from app.auth.models import User
from app.auth.permissions import roles_over
from app.common import near
from app.common.db import utcnow
from app.common.geo import Point, to_gcj02
from app.common.work import unit_of_work
from app.extensions import db
from app.grid import daily, photos
from app.grid.access import can_see
from app.grid.deadlines import start_step
from app.grid.errors import NoGrid, UnknownCategory
from app.grid.escalation import level_above
from app.grid.grids import get_grid, grid_at, leader_grids
from app.grid.models import EventCategory, EventTransition, GridEvent
from app.members.services import identity_of
from app.moderation import services as moderation

# Who reports straight to "reported" (everyone else: "unverified"), in the
# order the role is named on the record.
ROLE_ORDER = ("district_admin", "org_admin", "grid_leader", "building_leader", "lane_leader")
REPORTS_CONFIRMED = frozenset(ROLE_ORDER)
DUPLICATE_RADIUS_M = 100
DUPLICATE_DAYS = 7


@dataclass
class Reported:
    event: GridEvent
    possible_duplicates: list[GridEvent]


def possible_duplicates(category: str, point: Point, now: dt.datetime, community_id: int,
                        exclude_id: int | None = None) -> list[GridEvent]:
    """Open events of the same category within 100 m in the last 7 days, of
    the same community (another community's events are never shown)."""
    stmt, distance2 = near.within(select(GridEvent).where(
        GridEvent.category == category, GridEvent.community_id == community_id, GridEvent.is_open.is_(True),
        GridEvent.created_at >= now - dt.timedelta(days=DUPLICATE_DAYS), GridEvent.id != (exclude_id or 0)),
        GridEvent.lat, GridEvent.lng, point, DUPLICATE_RADIUS_M)
    return list(db.session.scalars(stmt.order_by(distance2, GridEvent.id)))


def report_event(user: User, fields: dict) -> Reported:
    """File a report. Leaders of the grid report straight to ``reported``;
    members and residents to ``unverified`` (a leader confirms it). The grid
    comes from the location, else from the reporter's own grid. A report that
    fails stores nothing (its photos stay unattached)."""
    with unit_of_work():
        reported, verdict = _report_event(user, fields)
    moderation.after_commit(verdict)
    return reported


def _report_event(user: User, fields: dict) -> tuple[Reported, moderation.Verdict]:
    category = db.session.get(EventCategory, fields["category"])
    if category is None or not category.active:
        raise UnknownCategory()
    photo_ids = photos.within_limit(fields.get("photo_ids"))
    point = to_gcj02(fields["location"])
    grid = grid_at(point)
    if grid is None:
        own = leader_grids(user)
        if len(own) != 1:
            raise NoGrid()
        grid = get_grid(own[0])
    roles = roles_over(user, grid.party_group.path) & REPORTS_CONFIRMED
    role = next((r for r in ROLE_ORDER if r in roles), None) or _plain_role(user)
    verdict = moderation.check_text("grid_event", {"title": fields["title"],
                                                   "description": fields.get("description")}, user)
    now = utcnow()
    owner = level_above(grid.community, category.level)
    event = GridEvent(grid_id=grid.id, community_id=grid.community_id, owner_org_id=owner.id,
                      category=category.code, title=fields["title"],
                      description=fields.get("description", ""), lat=point.lat, lng=point.lng,
                      urgency=fields["urgency"], state="reported" if roles else "unverified",
                      is_open=True, reporter_id=user.id, reporter_role=role, created_at=now)
    start_step(event, "accept", now)
    # only events the reporter may see: never another reporter's event, or its id
    duplicates = [e for e in possible_duplicates(category.code, point, now, grid.community_id)
                  if can_see(user, e)]
    db.session.add(event)
    db.session.flush()
    db.session.add(EventTransition(event_id=event.id, actor_id=user.id, actor_role=role, action="report",
                                   from_state=None, to_state=event.state, note="", created_at=now))
    photos.attach(user, event, photo_ids, "report")
    moderation.record(verdict, event, org_id=event.community_id, author_id=user.id)
    daily.move(None, daily.contribution(event))
    return Reported(event, duplicates), verdict


def _plain_role(user: User) -> str:
    """The role of a reporter who leads nothing here: a member or a resident."""
    identity = identity_of(user.id)
    return "member" if identity and identity.is_active else "resident"
