"""Grid figures for a subtree and a period (GET /stats/grid and the grid
export): events reported in the period, by their state now and category,
read from the per-day aggregate ``grid_daily`` (app.grid.daily) of the
subtree's communities: its cost is communities × days × categories ×
states, whatever the history."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.grid.models import Grid, GridDaily
from app.orgs.services import visible_node
from app.stats.period import Period
from app.stats.sql import subtree_ids


def grid_stats(actor: User, period: Period) -> dict:
    """Grids and grid Party groups, events by state and category, closed in
    time vs late, average time to close, rework and escalations — for a subtree."""
    org = visible_node(actor, period.org_id, "stats.read")
    ids = subtree_ids(org.path)
    grids = db.session.scalar(select(func.count(Grid.id)).where(Grid.community_id.in_(ids)))
    rows = db.session.execute(
        select(GridDaily.state, GridDaily.category, func.sum(GridDaily.events), func.sum(GridDaily.late),
               func.sum(GridDaily.close_microseconds), func.sum(GridDaily.rework), func.sum(GridDaily.escalations))
        .where(GridDaily.community_id.in_(ids), GridDaily.day >= period.first, GridDaily.day <= period.last)
        .group_by(GridDaily.state, GridDaily.category)).all()
    by_state: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    closed = late = close_microseconds = rework = escalations = 0
    for state, category, events, late_events, microseconds, reworked, escalated in rows:
        if not events:
            continue  # every event of the row moved on
        by_state[state] += int(events)
        by_category[category] += int(events)
        rework += int(reworked)
        escalations += int(escalated)
        if state == "closed":
            closed += int(events)
            late += int(late_events)
            close_microseconds += int(microseconds)
    return {
        **period.echo(),
        "grids": grids, "grid_party_groups": grids,
        "events_by_state": dict(by_state), "events_by_category": dict(by_category),
        "closed_in_time": closed - late, "closed_late": late,
        "average_seconds_to_close": round(close_microseconds / closed / 1_000_000) if closed else None,
        "rework": rework, "escalations": escalations,
    }
