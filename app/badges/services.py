"""Identity badges, service posts, merchant plates, and what residents do with them.

Rules:
* Only an active member gets a badge; a badge lives ``BADGE_TTL`` seconds.
  Verification checks format, key, signature and expiry, then the
  identity's status *now*: a revoked member's badge fails at once.
* A plate is a static signed code (the shared signed-code mechanism, with
  its own kind byte, so a badge is never a plate and a plate never a badge).
* An assigned member scans their own post's plate to go on duty and again
  to go off duty.
* One rating per user, post and local day; scores 1–5.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.badges import keys
from app.badges.models import (
    BadgeShown,
    DutySession,
    MerchantFeedback,
    MerchantPlate,
    PlateScan,
    PostAssignment,
    PostRating,
    ServicePost,
)
from app.common import code_images, signed_codes
from app.common.db import utcnow
from app.common.geo import to_gcj02
from app.common.pagination import Page, keyset_page
from app.common.schemas import MAX_ID
from app.common.transitions import Machine, StateChanged, Transition
from app.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity
from app.members.services import require_active_member
from app.moderation import services as moderation
from app.orgs.models import OrgNode
from app.orgs.services import visible_node

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class InvalidPlateCode(BadRequest):
    code = "invalid_plate_code"
    zh = "这不是有效的党员示范岗或党员商户牌二维码（{why}）。"
    en = "This is not a valid post or merchant plate code ({why})."


class BadgeNotPlate(InvalidPlateCode):
    code = "badge_not_plate"
    zh = "这是党员身份码，请使用“验证党员身份”功能扫描。"
    en = "This is a member badge, not a plate; verify it with the badge scanner."


class NotAssigned(Forbidden):
    code = "not_assigned_to_post"
    zh = "您不是该示范岗的在岗党员。"
    en = "You are not assigned to this post."


class AlreadyRatedToday(Conflict):
    code = "already_rated_today"
    zh = "您今天已评价过该示范岗。"
    en = "You have already rated this post today."


class PlateRevoked(Conflict):
    code = "plate_revoked"
    zh = "该党员商户牌已被撤销。"
    en = "This merchant plate has been revoked."


class PlateNotPending(Conflict):
    code = "plate_not_pending"
    zh = "该申请已处理。"
    en = "This application has already been decided."


class PlateNotApproved(Conflict):
    code = "plate_not_approved"
    zh = "该商户牌尚未获批或已撤销。"
    en = "This plate is not (or no longer) approved."


class NotABusinessZone(ValidationFailed):
    code = "not_a_business_zone"
    zh = "党员商户牌须挂靠商圈。"
    en = "Merchant plates belong to a business zone."


def _get(model, row_id: int):
    """The row, or None; also for an id no row can have (ids from a request
    body or a scanned code can exceed PostgreSQL's 32-bit integer)."""
    return db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None


# ---- badges ------------------------------------------------------------------

def my_badge(user: User) -> tuple[str, dt.datetime]:
    """A fresh badge token for the user's active identity."""
    identity = require_active_member(user)
    token, expires_at = keys.sign_badge(identity, utcnow())
    return f"{current_app.config['QR_BASE_URL']}/b/{token}", expires_at


def _badge_token(text: str) -> str:
    text = text.strip()
    prefix = current_app.config["QR_BASE_URL"] + "/b/"
    return text[len(prefix):] if text.startswith(prefix) else text


@dataclass
class Verification:
    valid: bool
    reason: str | None
    member: dict | None


def verify_badge(verifier: User, code: str, location: dict | None) -> Verification:
    """Check a scanned badge; a valid one is recorded as "identity shown"."""
    now = utcnow()
    check = keys.check_signature(_badge_token(code), now)
    if check.payload is None or not check.valid:
        return Verification(False, check.reason, None)
    identity = db.session.scalar(select(MemberIdentity).where(
        MemberIdentity.badge_ref == check.payload["r"]))
    if identity is None or identity.status not in ("active", "suspended"):  # revoked, closed
        return Verification(False, "identity_revoked", None)
    if identity.status == "suspended":
        return Verification(False, "identity_suspended", None)
    shown = BadgeShown(identity_id=identity.id, branch_id=identity.branch_id,
                       verifier_id=verifier.id, shown_at=now)
    if location:
        point = to_gcj02(location)
        shown.lat, shown.lng = point.lat, point.lng
    db.session.add(shown)
    db.session.commit()
    entry = identity.roster_entry
    return Verification(True, None, {
        "display_name": phones.mask_name(entry.name), "branch": identity.branch.name,
        "member_status": entry.member_status, "member_since_year": entry.join_date.year})


def badge_shown(user: User, limit: int, cursor: str | None) -> Page:
    identity = require_active_member(user)
    stmt = select(BadgeShown).where(BadgeShown.identity_id == identity.id)
    return keyset_page(stmt, (BadgeShown.id,), limit, cursor, descending=True)


def rotate_badge_key(actor: User) -> keys.BadgeKey:
    """District admins only: a rotation is district-wide."""
    district = audit.district_of(actor)
    if district is None:
        raise Forbidden()
    return keys.rotate(actor, district)


# ---- service posts -----------------------------------------------------------

POST_FIELDS = ("name", "unit", "window", "service_items")


def create_post(actor: User, org_id: int, fields: dict) -> ServicePost:
    """A post in the actor's subtree; its name passes the content check first."""
    org = visible_node(actor, org_id, "badges.manage")
    verdict = moderation.check_text("service_post", {"name": fields.get("name")}, actor)
    post = ServicePost(org_id=org.id, code_key=signed_codes.new_key())
    _apply_post(post, fields)
    db.session.add(post)
    moderation.record(verdict, post, org_id=org.id, author_id=actor.id)
    audit.record(actor, "post.create", post, org_id=org.id, after=audit.state(post))
    db.session.commit()
    code_images.warm_later(post_plate_token, post)
    moderation.after_commit(verdict)
    return post


def _apply_post(post: ServicePost, fields: dict) -> None:
    for key in POST_FIELDS:
        if key in fields:
            setattr(post, key, fields[key])
    if fields.get("location"):
        point = to_gcj02(fields["location"])
        post.lat, post.lng = point.lat, point.lng


def get_post(post_id: int) -> ServicePost:
    post = db.session.get(ServicePost, post_id)
    if post is None or post.deleted_at is not None:
        raise NotFound()
    return post


def managed_post(actor: User, post_id: int) -> ServicePost:
    post = get_post(post_id)
    authorize(actor, "badges.manage", post.org)
    return post


def public_post(user: User, post_id: int) -> ServicePost:
    """A post as anyone sees it: a post whose name is held for review only
    for the admins of its org."""
    post = get_post(post_id)
    if not moderation.may_see(user, post, None, post.org):
        raise NotFound()
    return post


def update_post(actor: User, post_id: int, fields: dict) -> ServicePost:
    post = managed_post(actor, post_id)
    name = fields.get("name")
    verdict = moderation.check_text("service_post", {"name": name if name != post.name else None}, actor)
    before = audit.state(post)
    _apply_post(post, fields)
    moderation.record(verdict, post, org_id=post.org_id, author_id=actor.id)
    audit.record_change(actor, "post.update", post, before, org_id=post.org_id)
    db.session.commit()
    moderation.after_commit(verdict)
    return post


def list_posts(actor: User, org_id: int, limit: int, cursor: str | None) -> Page:
    org = visible_node(actor, org_id, "badges.manage")
    stmt = (select(ServicePost).join(ServicePost.org)
            .where(subtree_clause(OrgNode.path, org.path), ServicePost.deleted_at.is_(None)))
    return keyset_page(stmt, (ServicePost.id,), limit, cursor)


def assign_member(actor: User, post_id: int, identity_id: int) -> PostAssignment:
    post = managed_post(actor, post_id)
    identity = _get(MemberIdentity, identity_id)
    if identity is None:
        raise NotFound()
    authorize(actor, "members.manage", identity.branch)
    existing = db.session.scalar(select(PostAssignment).where(
        PostAssignment.post_id == post.id, PostAssignment.identity_id == identity.id))
    if existing:
        return existing
    assignment = PostAssignment(post_id=post.id, identity_id=identity.id)
    db.session.add(assignment)
    audit.record(actor, "post.assign", assignment, org_id=post.org_id,
                 after={"post_id": post.id, "identity_id": identity.id})
    db.session.commit()
    return assignment


def unassign_member(actor: User, post_id: int, identity_id: int) -> None:
    post = managed_post(actor, post_id)
    assignment = db.session.scalar(select(PostAssignment).where(
        PostAssignment.post_id == post.id, PostAssignment.identity_id == identity_id))
    if assignment is None:
        raise NotFound()
    for session in db.session.scalars(select(DutySession).where(
            DutySession.post_id == post.id, DutySession.identity_id == identity_id,
            DutySession.ended_at.is_(None))):
        session.ended_at = utcnow()
    audit.record(actor, "post.unassign", assignment, org_id=post.org_id,
                 before={"post_id": post.id, "identity_id": identity_id})
    db.session.delete(assignment)
    db.session.commit()


def list_assignments(actor: User, post_id: int) -> list[PostAssignment]:
    post = managed_post(actor, post_id)
    return list(db.session.scalars(select(PostAssignment).where(PostAssignment.post_id == post.id)
                                   .order_by(PostAssignment.id)))


def post_plate_token(post: ServicePost) -> str:
    """The code a post's plate carries, as a bare token."""
    return signed_codes.sign("post_plate", post.id, post.key_version, 0, post.code_key.encode())


def merchant_plate_token(plate: MerchantPlate) -> str:
    """The code a merchant plate carries, as a bare token."""
    return signed_codes.sign("merchant_plate", plate.id, 1, 0, plate.code_key.encode())


def post_plate_code(actor: User, post_id: int) -> tuple[ServicePost, str]:
    """The post and the token its printed plate carries (the post's managers)."""
    post = managed_post(actor, post_id)
    return post, post_plate_token(post)


def merchant_plate_code(actor: User, plate_id: int) -> tuple[MerchantPlate, str]:
    """The approved plate and the token it carries (its owner or the zone's admins)."""
    plate = _plate(plate_id)
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == actor.id))
    if identity is None or identity.id != plate.owner_identity_id:
        authorize(actor, "badges.manage", plate.zone)
    if plate.state != "approved":
        raise PlateNotApproved()
    return plate, merchant_plate_token(plate)


