"""Dual report (双报到).

* A member reports to the community where they live. One confirmed
  residence at a time: confirming a new one ends the old one (kept, not
  deleted); a new request replaces a pending one.
* A unit's Party organization reports to a community and takes on service
  work there; one live report per unit and community.
The community's admins confirm or decline both kinds. Every state change
goes through the report's :class:`~app.common.transitions.Machine`: of a
confirm and a decline at once exactly one wins, the other gets 409
``state_changed``.
"""
from __future__ import annotations

from sqlalchemy import case, select

from app.audit import log
from app.auth.models import User
from app.auth.permissions import authorize
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404
from app.common.transitions import Machine, Transition
from app.common.work import unit_of_work
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.services import require_active_member
from app.orgs.models import UNIT_KINDS, MemberCommunityReport, OrgCommunityReport, OrgNode
from app.orgs.services import get_node, visible_node


class NotACommunity(ValidationFailed):
    code = "not_a_community"
    zh = "只能向社区报到。"
    en = "Reports go to a community."


class NotAUnit(ValidationFailed):
    code = "not_a_unit"
    zh = "只有单位党组织可以向社区报到（当前为“{kind}”）。"
    en = "Only a unit's Party organization can report to a community (this is a {kind})."


class AlreadyReported(Conflict):
    code = "already_reported"
    zh = "已向该社区报到。"
    en = "Already reported to this community."


class ReportNotPending(Conflict):
    code = "report_not_pending"
    zh = "该报到已处理。"
    en = "This report has already been decided."


# A member's report: pending -> confirmed | declined (the community's admins)
# | withdrawn (the member reporting elsewhere); confirmed -> ended (the member
# moved: a newer report was confirmed).
MEMBER_REPORTS = Machine(MemberCommunityReport, [
    Transition("confirm", ("pending",), "confirmed", who="reports.decide"),
    Transition("decline", ("pending",), "declined", who="reports.decide"),
    Transition("withdraw", ("pending",), "withdrawn", who="member"),
    Transition("end", ("confirmed",), "ended", who="reports.decide"),
], not_allowed=ReportNotPending)

# A unit's report: pending -> confirmed | declined (the community's admins).
ORG_REPORTS = Machine(OrgCommunityReport, [
    Transition("confirm", ("pending",), "confirmed", who="reports.decide"),
    Transition("decline", ("pending",), "declined", who="reports.decide"),
], not_allowed=ReportNotPending)


def _community(community_id: int) -> OrgNode:
    try:
        community = get_node(community_id)
    except NotFound:
        raise NotACommunity() from None
    if community.kind != "community":
        raise NotACommunity()
    return community


# ---- member report ----------------------------------------------------------

def current_member_report(user_id: int) -> MemberCommunityReport | None:
    """The confirmed residence report, else the pending one, else None."""
    return db.session.scalar(
        select(MemberCommunityReport)
        .where(MemberCommunityReport.user_id == user_id,
               MemberCommunityReport.state.in_(("confirmed", "pending")))
        # "confirmed" first: state.desc() would put "pending" before it.
        .order_by(case((MemberCommunityReport.state == "confirmed", 0), else_=1),
                  MemberCommunityReport.id.desc())
        .limit(1)
    )


def report_residence(user: User, community_id: int) -> MemberCommunityReport:
    """An active member asks to report to ``community_id``."""
    require_active_member(user)
    community = _community(community_id)
    active = db.session.scalars(select(MemberCommunityReport).where(
        MemberCommunityReport.user_id == user.id,
        MemberCommunityReport.state.in_(("confirmed", "pending")))).all()
    if any(r.community_id == community.id for r in active):
        raise AlreadyReported()
    report = MemberCommunityReport(user_id=user.id, community_id=community.id)
    with unit_of_work(conflict=AlreadyReported):  # a concurrent request from the same member
        for old in active:
            if old.state == "pending":
                MEMBER_REPORTS.apply(old, "withdraw", decided_at=utcnow())
        db.session.add(report)
    return report


