"""What scanning a plate does: an assigned member scans their own post's plate
to go on duty and again to go off duty; anyone else sees the post or the shop."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.badges.errors import InvalidPlateCode, NotAssigned
from app.badges.models import DutySession, MerchantPlate, PlateScan, PostAssignment, ServicePost
from app.badges.plate_codes import parse_plate, verified_post, verified_subject
from app.badges.posts import rating_summary
from app.common.db import utcnow
from app.common.transitions import StateChanged
from app.errors import Conflict
from app.extensions import db
from app.members.services import require_active_member
from app.moderation import services as moderation


def on_duty(post_id: int) -> list[DutySession]:
    """Who is on duty at the post now, first come first."""
    return list(db.session.scalars(select(DutySession).where(
        DutySession.post_id == post_id, DutySession.ended_at.is_(None)).order_by(DutySession.started_at)))


def toggle_duty(user: User, code: str) -> tuple[bool, DutySession]:
    """An assigned member scans their post's plate: on duty, or off if already on."""
    parsed = parse_plate(code)
    if parsed.kind != "post_plate":
        raise InvalidPlateCode({"why": "not_a_post_plate"})
    post = verified_post(parsed)
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
    """What a scan shows: a post (who is on duty, its rating) or a merchant plate."""

    kind: str
    post: ServicePost | None = None
    on_duty: list[DutySession] | None = None
    rating: dict | None = None
    plate: MerchantPlate | None = None
    valid: bool = True


def scan_plate(user: User, code: str) -> PlateView:
    """A resident scans a plate: the post and who is on duty, or the shop and
    whether its plate is valid. Every scan of a live plate is counted; a
    revoked merchant plate still answers (as not valid) but is not counted,
    since the district's figure is how often its plates are in use."""
    subject = verified_subject(parse_plate(code))
    # Count the scan first: the commit expires every loaded object, and a view
    # built before it would reload its on-duty sessions one by one.
    if isinstance(subject, ServicePost):
        db.session.add(PlateScan(kind="post", post_id=subject.id, org_id=subject.org_id,
                                 user_id=user.id))
        db.session.commit()
        if not moderation.may_see(user, subject, None, subject.org):
            return PlateView("post", valid=False)  # its name is held for review
        return PlateView("post", post=subject, on_duty=on_duty(subject.id),
                         rating=rating_summary(subject.id))
    if subject.state == "approved":
        db.session.add(PlateScan(kind="merchant", plate_id=subject.id, org_id=subject.zone_id,
                                 user_id=user.id))
        db.session.commit()
    return PlateView("merchant", plate=subject, valid=subject.state == "approved")