def _parse_plate(code: str) -> signed_codes.SignedCode:
    text = code.strip()
    base = current_app.config["QR_BASE_URL"]
    if text.startswith((base + "/b/", keys.PREFIX + ".")):
        raise BadgeNotPlate({"why": "badge"})
    try:
        parsed = signed_codes.parse(signed_codes.token_from_qr_text(text, base))
    except signed_codes.MalformedCode:
        raise InvalidPlateCode({"why": "malformed"}) from None
    if parsed.kind not in ("post_plate", "merchant_plate"):
        raise InvalidPlateCode({"why": "not_a_plate"})
    return parsed


def _verified_subject(parsed: signed_codes.SignedCode):
    if parsed.kind == "post_plate":
        subject = _get(ServicePost, parsed.subject_id)
        alive = subject is not None and subject.deleted_at is None and \
            parsed.key_version == subject.key_version
    else:
        subject = _get(MerchantPlate, parsed.subject_id)
        alive = subject is not None and subject.state in ("approved", "revoked")
    if not alive or not parsed.verify(subject.code_key.encode()):
        raise InvalidPlateCode({"why": "bad_signature"})
    return subject


def on_duty(post_id: int) -> list[DutySession]:
    return list(db.session.scalars(select(DutySession).where(
        DutySession.post_id == post_id, DutySession.ended_at.is_(None)).order_by(DutySession.started_at)))


