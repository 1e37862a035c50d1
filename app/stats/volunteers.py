"""Volunteer service figures (GET /stats/volunteers and its export), over
the UTC times of the period's local days."""
from __future__ import annotations

from sqlalchemy import Float, func, or_, select

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.extensions import db
from app.members.models import MemberIdentity
from app.orgs.models import OrgNode
from app.orgs.services import visible_node
from app.stats.period import Period
from app.tasks.models import HelpRequest, HoursEntry, Participation, Task, Volunteer
from app.tasks.rules import as_hours


def volunteer_stats(actor: User, period: Period) -> dict:
    """The district's figures for a subtree and period, each an indexed query;
    volunteers are those registered by the period's end."""
    org = visible_node(actor, period.org_id, "stats.read")
    in_tree = subtree_clause(OrgNode.path, org.path)
    start, end = period.utc_bounds()
    # a member volunteer is one whose identity is active now (not when they registered)
    active_member = MemberIdentity.status == "active"
    members, others = db.session.execute(
        select(func.count(Volunteer.id).filter(active_member),
               func.count(Volunteer.id).filter(or_(MemberIdentity.id.is_(None), ~active_member)))
        .join(Volunteer.community)
        .outerjoin(MemberIdentity, MemberIdentity.user_id == Volunteer.user_id)
        .where(in_tree, Volunteer.created_at < end)).one()
    hours = db.session.scalar(
        select(func.coalesce(func.sum(HoursEntry.hours), 0))
        .join(OrgNode, OrgNode.id == HoursEntry.community_id)
        .where(in_tree, HoursEntry.created_at >= start, HoursEntry.created_at < end))
    person_times, average = db.session.execute(
        select(func.count(Participation.id), func.avg(Participation.score, type_=Float))
        .join(Task, Task.id == Participation.task_id).join(OrgNode, OrgNode.id == Task.community_id)
        .where(in_tree, Participation.state == "confirmed",
               Participation.confirmed_at >= start, Participation.confirmed_at < end)).one()
    requests = dict(db.session.execute(
        select(HelpRequest.state, func.count(HelpRequest.id)).join(HelpRequest.community)
        .where(in_tree, HelpRequest.created_at >= start, HelpRequest.created_at < end)
        .group_by(HelpRequest.state)).all())
    tasks = dict(db.session.execute(
        select(Task.state, func.count(Task.id)).join(Task.community)
        .where(in_tree, Task.starts_at >= start, Task.starts_at < end)
        .group_by(Task.state)).all())
    return {
        **period.echo(),
        "volunteers": {"members": members, "others": others, "total": members + others},
        "person_times": person_times, "hours": as_hours(hours),
        "average_rating": round(float(average), 2) if average is not None else None,
        "requests_by_state": requests, "tasks_by_state": tasks,
    }
