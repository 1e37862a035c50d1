"""Member identities: binding a user to the roster, and status (importing
the roster itself is :mod:`app.members.roster_import`).

Rules:
* Binding issues an active identity only when the WeChat-verified phone and
  the given name match one roster entry that nobody holds yet; every other
  case becomes a pending request for a branch admin.
* A suspended or revoked identity stops every member-only action at once
  (:func:`require_active_member` reads the status on every call).
* Every status change (identity: suspend / reinstate / revoke / reissue;
  binding request: approve / reject / withdraw) is claimed through its
  :class:`~app.common.transitions.Machine`, so that of two admins acting on
  one record at once exactly one wins and the other gets 409 ``state_changed``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.audit import log
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404, get_row
from app.common.transitions import Machine, Transition
from app.common.work import unit_of_work
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from app.extensions import db
from app.members import phones
from app.members.models import BindingRequest, MemberIdentity, RosterEntry
from app.orgs.models import BRANCH_KINDS, OrgNode
from app.orgs.services import visible_node
from app.subscriptions.services import announce
from app.wechat.client import get_wechat


class NotAMember(Forbidden):
    code = "not_a_member"
    zh = "此操作仅限已认证的党员。"
    en = "Only verified Party members can do this."


class IdentityInactive(Forbidden):
    code = "identity_inactive"
    zh = "您的党员身份当前为“{status}”状态，无法进行此操作。"
    en = "Your member identity is {status}; this action is not available."


class AlreadyMember(Conflict):
    code = "already_member"
    zh = "您已绑定党员身份。"
    en = "You already hold a member identity."


class PhoneNotSupported(ValidationFailed):
    code = "phone_not_supported"
    zh = "仅支持中国大陆手机号。"
    en = "Only mainland China mobile numbers can be bound."


class BranchRequired(ValidationFailed):
    code = "branch_required"
    zh = "名单中没有该手机号，请选择您所在的党支部，由支部管理员审核。"
    en = "This phone is not on any roster; choose your branch so that its admin can review."


class RequestNotPending(Conflict):
    code = "request_not_pending"
    zh = "该申请已处理。"
    en = "This request has already been decided."


class PhoneAlreadyBound(Conflict):
    code = "phone_already_bound"
    zh = "该手机号已绑定其他用户的党员身份。"
    en = "This phone is already bound to another user's member identity."


class IdentityRevoked(Conflict):
    code = "identity_revoked"
    zh = "该党员身份已被撤销，不能再变更。"
    en = "This identity is revoked; it cannot be changed."


class InvalidStatusChange(Conflict):
    code = "invalid_status_change"
    zh = "党员身份当前为“{status}”，不能执行此操作。"
    en = "The identity is {status}; this change is not possible."

    def __init__(self, details: dict | None = None, **kwargs):
        details = dict(details or {})
        if "state" in details:  # raised by the Machine, which names it "state"
            details.setdefault("status", details["state"])
        super().__init__(details, **kwargs)


# The lifecycle of an identity: (from, action, who) -> to. ``reissue`` is a
# revoked member binding again and being approved (or matching the roster).
IDENTITY = Machine(MemberIdentity, [
    Transition("suspend", ("active",), "suspended", who="members.manage"),
    Transition("reinstate", ("suspended",), "active", who="members.manage"),
    Transition("revoke", ("active", "suspended"), "revoked", who="members.manage"),
    Transition("reissue", ("revoked",), "active", who="members.manage"),
    # the member closed their account (app.auth.cancellation); final
    Transition("close", ("active", "suspended", "revoked"), "closed", who="self"),
], column="status", not_allowed=InvalidStatusChange)

# A binding request: pending -> approved | rejected (a branch admin) | withdrawn
# (the user binding again).
BINDING = Machine(BindingRequest, [
    Transition("approve", ("pending",), "approved", who="members.manage"),
    Transition("reject", ("pending",), "rejected", who="members.manage"),
    Transition("withdraw", ("pending",), "withdrawn", who="requester"),
], not_allowed=RequestNotPending)


# ---- roster ---------------------------------------------------------------

def list_roster(actor: User, org_id: int, limit: int, cursor: str | None) -> Page:
    org = visible_node(actor, org_id, "members.manage")
    stmt = (select(RosterEntry).join(RosterEntry.branch)
            .where(subtree_clause(OrgNode.path, org.path)))
    return keyset_page(stmt, (RosterEntry.id,), limit, cursor)


# ---- identities -----------------------------------------------------------

def identity_of(user_id: int) -> MemberIdentity | None:
    return db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == user_id))


def require_active_member(user: User) -> MemberIdentity:
    """The user's identity if it is active; else 403 ``not_a_member``/``identity_inactive``.
    Read from the request's own user row (loaded with it), so a revocation
    takes effect on the member's very next request."""
    identity = user.identity
    if identity is None:
        raise NotAMember()
    if not identity.is_active:
        raise IdentityInactive({"status": identity.status})
    return identity


