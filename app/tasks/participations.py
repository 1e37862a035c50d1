"""The district's volunteer figures (on their way to :mod:`app.stats`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.errors import ValidationFailed
from app.extensions import db
from app.members.models import MemberIdentity
from app.orgs.models import OrgNode
from app.orgs.services import visible_node
from app.tasks.models import HelpRequest, HoursEntry, Participation, Task, Volunteer
from app.tasks.rules import _hours


def volunteer_stats(actor: User, org_id: int, day_from: dt.datetime, day_to: dt.datetime) -> dict:
    """The district's figures for a subtree and period, each an indexed query."""
    org = visible_node(actor, org_id, "stats.read")
    in_tree = subtree_clause(OrgNode.path, org.path)
    if day_to <= day_from:
        raise ValidationFailed({"fields": {"to": ["Must be after 'from'."]}})
    # a member volunteer is one whose identity is active now (not when they registered)
    active_member = MemberIdentity.status == "active"
    members, others = db.session.execute(
        select(func.count(Volunteer.id).filter(active_member),
               func.count(Volunteer.id).filter(or_(MemberIdentity.id.is_(None), ~active_member)))
        .join(Volunteer.community)
        .outerjoin(MemberIdentity, MemberIdentity.user_id == Volunteer.user_id)
        .where(in_tree, Volunteer.created_at < day_to)).one()
    hours = db.session.scalar(
        select(func.coalesce(func.sum(HoursEntry.hours), 0))
        .join(OrgNode, OrgNode.id == HoursEntry.community_id)
        .where(in_tree, HoursEntry.created_at >= day_from, HoursEntry.created_at < day_to))
    person_times, average = db.session.execute(
        select(func.count(Participation.id), func.avg(Participation.score))
        .join(Task, Task.id == Participation.task_id).join(OrgNode, OrgNode.id == Task.community_id)
        .where(in_tree, Participation.state == "confirmed",
               Participation.confirmed_at >= day_from, Participation.confirmed_at < day_to)).one()
    requests = dict(db.session.execute(
        select(HelpRequest.state, func.count(HelpRequest.id)).join(HelpRequest.community)
        .where(in_tree, HelpRequest.created_at >= day_from, HelpRequest.created_at < day_to)
        .group_by(HelpRequest.state)).all())
    tasks = dict(db.session.execute(
        select(Task.state, func.count(Task.id)).join(Task.community)
        .where(in_tree, Task.starts_at >= day_from, Task.starts_at < day_to)
        .group_by(Task.state)).all())
    return {
        "org_id": org.id, "from": day_from, "to": day_to,
        "volunteers": {"members": members, "others": others, "total": members + others},
        "person_times": person_times, "hours": _hours(hours),
        "average_rating": round(float(average), 2) if average is not None else None,
        "requests_by_state": requests, "tasks_by_state": tasks,
    }
