"""Check-ins per center and per day (GET /stats/checkins and its export),
from the daily counts of the local days of the period."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.checkin.models import CheckinDailyCount, ServiceCenter
from app.extensions import db
from app.orgs.models import OrgNode
from app.orgs.services import visible_node
from app.stats.period import Period


def checkin_stats(actor: User, period: Period, center_days: bool = False) -> dict:
    """Check-ins per center and per day for a subtree (and, with
    ``center_days``, each center's days), from the daily counts: the cost is
    centers × days in range, whatever the size of the history."""
    org = visible_node(actor, period.org_id, "stats.read")
    in_range = and_(CheckinDailyCount.day >= period.first, CheckinDailyCount.day <= period.last)
    rows = db.session.execute(
        select(ServiceCenter.id, ServiceCenter.name, CheckinDailyCount.day,
               func.sum(CheckinDailyCount.count))
        .join(OrgNode, OrgNode.id == ServiceCenter.org_id)
        .join(CheckinDailyCount, and_(CheckinDailyCount.center_id == ServiceCenter.id, in_range))
        .where(subtree_clause(OrgNode.path, org.path))
        .group_by(ServiceCenter.id, ServiceCenter.name, CheckinDailyCount.day)
        .order_by(ServiceCenter.id, CheckinDailyCount.day)
    ).all()
    centers: dict[int, dict] = {}
    days: dict[dt.date, int] = {}
    for center_id, name, day, count in rows:
        entry = centers.setdefault(center_id, {"center_id": center_id, "name": name, "checkins": 0})
        entry["checkins"] += int(count)
        if center_days:
            entry.setdefault("days", []).append({"day": day, "checkins": int(count)})
        days[day] = days.get(day, 0) + int(count)
    return {
        **period.echo(),
        "total": sum(days.values()),
        "centers": list(centers.values()),
        "days": [{"day": day, "checkins": days[day]} for day in sorted(days)],
    }