def _issue_identity(user_id: int, entry: RosterEntry, previous: MemberIdentity | None) -> MemberIdentity:
    """A new identity, or the user's revoked one issued again (claimed: a
    revoked identity is only ever reissued once, and never a live one)."""
    now = utcnow()
    if previous is not None:
        IDENTITY.apply(previous, "reissue", roster_entry_id=entry.id, branch_id=entry.branch_id,
                       status_reason=None, status_changed_at=now, issued_at=now)
        return previous
    identity = MemberIdentity(user_id=user_id, identity_no=f"pending-{user_id}",
                              roster_entry=entry, branch=entry.branch, status="active",
                              status_reason=None, status_changed_at=now, issued_at=now)
    db.session.add(identity)
    db.session.flush()
    identity.identity_no = f"DY{now.year}{identity.id:07d}"
    return identity


def bind_member(user: User, name: str, phone_code: str, branch_id: int | None):
    """Bind ``user`` to the roster with a WeChat-verified phone.

    Returns ``("active", identity)`` on a clean match, else
    ``("pending", request)``; a previous pending request is withdrawn.
    """
    previous = identity_of(user.id)
    if previous is not None and previous.status != "revoked":
        raise AlreadyMember()
    name = name.strip()
    if not name:  # checked before WeChat, so that the phone code is not used up
        raise field_error("name", "Required.")
    info = get_wechat().get_phone_number(phone_code)
    phone = phones.normalize(info.pure_phone_number) if info.country_code == "86" else None
    if phone is None:
        raise PhoneNotSupported()
    phone_hash = phones.lookup_hash(phone)
    entry = db.session.scalar(select(RosterEntry).where(
        RosterEntry.phone_hash.in_(phones.lookup_hashes(phone))))
    holder = entry and db.session.scalar(
        select(MemberIdentity).where(MemberIdentity.roster_entry_id == entry.id))

    if entry is not None and entry.name == name and holder is None and previous is None:
        with unit_of_work(conflict=Conflict):
            identity = _issue_identity(user.id, entry, None)
            _withdraw_pending(user.id)
        return "active", identity

    if entry is not None:
        org = entry.branch
        mismatch = "name_mismatch" if entry.name != name else \
            "previously_revoked" if previous is not None else "already_bound"
    else:
        if branch_id is None:
            raise BranchRequired()
        branch = get_row(OrgNode, branch_id)
        if branch is None or branch.kind not in BRANCH_KINDS:
            raise field_error("branch_id", "Not a Party branch.")
        org = branch
        mismatch = "previously_revoked" if previous is not None else "not_in_roster"
    with unit_of_work(conflict=Conflict):
        _withdraw_pending(user.id)
        request = BindingRequest(user_id=user.id, org_id=org.id, name=name,
                                 phone_encrypted=phones.encrypt(phone), phone_hash=phone_hash,
                                 phone_masked=phones.mask(phone), mismatch=mismatch)
        db.session.add(request)
    return "pending", request


def _withdraw_pending(user_id: int) -> None:
    for request in db.session.scalars(select(BindingRequest).where(
            BindingRequest.user_id == user_id, BindingRequest.state == "pending")).all():
        BINDING.apply(request, "withdraw")


def latest_binding_request(user: User) -> BindingRequest:
    request = db.session.scalar(select(BindingRequest).where(BindingRequest.user_id == user.id)
                                .order_by(BindingRequest.id.desc()).limit(1))
    if request is None:
        raise NotFound()
    return request


def list_binding_requests(actor: User, org_id: int, state: str | None, limit: int,
                          cursor: str | None) -> Page:
    org = visible_node(actor, org_id, "members.manage")
    stmt = select(BindingRequest).join(BindingRequest.org).where(subtree_clause(OrgNode.path, org.path))
    if state:
        stmt = stmt.where(BindingRequest.state == state)
    return keyset_page(stmt, (BindingRequest.id,), limit, cursor, descending=True)


