"""What the parts of volunteer service share: which states hold a place,
how hours are rounded, the lookups every part starts from."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, select

from app.auth.models import User
from app.auth.permissions import authorize
from app.errors import NotFound
from app.extensions import db
from app.orgs.models import OrgNode
from app.tasks.errors import NotACommunity
from app.tasks.models import Participation, Task

# the states that keep a place on a task (and count in ``places_taken``)
HOLDING_PLACE = ("accepted", "checked_in", "checked_out", "confirmed")
# who the resident sees on the task made from their request: not the waitlist,
# nor those who withdrew, nor places a cancelled task took back
SERVING = ("accepted", "checked_in", "checked_out", "confirmed", "no_show")


def get_community(community_id: int) -> OrgNode:
    """The community volunteers and requests belong to; any other node is refused."""
    node = db.session.get(OrgNode, community_id)
    if node is None or node.kind != "community":
        raise NotACommunity()
    return node


def as_hours(value) -> Decimal:
    """Hours as the ledger keeps them: two places, half up."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def overlapping(user_id: int, task: Task) -> Select[int]:
    """Places the user holds on other tasks whose time overlaps ``task``."""
    return select(Participation.id).where(
        Participation.user_id == user_id, Participation.task_id != task.id,
        Participation.state.in_(("accepted", "checked_in")),
        and_(Participation.starts_at < task.ends_at, Participation.ends_at > task.starts_at))


def participation_of(task_id: int, user_id: int) -> Participation | None:
    """The volunteer's participation in the task (there is at most one)."""
    return db.session.scalar(select(Participation).where(
        Participation.task_id == task_id, Participation.user_id == user_id))


def managed_participation(actor: User, participation_id: int) -> Participation:
    """A participation in a task the actor manages; 404 outside their scope."""
    participation = db.session.get(Participation, participation_id)
    if participation is None:
        raise NotFound()
    authorize(actor, "tasks.manage", participation.task.community)
    return participation
