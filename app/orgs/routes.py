"""The organization tree, roles on nodes, and the dual report."""
from __future__ import annotations

from flask import url_for

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.common.transitions import StateChanged
from app.errors import Forbidden, NotFound, ValidationFailed
from app.members.services import IdentityInactive, NotAMember
from app.orgs import reports, services
from app.orgs.schemas import (
    CommunityReportCreateSchema,
    DecideSchema,
    DirectoryArgsSchema,
    DirectoryPageSchema,
    GrantCreateSchema,
    GrantPageSchema,
    GrantSchema,
    MemberReportPageSchema,
    MemberReportSchema,
    OrgCreateSchema,
    OrgListArgsSchema,
    OrgMoveSchema,
    OrgPageSchema,
    OrgRenameSchema,
    OrgReportPageSchema,
    OrgReportSchema,
    OrgSchema,
    ReportListArgsSchema,
)

blp = Blueprint("orgs", __name__, description="Organization tree, roles and dual report")


@blp.route("/orgs", methods=["POST"])
@login_required
@blp.arguments(OrgCreateSchema)
@blp.response(201, OrgSchema)
@blp.errors(NotFound, Forbidden, services.InvalidParent, ValidationFailed)
def create_org(body):
    """Create a node under a parent in your subtree."""
    node = services.create_node(current_user(), body["parent_id"], body["kind"], body["name"])
    return node, 201, {"Location": url_for("orgs.get_org", org_id=node.id)}


@blp.route("/orgs", methods=["GET"])
@login_required
@blp.arguments(OrgListArgsSchema, location="query")
@blp.response(200, OrgPageSchema)
@blp.errors(NotFound, ValidationFailed)
def list_orgs(args):
    """Nodes you can see: the children of ``parent_id``, or your whole scope."""
    return services.list_nodes(current_user(), parent_id=args.get("parent_id"),
                               kind=args.get("kind"), limit=args["limit"], cursor=args["cursor"])


@blp.route("/org-directory", methods=["GET"])
@login_required
@blp.arguments(DirectoryArgsSchema, location="query")
@blp.response(200, DirectoryPageSchema)
@blp.errors(ValidationFailed)
def org_directory(args):
    """Streets, communities and Party branches by name, for anyone logged in:
    what a resident reports to and a member binds to. Names only."""
    return services.directory(args["kind"], args.get("parent_id"), args.get("q"), args["limit"],
                              args["cursor"])


@blp.route("/orgs/<int:org_id>", methods=["GET"])
@login_required
@blp.response(200, OrgSchema)
@blp.errors(NotFound)
def get_org(org_id):
    """One node of your subtree."""
    return services.visible_node(current_user(), org_id)


