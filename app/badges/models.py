from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.common.geo import Point
from app.extensions import Base, db
from app.members.models import MemberIdentity
from app.moderation.models import Moderated
from app.orgs.models import OrgNode

# db.Model is made at run time (Flask-SQLAlchemy's declarative base over
# app.extensions.Base), which mypy cannot follow as a base class: it checks
# the models against Base, whose mapping they share.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def _point(lat: float | None, lng: float | None) -> Point | None:
    return Point(lat, lng) if lat is not None and lng is not None else None

class BadgeKey(Model):
    """An Ed25519 signing key for badges. ``current`` signs; ``previous`` is
    still published so that badges signed before a rotation verify until they
    expire; ``retired`` keys are gone."""

    __tablename__ = "badge_keys"
    __table_args__ = (
        Index("uq_badge_keys_current", "state", unique=True,
              sqlite_where=text("state = 'current'"), postgresql_where=text("state = 'current'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_encrypted: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="current")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class BadgeShown(Model):
    """One successful verification of a member's badge ("identity shown")."""

    __tablename__ = "badge_shown"
    __table_args__ = (
        Index("ix_badge_shown_identity_id_id", "identity_id", "id"),
        Index("ix_badge_shown_branch_id_id", "branch_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("member_identities.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    shown_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)

    @property
    def location(self) -> Point | None:
        """Where the verifier stood (GCJ-02), if known: answered as ``location``."""
        return _point(self.lat, self.lng)


class ServicePost(Moderated, Model):
    """A service demonstration post (党员服务示范岗) and its plate."""

    __tablename__ = "service_posts"
    __table_args__ = (Index("ix_service_posts_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(100), default="")
    window: Mapped[str] = mapped_column(String(50), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    service_items: Mapped[list] = mapped_column(JSON, default=list)
    code_key: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    org: Mapped[OrgNode] = relationship(lazy="joined")

    @property
    def location(self) -> Point | None:
        """Where the post is (GCJ-02), if known: answered as ``location``."""
        return _point(self.lat, self.lng)


class PostAssignment(Model):
    """A member who staffs a post."""

    __tablename__ = "post_assignments"
    __table_args__ = (Index("uq_post_assignments_post_identity", "post_id", "identity_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("service_posts.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("member_identities.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    identity: Mapped[MemberIdentity] = relationship(lazy="joined")


class DutySession(Model):
    """A member on duty at a post, from the scan that started it to the one that ended it."""

    __tablename__ = "duty_sessions"
    __table_args__ = (
        Index("uq_duty_sessions_open", "post_id", "identity_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_duty_sessions_post_id_ended_at", "post_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("service_posts.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("member_identities.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    identity: Mapped[MemberIdentity] = relationship(lazy="joined")


class PostRating(Moderated, Model):
    """A resident's 1–5 rating of a post's service; one per user, post and local day."""

    __tablename__ = "post_ratings"
    __table_args__ = (
        Index("uq_post_ratings_post_user_day", "post_id", "user_id", "day", unique=True),
        Index("ix_post_ratings_post_id_id", "post_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("service_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class MerchantPlate(Model):
    """A Party-member merchant plate (党员商户牌) for a member's shop in a business zone."""

    __tablename__ = "merchant_plates"
    __table_args__ = (
        Index("ix_merchant_plates_zone_id_id", "zone_id", "id"),
        Index("ix_merchant_plates_owner_identity_id", "owner_identity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_identity_id: Mapped[int] = mapped_column(ForeignKey("member_identities.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    shop_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    # pending -> approved | rejected; approved -> revoked
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    code_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    zone: Mapped[OrgNode] = relationship(lazy="joined")
    owner: Mapped[MemberIdentity] = relationship(lazy="joined")

    @property
    def location(self) -> Point | None:
        """Where the shop is (GCJ-02), if known: answered as ``location``."""
        return _point(self.lat, self.lng)


class MerchantFeedback(Moderated, Model):
    """A customer's feedback on a merchant plate's shop, seen by the zone admin."""

    __tablename__ = "merchant_feedback"
    __table_args__ = (Index("ix_merchant_feedback_plate_id_id", "plate_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plate_id: Mapped[int] = mapped_column(ForeignKey("merchant_plates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlateScan(Model):
    """A scan of a post plate or a merchant plate, for the district's counts."""

    __tablename__ = "plate_scans"
    __table_args__ = (
        Index("ix_plate_scans_org_id_id", "org_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # post | merchant
    post_id: Mapped[int | None] = mapped_column(ForeignKey("service_posts.id", ondelete="CASCADE"))
    plate_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_plates.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scanned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
