"""The people of a grid event: who owns, leads, handles it (the rules the
lifecycle's ``who`` names), who may see it, and who is told for an
organization."""
from __future__ import annotations

from sqlalchemy import exists, select

from app.auth.models import RoleGrant, User
from app.auth.permissions import PERMISSIONS, can
from app.common.rows import get_row
from app.errors import NotFound
from app.extensions import db
from app.grid.models import EventFollower, GridEvent
from app.moderation import services as moderation
from app.orgs.models import OrgNode


def is_owner(user: User, event: GridEvent) -> bool:
    """An admin of the organization owning the event (or above it)."""
    return can(user, "grid.manage", event.owner)


def is_lead(user: User, event: GridEvent) -> bool:
    """A leader of the event's grid (or an admin above it)."""
    return can(user, "grid.lead", event.grid.party_group)


def is_handler(user: User, event: GridEvent) -> bool:
    """The person the event was dispatched to, or an admin of the organization."""
    if event.assignee_user_id is not None:
        return event.assignee_user_id == user.id
    if event.assignee_org_id is not None:
        return can(user, "grid.manage", db.session.get(OrgNode, event.assignee_org_id))
    return False


def can_see(user: User, event: GridEvent) -> bool:
    """Who may read an event; one whose text is held for review only its
    reporter and the admins of its community."""
    if moderation.is_hidden(event):
        return moderation.may_see(user, event, event.reporter_id, event.community)
    return bool(event.reporter_id == user.id or event.assignee_user_id == user.id
                or can(user, "grid.manage", event.community) or is_owner(user, event)
                or is_lead(user, event) or is_handler(user, event)
                or db.session.scalar(select(exists().where(EventFollower.event_id == event.id,
                                                           EventFollower.user_id == user.id))))


def visible_event(user: User, event_id: int) -> GridEvent:
    """The event, if the user may see it; 404 as if it did not exist otherwise."""
    event = get_row(GridEvent, event_id)
    if event is None or not can_see(user, event):
        raise NotFound()
    return event


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