@blp.route("/orgs/<int:org_id>", methods=["PATCH"])
@login_required
@blp.arguments(OrgRenameSchema)
@blp.response(200, OrgSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def rename_org(body, org_id):
    """Rename a node."""
    return services.rename_node(current_user(), org_id, body["name"])


@blp.route("/orgs/<int:org_id>/move", methods=["POST"])
@login_required
@blp.arguments(OrgMoveSchema)
@blp.response(200, OrgSchema)
@blp.errors(NotFound, Forbidden, services.InvalidParent, services.MoveIntoOwnSubtree,
            services.RootNotMovable, ValidationFailed)
def move_org(body, org_id):
    """Move a node (and its subtree) under another parent; you must manage both."""
    return services.move_node(current_user(), org_id, body["parent_id"])


@blp.route("/orgs/<int:org_id>/roles", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, GrantPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_roles(args, org_id):
    """Roles granted on this node."""
    return services.list_grants(current_user(), org_id, args["limit"], args["cursor"])


@blp.route("/orgs/<int:org_id>/roles", methods=["POST"])
@login_required
@blp.arguments(GrantCreateSchema)
@blp.response(201, GrantSchema)
@blp.alt_response(200, schema=GrantSchema, description="The role was already granted")
@blp.errors(NotFound, Forbidden, services.RoleNotGrantable, services.UserNotFound, ValidationFailed)
def grant_role(body, org_id):
    """Grant a role on this node (valid for its subtree)."""
    grant, created = services.grant_role(current_user(), org_id, body["user_id"], body["role"])
    return grant, 201 if created else 200


@blp.route("/orgs/<int:org_id>/roles/<int:grant_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.errors(NotFound, Forbidden, services.RoleNotGrantable)
def revoke_role(org_id, grant_id):
    """Take a role back."""
    services.revoke_role(current_user(), org_id, grant_id)


# ---- dual report --------------------------------------------------------------

@blp.route("/orgs/<int:org_id>/community-reports", methods=["POST"])
@login_required
@idempotent
@blp.arguments(CommunityReportCreateSchema)
@blp.response(201, OrgReportSchema)
@blp.errors(NotFound, Forbidden, reports.NotAUnit, reports.NotACommunity,
            reports.AlreadyReported, ValidationFailed, idempotent=True)
def report_org(body, org_id):
    """A unit's Party organization reports to a community (组织报到)."""
    report = reports.report_org(current_user(), org_id, body["community_id"])
    return report, 201, {"Location": url_for(
        "orgs.list_org_reports", org_id=report.community_id)}


@blp.route("/orgs/<int:org_id>/community-reports", methods=["GET"])
@login_required
@blp.arguments(ReportListArgsSchema, location="query")
@blp.response(200, OrgReportPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_org_reports(args, org_id):
    """Units that reported to this community."""
    return reports.list_org_reports(current_user(), org_id, args.get("state"),
                                    args["limit"], args["cursor"])


@blp.route("/orgs/<int:org_id>/member-reports", methods=["GET"])
@login_required
@blp.arguments(ReportListArgsSchema, location="query")
@blp.response(200, MemberReportPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_member_reports(args, org_id):
    """Members who reported to this community as residents."""
    return reports.list_member_reports(current_user(), org_id, args.get("state"),
                                       args["limit"], args["cursor"])


@blp.route("/community-reports/<int:report_id>/confirm", methods=["POST"])
@login_required
@blp.arguments(DecideSchema)
@blp.response(200, OrgReportSchema)
@blp.errors(NotFound, Forbidden, reports.ReportNotPending, StateChanged, ValidationFailed)
def confirm_community_report(body, report_id):
    """Confirm a pending community report (the community's admins)."""
    return reports.decide_org_report(current_user(), report_id, True, body.get("reason"))


@blp.route("/community-reports/<int:report_id>/decline", methods=["POST"])
@login_required
@blp.arguments(DecideSchema)
@blp.response(200, OrgReportSchema)
@blp.errors(NotFound, Forbidden, reports.ReportNotPending, StateChanged, ValidationFailed)
def decline_community_report(body, report_id):
    """Decline a pending community report (the community's admins)."""
    return reports.decide_org_report(current_user(), report_id, False, body.get("reason"))


@blp.route("/member-reports/<int:report_id>/confirm", methods=["POST"])
@login_required
@blp.arguments(DecideSchema)
@blp.response(200, MemberReportSchema)
@blp.errors(NotFound, Forbidden, reports.ReportNotPending, StateChanged, ValidationFailed)
def confirm_member_report(body, report_id):
    """Confirm a pending member report (the community's admins)."""
    return reports.decide_member_report(current_user(), report_id, True, body.get("reason"))


@blp.route("/member-reports/<int:report_id>/decline", methods=["POST"])
@login_required
@blp.arguments(DecideSchema)
@blp.response(200, MemberReportSchema)
@blp.errors(NotFound, Forbidden, reports.ReportNotPending, StateChanged, ValidationFailed)
def decline_member_report(body, report_id):
    """Decline a pending member report (the community's admins)."""
    return reports.decide_member_report(current_user(), report_id, False, body.get("reason"))


@blp.route("/me/community-report", methods=["POST"])
@login_required
@idempotent
@blp.arguments(CommunityReportCreateSchema)
@blp.response(201, MemberReportSchema)
@blp.errors(NotAMember, IdentityInactive, reports.NotACommunity, reports.AlreadyReported,
            StateChanged, ValidationFailed, idempotent=True)
def report_residence(body):
    """Report, as a member, to the community where you live (党员报到)."""
    report = reports.report_residence(current_user(), body["community_id"])
    return report, 201, {"Location": url_for("orgs.my_community_report")}


@blp.route("/me/community-report", methods=["GET"])
@login_required
@blp.response(200, MemberReportSchema)
@blp.errors(NotFound)
def my_community_report():
    """Your residence report: the confirmed one, else the pending one."""
    report = reports.current_member_report(current_user().id)
    if report is None:
        raise NotFound()
    return report
