"""Grid figures for a subtree and a period (GET /stats/grid and the grid
export): events reported in the period, counted and averaged in SQL, read
from the subtree's communities by (community_id, created_at)."""
from __future__ import annotations

from typing import cast

from sqlalchemy import Float, Integer, and_, func, select

from app.auth.models import User
from app.extensions import db
from app.grid.models import Grid, GridEvent
from app.orgs.services import visible_node
from app.stats.period import Period
from app.stats.sql import seconds_between, subtree_ids


def grid_stats(actor: User, period: Period) -> dict:
    """Grids and grid Party groups, events by state and category, closed in
    time vs late, average time to close, rework and escalations — for a subtree."""
    org = visible_node(actor, period.org_id, "stats.read")
    start, end = period.utc_bounds()
    ids = subtree_ids(org.path)
    grids = db.session.scalar(select(func.count(Grid.id)).where(Grid.community_id.in_(ids)))
    base = (select(GridEvent.state, GridEvent.category, GridEvent.late, GridEvent.rework_count,
                   GridEvent.escalations, GridEvent.created_at, GridEvent.closed_at)
            .where(GridEvent.community_id.in_(ids), GridEvent.created_at >= start,
                   GridEvent.created_at < end)).subquery()
    by_state: dict[str, int] = dict(db.session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all())
    by_category: dict[str, int] = dict(db.session.execute(select(base.c.category, func.count())
                                          .group_by(base.c.category)).all())
    closed = base.c.state == "closed"
    figures = db.session.execute(select(
        func.count().filter(and_(closed, base.c.late.is_(False))),
        func.count().filter(and_(closed, base.c.late.is_(True))),
        func.coalesce(func.sum(base.c.rework_count), 0, type_=Integer),
        func.coalesce(func.sum(base.c.escalations), 0, type_=Integer),
        func.avg(seconds_between(base.c.created_at, base.c.closed_at), type_=Float).filter(closed))).one()
    in_time, late, rework, escalations, seconds = cast("tuple[int, int, int, int, float | None]", tuple(figures))
    return {
        **period.echo(),
        "grids": grids, "grid_party_groups": grids,
        "events_by_state": by_state, "events_by_category": by_category,
        "closed_in_time": in_time, "closed_late": late,
        "average_seconds_to_close": round(float(seconds)) if seconds is not None else None,
        "rework": rework, "escalations": escalations,
    }
