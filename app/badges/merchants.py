"""Merchant plates (党员商户牌): a member who runs a shop applies, the business
zone's admins decide, customers scan the plate and leave feedback."""
from __future__ import annotations

from sqlalchemy import select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.badges.errors import NotABusinessZone, PlateNotApproved, PlateNotPending, PlateRevoked
from app.badges.models import MerchantFeedback, MerchantPlate
from app.badges.plate_codes import merchant_plate_token
from app.common import code_images, signed_codes
from app.common.db import utcnow
from app.common.geo import to_gcj02
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404, get_row
from app.common.transitions import Machine, Transition
from app.common.work import unit_of_work
from app.errors import NotFound
from app.extensions import db
from app.members.models import MemberIdentity
from app.members.services import require_active_member
from app.moderation import services as moderation
from app.orgs.models import OrgNode
from app.orgs.services import visible_node


def apply_plate(user: User, zone_id: int, shop_name: str, address: str,
                location: dict | None) -> MerchantPlate:
    """An application (pending) by an active member, in a business zone."""
    identity = require_active_member(user)
    zone = get_row(OrgNode, zone_id)
    if zone is None or zone.kind != "business_zone":
        raise NotABusinessZone()
    plate = MerchantPlate(owner_identity_id=identity.id, zone_id=zone.id, shop_name=shop_name,
                          address=address, code_key=signed_codes.new_key())
    if location:
        point = to_gcj02(location)
        plate.lat, plate.lng = point.lat, point.lng
    db.session.add(plate)
    db.session.commit()
    return plate


def managed_plate(actor: User, plate_id: int) -> MerchantPlate:
    """A plate the actor may decide on (``badges.manage`` on its zone)."""
    plate = get_or_404(MerchantPlate, plate_id)
    authorize(actor, "badges.manage", plate.zone)
    return plate


# A merchant plate: pending -> approved | rejected; approved -> revoked (the zone's admins).
PLATES = Machine(MerchantPlate, [
    Transition("approve", ("pending",), "approved", who="badges.manage"),
    Transition("reject", ("pending",), "rejected", who="badges.manage"),
    Transition("revoke", ("approved",), "revoked", who="badges.manage"),
], not_allowed=PlateNotPending)


def decide_plate(actor: User, plate_id: int, action: str, reason: str | None) -> MerchantPlate:
    """Approve, reject or revoke a plate. Of an approve and a reject at once,
    exactly one wins; the other is 409 ``state_changed`` naming the state now."""
    plate = managed_plate(actor, plate_id)
    if plate.state not in PLATES[action].sources:
        error = PlateNotApproved if action == "revoke" else PlateNotPending
        raise error({"state": plate.state, "action": action})
    with unit_of_work():
        before = audit.snapshot(plate, "state", "reason")
        PLATES.apply(plate, action, reason=reason, decided_by_id=actor.id, decided_at=utcnow())
        audit.record(actor, f"merchant_plate.{action}", plate, org_id=plate.zone_id, before=before,
                     after=audit.snapshot(plate, "state", "reason"))
    if action == "approve":
        code_images.warm_later(merchant_plate_token, plate)
    return plate


def list_plates(actor: User, zone_id: int, state: str | None, limit: int, cursor: str | None) -> Page:
    """Plates and applications under a zone of the actor's subtree, newest first."""
    zone = visible_node(actor, zone_id, "badges.manage")
    stmt = select(MerchantPlate).join(MerchantPlate.zone).where(subtree_clause(OrgNode.path, zone.path))
    if state:
        stmt = stmt.where(MerchantPlate.state == state)
    return keyset_page(stmt, (MerchantPlate.id,), limit, cursor, descending=True)


def my_plates(user: User, limit: int, cursor: str | None) -> Page:
    """The user's applications and plates, newest first (none without an identity)."""
    identity_id = select(MemberIdentity.id).where(MemberIdentity.user_id == user.id).scalar_subquery()
    stmt = select(MerchantPlate).where(MerchantPlate.owner_identity_id == identity_id)
    return keyset_page(stmt, (MerchantPlate.id,), limit, cursor, descending=True)


def leave_feedback(user: User, plate_id: int, score: int | None, comment: str) -> MerchantFeedback:
    """Feedback on an approved plate; its comment passes the content check first."""
    plate = get_or_404(MerchantPlate, plate_id)
    if plate.state == "revoked":
        raise PlateRevoked()
    if plate.state != "approved":
        raise NotFound()
    verdict = moderation.check_text("plate_feedback", {"comment": comment}, user)
    feedback = MerchantFeedback(plate_id=plate.id, user_id=user.id, score=score, comment=comment)
    db.session.add(feedback)
    moderation.record(verdict, feedback, org_id=plate.zone_id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return feedback


def list_feedback(actor: User, plate_id: int, limit: int, cursor: str | None) -> Page:
    """Feedback on a plate, newest first (the zone's admins)."""
    plate = managed_plate(actor, plate_id)
    stmt = select(MerchantFeedback).where(MerchantFeedback.plate_id == plate.id)
    return keyset_page(stmt, (MerchantFeedback.id,), limit, cursor, descending=True)


def merchant_plate_code(actor: User, plate_id: int) -> tuple[MerchantPlate, str]:
    """The approved plate and the token it carries (its owner or the zone's admins)."""
    plate = get_or_404(MerchantPlate, plate_id)
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == actor.id))
    if identity is None or identity.id != plate.owner_identity_id:
        authorize(actor, "badges.manage", plate.zone)
    if plate.state != "approved":
        raise PlateNotApproved()
    return plate, merchant_plate_token(plate)