def list_member_reports(actor: User, community_id: int, state: str | None, limit: int,
                        cursor: str | None) -> Page:
    """Members who reported to a community (seen by the community's admins)."""
    return _reports_to(MemberCommunityReport, actor, community_id, state, limit, cursor)


def _reports_to(model: type[MemberCommunityReport] | type[OrgCommunityReport], actor: User, community_id: int,
                state: str | None, limit: int, cursor: str | None) -> Page:
    """A community's reports of one kind, newest first (for its admins)."""
    community = visible_node(actor, community_id, "reports.decide")
    stmt = select(model).where(model.community_id == community.id)
    if state:
        stmt = stmt.where(model.state == state)
    return keyset_page(stmt, (model.id,), limit, cursor, descending=True)


def decide_member_report(actor: User, report_id: int, confirm: bool,
                         reason: str | None = None) -> MemberCommunityReport:
    """Confirm or decline a pending member report; confirming ends the member's
    previous residence (kept, not deleted)."""
    report = get_or_404(MemberCommunityReport, report_id)
    authorize(actor, "reports.decide", report.community)
    action = "confirm" if confirm else "decline"
    MEMBER_REPORTS.check(report, action)
    now = utcnow()
    with unit_of_work():
        if confirm:
            # The old residence ends first: one confirmed report per member is a
            # unique index, checked statement by statement.
            for old in db.session.scalars(select(MemberCommunityReport).where(
                    MemberCommunityReport.user_id == report.user_id,
                    MemberCommunityReport.state == "confirmed")).all():
                MEMBER_REPORTS.apply(old, "end", ended_at=now)
            MEMBER_REPORTS.apply(report, "confirm", decided_at=now, decided_by_id=actor.id)
        else:
            MEMBER_REPORTS.apply(report, "decline", decline_reason=reason, decided_at=now,
                                 decided_by_id=actor.id)
        log.record(actor, f"member_report.{action}", report, org_id=report.community_id,
                   before={"state": "pending"}, after={"state": report.state, "reason": reason})
    return report


# ---- organization report ----------------------------------------------------

def report_org(actor: User, org_id: int, community_id: int) -> OrgCommunityReport:
    """A unit's admin reports the unit's Party organization to a community."""
    org = visible_node(actor, org_id, "org.manage")
    if org.kind not in UNIT_KINDS:
        raise NotAUnit({"kind": org.kind})
    community = _community(community_id)
    live = db.session.scalar(select(OrgCommunityReport).where(
        OrgCommunityReport.org_id == org.id, OrgCommunityReport.community_id == community.id,
        OrgCommunityReport.state.in_(("pending", "confirmed"))))
    if live is not None:
        raise AlreadyReported()
    report = OrgCommunityReport(org_id=org.id, community_id=community.id, requested_by_id=actor.id)
    with unit_of_work(conflict=AlreadyReported):  # a concurrent report of the same pair
        db.session.add(report)
    return report


def list_org_reports(actor: User, community_id: int, state: str | None, limit: int,
                     cursor: str | None) -> Page:
    """Units that reported to a community (seen by the community's admins)."""
    return _reports_to(OrgCommunityReport, actor, community_id, state, limit, cursor)


def decide_org_report(actor: User, report_id: int, confirm: bool,
                      reason: str | None = None) -> OrgCommunityReport:
    """Confirm or decline a unit's pending report."""
    report = get_or_404(OrgCommunityReport, report_id)
    authorize(actor, "reports.decide", report.community)
    action = "confirm" if confirm else "decline"
    with unit_of_work():
        before = log.snapshot(report, "state")
        ORG_REPORTS.apply(report, action, decline_reason=None if confirm else reason,
                          decided_at=utcnow(), decided_by_id=actor.id)
        log.record(actor, f"org_report.{action}", report, org_id=report.community_id, before=before,
                   after={"state": report.state, "reason": None if confirm else reason})
    return report
