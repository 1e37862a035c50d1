from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.extensions import Model
from app.members.phones import mask_name
from app.orgs.models import OrgNode

MEMBER_STATUSES = ("probationary", "full")  # 预备党员 / 正式党员
IDENTITY_STATUSES = ("active", "suspended", "revoked")


class RosterEntry(Model):
    """One Party member as the branch's roster lists them. One entry per phone."""

    __tablename__ = "roster_entries"
    __table_args__ = (Index("ix_roster_entries_branch_id_id", "branch_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    name: Mapped[str] = mapped_column(String(50))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_masked: Mapped[str] = mapped_column(String(16))
    join_date: Mapped[dt.date] = mapped_column(Date)
    member_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[OrgNode] = relationship(lazy="joined")


class MemberIdentity(Model):
    """The verified identity that makes a user a Party member in the app."""

    __tablename__ = "member_identities"
    __table_args__ = (Index("ix_member_identities_branch_id_id", "branch_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # None once the member closed their account: the identity stays for the
    # branch's counts and service records, with nothing that names the person.
    roster_entry_id: Mapped[int | None] = mapped_column(ForeignKey("roster_entries.id"), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    identity_no: Mapped[str] = mapped_column(String(20), unique=True)
    # What a badge names the identity by: random, so that a badge tells no
    # internal id (app.badges.keys); a new one would void every badge issued.
    badge_ref: Mapped[str] = mapped_column(String(16), unique=True, default=lambda: secrets.token_hex(8))
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    roster_entry: Mapped[RosterEntry | None] = relationship(lazy="joined")
    branch: Mapped[OrgNode] = relationship(lazy="joined")

    @property
    def display_name(self) -> str:
        """The masked name others may see ("李*"), or 已注销 for a closed account."""
        return mask_name(self.roster_entry.name) if self.roster_entry is not None else "已注销"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class BindingRequest(Model):
    """A binding that did not match the roster, waiting for a branch admin."""

    __tablename__ = "binding_requests"
    __table_args__ = (
        Index("uq_binding_requests_pending_user", "user_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_binding_requests_org_state_id", "org_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    name: Mapped[str] = mapped_column(String(50))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(16))
    # why it did not bind at once: not_in_roster | name_mismatch | already_bound
    mismatch: Mapped[str] = mapped_column(String(32))
    # pending -> approved | rejected | withdrawn
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str | None] = mapped_column(String(200))

    org: Mapped[OrgNode] = relationship(lazy="joined")