def toggle_duty(user: User, code: str) -> tuple[bool, DutySession]:
    """An assigned member scans their post's plate: on duty, or off if already on."""
    parsed = _parse_plate(code)
    if parsed.kind != "post_plate":
        raise InvalidPlateCode({"why": "not_a_post_plate"})
    post = _verified_subject(parsed)
    identity = require_active_member(user)
    if db.session.scalar(select(PostAssignment).where(
            PostAssignment.post_id == post.id, PostAssignment.identity_id == identity.id)) is None:
        raise NotAssigned()
    session = db.session.scalar(select(DutySession).where(
        DutySession.post_id == post.id, DutySession.identity_id == identity.id,
        DutySession.ended_at.is_(None)))
    if session is not None:
        # Claimed like a transition (on duty -> off duty): of two off-scans at
        # once one ends the session, the other is 409 state_changed.
        ended = db.session.execute(
            update(DutySession).where(DutySession.id == session.id, DutySession.ended_at.is_(None))
            .values(ended_at=utcnow()).returning(DutySession)
            .execution_options(populate_existing=True, synchronize_session=False)).scalars().first()
        if ended is None:
            db.session.rollback()
            raise StateChanged({"state": "off_duty", "action": "off_duty"})
        db.session.commit()
        return False, session
    session = DutySession(post_id=post.id, identity_id=identity.id, started_at=utcnow())
    db.session.add(session)
    try:
        db.session.commit()
    except IntegrityError:  # a double tap: the other scan opened it
        db.session.rollback()
        raise Conflict() from None
    return True, session


@dataclass
class PlateView:
    kind: str
    post: ServicePost | None = None
    on_duty: list | None = None
    rating: dict | None = None
    plate: MerchantPlate | None = None
    valid: bool = True


