"""The levels above an event's owner: where a category is handled (the
community, the street or the district above the grid) and where an event is
escalated to (吹哨报到: the street above a community, the district above a
street)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.grid.models import GridEvent
from app.orgs.models import OrgNode

NEXT_LEVEL = {"community": "street", "street": "district"}


def level_above(node: OrgNode, kind: str) -> OrgNode:
    """``node`` itself, or its nearest ancestor of ``kind`` (a category's
    handling level); the node when there is no such ancestor."""
    if node.kind == kind:
        return node
    ancestors = db.session.scalars(select(OrgNode).where(OrgNode.id.in_(node.ancestor_ids[:-1]))).all()
    return next((a for a in sorted(ancestors, key=lambda a: -a.depth) if a.kind == kind), node)


def next_level(event: GridEvent) -> OrgNode | None:
    """The street above the owning community, then the district above that;
    None for an event the district owns (or with no such level above)."""
    wanted = NEXT_LEVEL.get(event.owner.kind)
    if wanted is None:
        return None
    higher = level_above(event.owner, wanted)
    return higher if higher.id != event.owner.id else None
