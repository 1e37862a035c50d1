from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import PathString, UtcDateTime, utcnow
from app.extensions import Model

# The kinds of node in DOMAIN.md, from the district down to Party groups.
ORG_KINDS = (
    "district", "linkage_center", "street", "community",
    "business_zone", "office_building", "school", "two_new_org",
    "housing_estate", "property_company",
    "party_branch", "party_group", "temporary_branch",
)
ROOT_KINDS = ("district",)
# Units whose Party organization can report to a community (组织报到).
UNIT_KINDS = ("business_zone", "office_building", "school", "two_new_org",
              "housing_estate", "property_company", "party_branch", "temporary_branch")
BRANCH_KINDS = ("party_branch", "party_group", "temporary_branch")


class OrgNode(Model):
    """A node of the tree. ``path`` is the materialized path of ids, e.g.
    ``/1/5/23/``, so that a subtree is one index range scan."""

    __tablename__ = "org_nodes"
    # The public directory lists one kind at a time (communities, branches).
    __table_args__ = (Index("ix_org_nodes_kind_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    path: Mapped[str] = mapped_column(PathString, unique=True)
    depth: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    parent: Mapped[OrgNode | None] = relationship(remote_side=[id], lazy="raise")

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")]


# One active report per state that matters: at most one confirmed residence and
# one pending request per member; one live report per unit and community.
_ACTIVE = "state IN ('pending', 'confirmed')"


class MemberCommunityReport(Model):
    """A member's report to the community where they live (党员报到)."""

    __tablename__ = "member_community_reports"
    __table_args__ = (
        Index("uq_member_report_confirmed", "user_id", unique=True,
              sqlite_where=text("state = 'confirmed'"), postgresql_where=text("state = 'confirmed'")),
        Index("uq_member_report_pending", "user_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_member_reports_community_state", "community_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    # pending -> confirmed | declined | withdrawn; confirmed -> ended (moved house)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    community: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[community_id])


class OrgCommunityReport(Model):
    """A unit's Party organization reporting to a community (组织报到)."""

    __tablename__ = "org_community_reports"
    __table_args__ = (
        Index("uq_org_report_active", "org_id", "community_id", unique=True,
              sqlite_where=text(_ACTIVE), postgresql_where=text(_ACTIVE)),
        Index("ix_org_reports_community_state", "community_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(String(200))

    org: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[org_id])
    community: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[community_id])