def rating_summary(post_id: int) -> dict:
    count, average = db.session.execute(select(func.count(PostRating.id), func.avg(PostRating.score))
                                        .where(PostRating.post_id == post_id)).one()
    return {"count": count, "average": round(float(average), 2) if average is not None else None}


def scan_plate(user: User, code: str) -> PlateView:
    """A resident scans a plate: the post and who is on duty, or the shop and
    whether its plate is valid. Every scan of a live plate is counted; a
    revoked merchant plate still answers (as not valid) but is not counted,
    since the district's figure is how often its plates are in use."""
    parsed = _parse_plate(code)
    subject = _verified_subject(parsed)
    # Count the scan first: the commit expires every loaded object, and a view
    # built before it would reload its on-duty sessions one by one.
    if parsed.kind == "post_plate":
        db.session.add(PlateScan(kind="post", post_id=subject.id, org_id=subject.org_id,
                                 user_id=user.id))
        db.session.commit()
    elif subject.state == "approved":
        db.session.add(PlateScan(kind="merchant", plate_id=subject.id, org_id=subject.zone_id,
                                 user_id=user.id))
        db.session.commit()
    if parsed.kind == "post_plate":
        if not moderation.may_see(user, subject, None, subject.org):
            return PlateView("post", valid=False)  # its name is held for review
        return PlateView("post", post=subject, on_duty=on_duty(subject.id),
                         rating=rating_summary(subject.id))
    return PlateView("merchant", plate=subject, valid=subject.state == "approved")


def rate_post(user: User, post_id: int, score: int, comment: str) -> PostRating:
    """One rating per user, post and local day; the comment passes the content check first."""
    post = public_post(user, post_id)
    day = utcnow().astimezone(LOCAL_TZ).date()
    verdict = moderation.check_text("post_rating", {"comment": comment}, user)
    rating = PostRating(post_id=post.id, user_id=user.id, day=day, score=score, comment=comment)
    db.session.add(rating)
    try:
        moderation.record(verdict, rating, org_id=post.org_id, author_id=user.id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyRatedToday() from None
    moderation.after_commit(verdict)
    return rating


def list_ratings(actor: User, post_id: int, limit: int, cursor: str | None) -> tuple[Page, dict]:
    post = managed_post(actor, post_id)
    stmt = select(PostRating).where(PostRating.post_id == post.id)
    return keyset_page(stmt, (PostRating.id,), limit, cursor, descending=True), rating_summary(post.id)


# ---- merchant plates ---------------------------------------------------------

def apply_plate(user: User, zone_id: int, shop_name: str, address: str,
                location: dict | None) -> MerchantPlate:
    identity = require_active_member(user)
    zone = _get(OrgNode, zone_id)
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


def _plate(plate_id: int) -> MerchantPlate:
    plate = db.session.get(MerchantPlate, plate_id)
    if plate is None:
        raise NotFound()
    return plate


def managed_plate(actor: User, plate_id: int) -> MerchantPlate:
    plate = _plate(plate_id)
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
    try:
        before = audit.snapshot(plate, "state", "reason")
        PLATES.apply(plate, action, reason=reason, decided_by_id=actor.id, decided_at=utcnow())
        audit.record(actor, f"merchant_plate.{action}", plate, org_id=plate.zone_id, before=before,
                     after=audit.snapshot(plate, "state", "reason"))
        db.session.commit()
    except ApiError:
        db.session.rollback()
        raise
    if action == "approve":
        code_images.warm_later(merchant_plate_token, plate)
    return plate


def list_plates(actor: User, zone_id: int, state: str | None, limit: int, cursor: str | None) -> Page:
    zone = visible_node(actor, zone_id, "badges.manage")
    stmt = select(MerchantPlate).join(MerchantPlate.zone).where(subtree_clause(OrgNode.path, zone.path))
    if state:
        stmt = stmt.where(MerchantPlate.state == state)
    return keyset_page(stmt, (MerchantPlate.id,), limit, cursor, descending=True)


def my_plates(user: User) -> list[MerchantPlate]:
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == user.id))
    if identity is None:
        return []
    return list(db.session.scalars(select(MerchantPlate).where(
        MerchantPlate.owner_identity_id == identity.id).order_by(MerchantPlate.id.desc())))


def leave_feedback(user: User, plate_id: int, score: int | None, comment: str) -> MerchantFeedback:
    plate = _plate(plate_id)
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
    plate = managed_plate(actor, plate_id)
    stmt = select(MerchantFeedback).where(MerchantFeedback.plate_id == plate.id)
    return keyset_page(stmt, (MerchantFeedback.id,), limit, cursor, descending=True)
