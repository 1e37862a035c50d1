"""Lists of tasks and participations: by community, state, nearness; a volunteer's own."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.auth.permissions import scope_clause, subtree_clause
from app.common.geo import Point
from app.common.near import nearest_page
from app.common.pagination import Page, keyset_page
from app.moderation import services as moderation
from app.orgs.models import OrgNode
from app.orgs.services import get_node
from app.tasks.models import TASK_STATES, Participation, Task
from app.tasks.publishing import managed_task

# Every state but ``draft``, named (an index on ``state`` can seek these, not ``!= 'draft'``).
LISTED_STATES = tuple(s for s in TASK_STATES if s != "draft")


def list_tasks(user: User, *, community_id: int | None, state: str | None, category: str | None,
               open_only: bool, near: Point | None, radius_m: float, limit: int,
               cursor: str | None) -> Page:
    """Tasks by community, state, category; ``open_only`` keeps published
    tasks with places left; ``near`` sorts by distance (within ``radius_m``)."""
    stmt = select(Task)
    if state == "draft":
        stmt = stmt.join(Task.community).where(scope_clause(user, "tasks.manage", OrgNode.path))
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
    # one state: ix_tasks_state_starts_at_id serves the order; every listed
    # state: ix_tasks_starts_at_id (migration f1e2d3c4b5a6), drafts filtered on the way
    stmt = stmt.where(Task.state == state if state else Task.state.in_(LISTED_STATES))
    if near is not None:
        return nearest_page(stmt, Task.lat, Task.lng, Task.id, near, radius_m, limit, cursor)
    return keyset_page(stmt, (Task.starts_at, Task.id), limit, cursor)


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
