from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.extensions import Model


class User(Model):
    """A WeChat user of the mini-program, keyed by the app's openid."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    # WeChat's session_key is not kept: nothing here decrypts wx data with it
    # (phones come from getuserphonenumber), and an unused secret is only a leak.
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id", lazy="raise"
    )
    # Loaded with the user on every authenticated request (one statement), so
    # member-only actions need no second query for it.
    identity = relationship("MemberIdentity", uselist=False, viewonly=True,
                            primaryjoin="User.id == foreign(MemberIdentity.user_id)")

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None and self.deleted_at is None


class RoleGrant(Model):
    """A role held on an organization node, valid for the node's whole subtree."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id", "role"),
        Index("ix_role_grants_org_id_role", "org_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id], lazy="raise")
    org = relationship("OrgNode", lazy="joined")


class TokenFamily(Model):
    """A login session: the access and refresh tokens issued by one login and
    its refreshes. The database is the truth about whether it is revoked and
    which refresh token is current, so that both survive the loss of Redis
    (which only caches the status, see ``app.auth.tokens``)."""

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the tokens' ``fam``
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The ``jti`` of the one refresh token that may be spent next.
    refresh_jti: Mapped[str] = mapped_column(String(32))
    generation: Mapped[int] = mapped_column(default=1)  # 1 + the number of refreshes
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(16))  # logout | reused


class ConsoleTicket(Model):
    """A QR login of the admin console, waiting for a phone's confirmation
    (see ``app.auth.console_login``)."""

    __tablename__ = "console_tickets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the ticket in the QR
    # sha256 of the secret only the page that created the ticket holds.
    poll_secret_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|confirmed|redeemed
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
