"""Help requests (点单).

Rules:
* A help request moves ``submitted`` → ``dispatched`` (it became a task) |
  ``rejected`` (with a reason) | ``cancelled`` (by the resident), and
  ``dispatched`` → ``closed`` when its task completes or is cancelled.
* The resident's phone is shown in full only to volunteers who accepted the
  task made from the request; everyone else sees it masked.
"""
from __future__ import annotations

from sqlalchemy import exists, select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, can, scope_clause
from app.common.db import utcnow
from app.common.geo import to_gcj02
from app.common.pagination import Page, keyset_page
from app.common.work import unit_of_work
from app.errors import NotFound, field_error
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.moderation import services as moderation
from app.notices.services import notify
from app.orgs.models import OrgNode
from app.tasks.errors import EndsBeforeStart
from app.tasks.machines import HELP_REQUEST
from app.tasks.models import HelpRequest, Participation, Task
from app.tasks.rules import HOLDING_PLACE, SERVING, get_community


def create_help_request(user: User, fields: dict) -> HelpRequest:
    community = get_community(fields["community_id"])
    if fields["window_end"] <= fields["window_start"]:
        raise EndsBeforeStart()
    phone = phones.normalize(fields["contact_phone"])
    if phone is None:
        raise field_error("contact_phone", "Not a mainland mobile number.")
    verdict = moderation.check_text("help_request", {"description": fields["description"],
                                                     "address": fields.get("address")}, user)
    request = HelpRequest(requester_id=user.id, community_id=community.id,
                          category=fields["category"], description=fields["description"],
                          address=fields.get("address", ""), window_start=fields["window_start"],
                          window_end=fields["window_end"], phone_encrypted=phones.encrypt(phone),
                          phone_masked=phones.mask(phone))
    if fields.get("location"):
        point = to_gcj02(fields["location"])
        request.lat, request.lng = point.lat, point.lng
    db.session.add(request)
    moderation.record(verdict, request, org_id=community.id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return request


def visible_help_request(user: User, request_id: int) -> HelpRequest:
    """The request if the user asked it, administers its community or accepted
    its task. Only a volunteer holding a place on one of its tasks sees the
    phone in full (``phone_visible``), and only until that task ends: once it
    is completed or cancelled, or its ``ends_at`` has passed, they see the
    masked phone like everyone else (the help is over; the record stays)."""
    request = db.session.get(HelpRequest, request_id)
    if request is None:
        raise NotFound()
    holding = (Participation.user_id == user.id, Participation.state.in_(HOLDING_PLACE),
               Participation.task_id == Task.id, Task.help_request_id == request.id)
    accepted = db.session.scalar(select(exists().where(*holding)))
    if not (request.requester_id == user.id or accepted or can(user, "tasks.manage", request.community)):
        raise NotFound()
    if not moderation.may_see(user, request, request.requester_id, request.community):
        raise NotFound()  # held for review: only its author and the admins
    if accepted and db.session.scalar(select(exists().where(
            *holding, Task.state.notin_(("completed", "cancelled")), Task.ends_at > utcnow()))):
        request.phone_visible = phones.decrypt(request.phone_encrypted)
    return request


def cancel_help_request(user: User, request_id: int) -> HelpRequest:
    """The resident withdraws a request not yet dispatched."""
    request = db.session.get(HelpRequest, request_id)
    if request is None or request.requester_id != user.id:
        raise NotFound()
    with unit_of_work():
        HELP_REQUEST.apply(request, "cancel", decided_at=utcnow())
    return request


def reject_help_request(actor: User, request_id: int, reason: str) -> HelpRequest:
    """The community declines a submitted request; the resident is told why.
    Of concurrent decisions (dispatch, reject, the resident's cancel) one wins."""
    request = db.session.get(HelpRequest, request_id)
    if request is None:
        raise NotFound()
    authorize(actor, "tasks.manage", request.community)
    with unit_of_work():
        HELP_REQUEST.apply(request, "reject", reject_reason=reason, decided_at=utcnow())
        audit.record(actor, "help_request.reject", request, org_id=request.community_id,
                     before={"state": "submitted"}, after={"state": "rejected", "reason": reason})
        notify([request.requester_id], "help_request_rejected", request_id=request.id, reason=reason)
    return request


def list_help_requests(actor: User, community_id: int | None, state: str | None, mine: bool,
                       limit: int, cursor: str | None) -> Page:
    stmt = select(HelpRequest)
    if mine:
        stmt = stmt.where(HelpRequest.requester_id == actor.id)
    else:
        stmt = stmt.join(HelpRequest.community).where(scope_clause(actor, "tasks.manage", OrgNode.path))
        if community_id is not None:
            stmt = stmt.where(HelpRequest.community_id == community_id)
    if state:
        stmt = stmt.where(HelpRequest.state == state)
    return keyset_page(stmt, (HelpRequest.id,), limit, cursor, descending=True)


def help_request_volunteers(user: User, request_id: int, limit: int, cursor: str | None) -> Page:
    """The volunteers on the task a request became, for the resident who asked
    (they confirm and rate each one who served: 评单) and the community's
    admins; anyone else gets 404. Party-member volunteers come with their
    masked name (as a badge shows it); a request not dispatched has none."""
    request = db.session.get(HelpRequest, request_id)
    if request is None or not (request.requester_id == user.id
                               or can(user, "tasks.manage", request.community)):
        raise NotFound()
    stmt = (select(Participation).join(Task, Task.id == Participation.task_id)
            .where(Task.help_request_id == request.id, Participation.state.in_(SERVING)))
    page = keyset_page(stmt, (Participation.id,), limit, cursor)
    user_ids = [p.user_id for p in page.items]
    names = dict(db.session.execute(
        select(MemberIdentity.user_id, RosterEntry.name).join(MemberIdentity.roster_entry)
        .where(MemberIdentity.user_id.in_(user_ids), MemberIdentity.status == "active")).all()) \
        if user_ids else {}
    for participation in page.items:
        name = names.get(participation.user_id)
        participation.volunteer_name = phones.mask_name(name) if name else None
    return page
