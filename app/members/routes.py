"""Roster import, binding a user to the roster, and member identities."""
from __future__ import annotations

import datetime as dt

from flask import current_app, url_for

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.common.transitions import StateChanged
from app.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed, field_error
from app.members import roster_import, services
from app.members.schemas import (
    ApproveSchema,
    BindingCreateSchema,
    BindingListArgsSchema,
    BindingRequestPageSchema,
    BindingRequestSchema,
    BindingResultSchema,
    IdentitySchema,
    MemberAdminSchema,
    MemberListArgsSchema,
    MemberPageSchema,
    RejectSchema,
    RosterFileSchema,
    RosterImportResultSchema,
    RosterPageSchema,
    StatusChangeSchema,
)
from app.wechat.errors import WeChatCodeInvalid, WeChatUnavailable

blp = Blueprint("members", __name__, description="Member identities")


@blp.route("/orgs/<int:org_id>/roster", methods=["POST"])
@login_required
@blp.arguments(RosterFileSchema, location="files")
@blp.response(200, RosterImportResultSchema)
@blp.errors(NotFound, Forbidden, roster_import.RosterInvalid, PayloadTooLarge, ValidationFailed)
def import_roster(files, org_id):
    """Import a roster (CSV or XLSX: name, phone, branch, join_date, status).

    All or nothing: a file with any bad row imports nothing and the answer
    lists every bad row (``details.rows``: row, column, error). Importing the
    same roster again updates entries instead of duplicating them.
    """
    limit = current_app.config["MAX_IMPORT_BYTES"]
    content = files["file"].read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge({"limit": limit})
    if not content:
        raise field_error("file", "The file is empty.")
    return roster_import.import_roster(current_user(), org_id, content, dt.date.today())


@blp.route("/orgs/<int:org_id>/roster", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, RosterPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_roster(args, org_id):
    """Roster entries under this node (phones masked)."""
    return services.list_roster(current_user(), org_id, args["limit"], args["cursor"])


@blp.route("/orgs/<int:org_id>/members", methods=["GET"])
@login_required
@blp.arguments(MemberListArgsSchema, location="query")
@blp.response(200, MemberPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_members(args, org_id):
    """Member identities under this node."""
    return services.list_members(current_user(), org_id, args.get("status"),
                                 args["limit"], args["cursor"])


@blp.route("/me/member-binding", methods=["POST"])
@login_required
@idempotent
@blp.arguments(BindingCreateSchema)
@blp.response(201, BindingResultSchema)
@blp.alt_response(202, schema=BindingResultSchema,
                  description="No clean roster match: a request waits for the branch admin")
@blp.errors(services.AlreadyMember, services.PhoneNotSupported, services.BranchRequired,
            Conflict, WeChatCodeInvalid, WeChatUnavailable, ValidationFailed, idempotent=True)
def bind_member(body):
    """Become a verified member: your name plus the code of WeChat's phone button.

    When name and the WeChat-verified phone match one roster entry, the
    identity is issued at once (201). Otherwise a request goes to the branch
    admin (202).
    """
    state, result = services.bind_member(current_user(), body["name"], body["phone_code"],
                                         body["branch_id"])
    if state == "active":
        return ({"state": state, "identity": result, "request": None}, 201,
                {"Location": url_for("members.my_identity")})
    return ({"state": state, "identity": None, "request": result}, 202,
            {"Location": url_for("members.my_binding")})


@blp.route("/me/member-binding", methods=["GET"])
@login_required
@blp.response(200, BindingRequestSchema)
@blp.errors(NotFound)
def my_binding():
    """Your latest binding request and its state."""
    return services.latest_binding_request(current_user())


@blp.route("/me/identity", methods=["GET"])
@login_required
@blp.response(200, IdentitySchema)
@blp.errors(NotFound)
def my_identity():
    """Your member card: name, branch, status, member since, identity number."""
    identity = services.identity_of(current_user().id)
    if identity is None:
        raise NotFound()
    return identity


@blp.route("/orgs/<int:org_id>/binding-requests", methods=["GET"])
@login_required
@blp.arguments(BindingListArgsSchema, location="query")
@blp.response(200, BindingRequestPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_binding_requests(args, org_id):
    """Binding requests waiting for (or decided by) this node's admins."""
    return services.list_binding_requests(current_user(), org_id, args.get("state"),
                                          args["limit"], args["cursor"])


@blp.route("/binding-requests/<int:request_id>/approve", methods=["POST"])
@login_required
@blp.arguments(ApproveSchema)
@blp.response(200, MemberAdminSchema)
@blp.errors(NotFound, Forbidden, services.RequestNotPending, services.PhoneAlreadyBound,
            services.InvalidStatusChange, StateChanged, ValidationFailed)
def approve_binding(body, request_id):
    """Approve a binding; ``join_date`` and ``member_status`` are needed when
    the phone is on no roster (the entry is created from the request)."""
    return services.approve_binding(current_user(), request_id, body["join_date"],
                                    body["member_status"])


@blp.route("/binding-requests/<int:request_id>/reject", methods=["POST"])
@login_required
@blp.arguments(RejectSchema)
@blp.response(200, BindingRequestSchema)
@blp.errors(NotFound, Forbidden, services.RequestNotPending, StateChanged, ValidationFailed)
def reject_binding(body, request_id):
    """Reject a binding request, with the reason the user will see."""
    return services.reject_binding(current_user(), request_id, body["reason"])


@blp.route("/members/<int:identity_id>/suspend", methods=["POST"])
@login_required
@blp.arguments(StatusChangeSchema)
@blp.response(200, MemberAdminSchema)
@blp.errors(NotFound, Forbidden, services.IdentityRevoked, services.InvalidStatusChange, StateChanged,
            ValidationFailed)
def suspend_member(body, identity_id):
    """Suspend an active identity (member-only actions stop)."""
    return services.change_identity_status(current_user(), identity_id, "suspend", body["reason"])


@blp.route("/members/<int:identity_id>/reinstate", methods=["POST"])
@login_required
@blp.arguments(StatusChangeSchema)
@blp.response(200, MemberAdminSchema)
@blp.errors(NotFound, Forbidden, services.IdentityRevoked, services.InvalidStatusChange, StateChanged,
            ValidationFailed)
def reinstate_member(body, identity_id):
    """Reinstate a suspended identity."""
    return services.change_identity_status(current_user(), identity_id, "reinstate", body["reason"])


@blp.route("/members/<int:identity_id>/revoke", methods=["POST"])
@login_required
@blp.arguments(StatusChangeSchema)
@blp.response(200, MemberAdminSchema)
@blp.errors(NotFound, Forbidden, services.IdentityRevoked, services.InvalidStatusChange, StateChanged,
            ValidationFailed)
def revoke_member(body, identity_id):
    """Revoke an identity for good; it takes effect on the member's next request."""
    return services.change_identity_status(current_user(), identity_id, "revoke", body["reason"])
