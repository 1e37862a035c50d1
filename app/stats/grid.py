"""Grid figures for a subtree and a period (GET /stats/grid and the grid
export), moved here from app/grid/stats.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.extensions import db
from app.grid.models import Grid, GridEvent
from app.orgs.models import OrgNode
from app.orgs.services import visible_node


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
