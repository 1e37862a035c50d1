"""Reading grid events: the list a user may see (filtered, keyset-paginated),
one event's timeline, and what an answer shows beside an event row (traffic
light, photo links, the actions the viewer may take)."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.permissions import can, scope_clause
from app.common import near
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.extensions import db
from app.grid.access import visible_event
from app.grid.deadlines import light
from app.grid.lifecycle import allowed_actions
from app.grid.models import EventComment, EventTransition, Grid, GridEvent
from app.grid.photos import photos_of
from app.moderation import services as moderation
from app.orgs.models import OrgNode


def managed_org_ids(user: User) -> list[int]:
    """The organizations whose grid events the user manages."""
    return list(db.session.scalars(select(OrgNode.id).where(scope_clause(user, "grid.manage", OrgNode.path))))


def visible_clause(user: User, managed: list[int]) -> ColumnElement[bool]:
    """Events the user may see in lists: an admin's subtree, a leader's grid,
    the reporter's own, the handler's assigned (``managed``: :func:`managed_org_ids`).

    The organizations and grids come first, as id lists (their number grows
    with the tree, not with the history), so each branch of the OR is an
    equality on an indexed column of ``grid_events`` and the planner can
    combine the indexes (a bitmap OR on PostgreSQL) instead of walking every
    event and filtering: a member who sees one event reads one event."""
    group = aliased(OrgNode)
    led = list(db.session.scalars(select(Grid.id).join(group, group.id == Grid.party_group_id)
                                  .where(scope_clause(user, "grid.lead", group.path))))
    visible = [GridEvent.reporter_id == user.id, GridEvent.assignee_user_id == user.id]
    if managed:
        visible += [GridEvent.community_id.in_(managed), GridEvent.assignee_org_id.in_(managed)]
    if led:
        visible.append(GridEvent.grid_id.in_(led))
    return or_(*visible)


def list_events(user: User, filters: dict, limit: int, cursor: str | None) -> Page:
    """The events the user may see (:func:`visible_clause`), filtered and keyset-paginated."""
    managed = managed_org_ids(user)
    stmt = select(GridEvent).where(visible_clause(user, managed))
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
                              and_(GridEvent.assignee_user_id.is_(None), GridEvent.assignee_org_id.in_(managed))))
    if filters.get("near"):
        stmt, _ = near.within(stmt, GridEvent.lat, GridEvent.lng, filters["near"], filters.get("radius_m", 1000))
    return keyset_page(stmt, (GridEvent.id,), limit, cursor, descending=True)


def timeline(user: User, event_id: int) -> dict:
    """Every step of an event and the comments the user may read."""
    event = visible_event(user, event_id)
    transitions = db.session.scalars(select(EventTransition).where(EventTransition.event_id == event.id)
                                     .order_by(EventTransition.id)).all()
    shown = select(EventComment).where(EventComment.event_id == event.id)
    if not can(user, moderation.PERMISSION, event.community):  # others' held comments are not shown
        shown = shown.where(or_(EventComment.content_state.in_(moderation.SHOWN),
                                EventComment.user_id == user.id))
    comments = db.session.scalars(shown.order_by(EventComment.id)).all()
    return {"event_id": event.id, "transitions": transitions, "comments": comments}


def present(user: User, events: list[GridEvent], with_actions: bool = False) -> list[GridEvent]:
    """Attach what the answer shows beside the row: traffic light, photo links
    (one query for the whole page) and, for a single event, the actions the
    viewer may take (an empty list in lists, where they are not computed)."""
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