def _pending_request(actor: User, request_id: int, action: str) -> BindingRequest:
    request = get_or_404(BindingRequest, request_id)
    authorize(actor, "members.manage", request.org)
    BINDING.check(request, action)  # 409 request_not_pending before any write
    return request


def approve_binding(actor: User, request_id: int, join_date: dt.date | None,
                    member_status: str | None) -> MemberIdentity:
    """Approve a pending binding: the user gets the roster entry of that phone
    (created from the request when the phone is on no roster yet). Of an
    approve and a reject at once, one wins; the other is 409 ``state_changed``."""
    request = _pending_request(actor, request_id, "approve")
    entry = db.session.scalar(select(RosterEntry).where(RosterEntry.phone_hash == request.phone_hash))
    if entry is None:
        missing = {f: ["Required when the phone is on no roster."]
                   for f, v in (("join_date", join_date), ("member_status", member_status)) if v is None}
        if join_date is not None and join_date > dt.date.today():  # as the roster import checks
            missing["join_date"] = ["In the future."]
        if missing:
            raise ValidationFailed({"fields": missing})
    else:
        authorize(actor, "members.manage", entry.branch)
    with unit_of_work(conflict=PhoneAlreadyBound):  # a concurrent approval took the entry or the phone
        BINDING.apply(request, "approve", decided_at=utcnow(), decided_by_id=actor.id)
        if entry is None:
            entry = RosterEntry(branch_id=request.org_id, name=request.name,
                                phone_encrypted=request.phone_encrypted, phone_hash=request.phone_hash,
                                phone_masked=request.phone_masked, join_date=join_date,
                                member_status=member_status)
            db.session.add(entry)
            db.session.flush()
        holder = db.session.scalar(select(MemberIdentity).where(MemberIdentity.roster_entry_id == entry.id))
        if holder is not None and holder.user_id != request.user_id:
            raise PhoneAlreadyBound()
        identity = _issue_identity(request.user_id, entry, identity_of(request.user_id))
        announce([request.user_id], "identity_approved", identity.id,
                 {"title": "党员身份认证", "status": "已通过", "time": utcnow(), "note": entry.branch.name},
                 version=request.id, identity_id=identity.id, branch=entry.branch.name)
        log.record(actor, "binding.approve", request, org_id=request.org_id, before={"state": "pending"},
                   after={"state": "approved", "identity_id": identity.id, "roster_entry_id": entry.id})
    return identity


def reject_binding(actor: User, request_id: int, reason: str) -> BindingRequest:
    """Reject a pending binding request with the reason the user sees."""
    request = _pending_request(actor, request_id, "reject")
    with unit_of_work():
        BINDING.apply(request, "reject", reject_reason=reason, decided_at=utcnow(),
                      decided_by_id=actor.id)
        log.record(actor, "binding.reject", request, org_id=request.org_id, before={"state": "pending"},
                   after={"state": "rejected", "reason": reason})
    return request


def list_members(actor: User, org_id: int, status: str | None, limit: int,
                 cursor: str | None) -> Page:
    org = visible_node(actor, org_id, "members.manage")
    stmt = (select(MemberIdentity).join(MemberIdentity.branch)
            .where(subtree_clause(OrgNode.path, org.path)))
    if status:
        stmt = stmt.where(MemberIdentity.status == status)
    return keyset_page(stmt, (MemberIdentity.id,), limit, cursor)


def change_identity_status(actor: User, identity_id: int, action: str,
                           reason: str | None) -> MemberIdentity:
    """Suspend, reinstate or revoke an identity in the actor's subtree.
    Revocation is final and takes effect on the member's very next request.
    Of two changes at once (a suspend and a revoke), exactly one wins; the
    other is 409 ``state_changed`` naming the status now stored."""
    identity = get_or_404(MemberIdentity, identity_id)
    authorize(actor, "members.manage", identity.branch)
    if identity.status == "revoked":
        raise IdentityRevoked({"status": "revoked", "state": "revoked", "action": action})
    with unit_of_work():
        now = utcnow()
        before = log.snapshot(identity, "status", "status_reason")
        IDENTITY.apply(identity, action, status_reason=reason, status_changed_at=now)
        log.record(actor, f"identity.{action}", identity, org_id=identity.branch_id, before=before,
                   after=log.snapshot(identity, "status", "status_reason"))
        if action == "revoke":
            announce([identity.user_id], "identity_revoked", identity.id,
                     {"title": "党员身份", "status": "已撤销", "time": now, "note": reason},
                     version=int(now.timestamp()), identity_id=identity.id, reason=reason)
    return identity
