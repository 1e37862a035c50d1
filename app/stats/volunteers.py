"""Volunteer service figures (GET /stats/volunteers and its export), over
the local days of the period: hours, person-times and ratings from the daily
aggregate (communities × days, whatever the size of the ledger), the rest by
index from the subtree's communities."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.auth.models import User
from app.extensions import db
from app.members.models import MemberIdentity
from app.orgs.services import visible_node
from app.stats.period import Period
from app.stats.sql import subtree_ids
from app.tasks.models import HelpRequest, Task, Volunteer, VolunteerDaily
from app.tasks.rules import as_hours


def volunteer_stats(actor: User, period: Period) -> dict:
    """The district's figures for a subtree and period, each an indexed query;
    volunteers are those registered by the period's end."""
    org = visible_node(actor, period.org_id, "stats.read")
    ids = subtree_ids(org.path)
    start, end = period.utc_bounds()
    # a member volunteer is one whose identity is active now (not when they registered)
    active_member = MemberIdentity.status == "active"
    members, others = db.session.execute(
        select(func.count(Volunteer.id).filter(active_member),
               func.count(Volunteer.id).filter(or_(MemberIdentity.id.is_(None), ~active_member)))
        .select_from(Volunteer)
        .outerjoin(MemberIdentity, MemberIdentity.user_id == Volunteer.user_id)
        .where(Volunteer.community_id.in_(ids), Volunteer.created_at < end)).one()
    hours, person_times, score_sum, score_count = db.session.execute(
        select(func.coalesce(func.sum(VolunteerDaily.hours), 0),
               func.coalesce(func.sum(VolunteerDaily.person_times), 0),
               func.coalesce(func.sum(VolunteerDaily.score_sum), 0),
               func.coalesce(func.sum(VolunteerDaily.score_count), 0))
        .where(VolunteerDaily.community_id.in_(ids),
               VolunteerDaily.day >= period.first, VolunteerDaily.day <= period.last)).one()
    requests = dict(db.session.execute(
        select(HelpRequest.state, func.count(HelpRequest.id))
        .where(HelpRequest.community_id.in_(ids), HelpRequest.created_at >= start, HelpRequest.created_at < end)
        .group_by(HelpRequest.state)).all())
    tasks = dict(db.session.execute(
        select(Task.state, func.count(Task.id))
        .where(Task.community_id.in_(ids), Task.starts_at >= start, Task.starts_at < end)
        .group_by(Task.state)).all())
    return {
        **period.echo(),
        "volunteers": {"members": members, "others": others, "total": members + others},
        "person_times": int(person_times), "hours": as_hours(hours),
        "average_rating": round(int(score_sum) / int(score_count), 2) if score_count else None,
        "requests_by_state": requests, "tasks_by_state": tasks,
    }
