"""The check-in figures of a subtree (moving to app/stats)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.checkin.models import CheckinDailyCount, ServiceCenter
from app.errors import field_error
from app.extensions import db
from app.orgs.models import OrgNode
from app.orgs.services import visible_node

SUCCESS_RESULTS = ("ok", "already_checked_in", "checked_out", "already_checked_out")


def checkin_stats(actor: User, org_id: int, day_from: dt.date, day_to: dt.date,
                  center_days: bool = False) -> dict:
    """Check-ins per center and per day for a subtree (and, with
    ``center_days``, each center's days), from the daily counts: the cost is
    centers × days in range, whatever the size of the history."""
    org = visible_node(actor, org_id, "stats.read")
    if day_to < day_from:
        raise field_error("to", "Must not be before 'from'.")
    if (day_to - day_from).days > 366:
        raise field_error("to", "At most 366 days per query.")
    in_range = and_(CheckinDailyCount.day >= day_from, CheckinDailyCount.day <= day_to)
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
        "org_id": org.id, "from": day_from, "to": day_to,
        "total": sum(days.values()),
        "centers": list(centers.values()),
        "days": [{"day": day, "checkins": days[day]} for day in sorted(days)],
    }
