from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.extensions import Base, db
from app.moderation.models import Moderated
from app.orgs.models import OrgNode

URGENCIES = ("normal", "urgent")
LEVELS = ("community", "street", "district")
OPEN_STATES = ("unverified", "reported", "accepted", "dispatched", "in_progress", "resolved")
FINAL_STATES = ("rejected", "duplicate", "closed")
LEADER_ROLES = ("grid_leader", "building_leader", "lane_leader")

# db.Model is made at run time (Flask-SQLAlchemy's declarative base over
# app.extensions.Base), which mypy cannot follow as a base class: it checks
# the models against Base, whose mapping they share.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class Grid(Model):
    """A grid (网格) of a community, with its grid Party group (an org node).
    The bounding box columns make "which grid holds this point" an index scan."""

    __tablename__ = "grids"
    __table_args__ = (
        Index("ix_grids_community_id_id", "community_id", "id"),
        Index("ix_grids_bbox", "min_lat", "max_lat", "min_lng", "max_lng"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    party_group_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    households: Mapped[int] = mapped_column(Integer, default=0)
    boundary: Mapped[dict | None] = mapped_column(JSON)  # GeoJSON Polygon, GCJ-02
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    min_lng: Mapped[float | None] = mapped_column(Float)
    max_lng: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    community: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[community_id])
    party_group: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[party_group_id])


class GridLeader(Model):
    """A grid, building or lane leader of a grid (their role is granted on the
    grid's Party group, so the one permission check covers them)."""

    __tablename__ = "grid_leaders"
    __table_args__ = (UniqueConstraint("grid_id", "user_id", "role"),
                      Index("ix_grid_leaders_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    buildings: Mapped[list] = mapped_column(JSON, default=list)
    lanes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventCategory(Model):
    """A kind of grid event and the level that normally handles it."""

    __tablename__ = "event_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(16), default="community")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TimeLimit(Model):
    """Hours allowed for each step, per category and urgency (data, editable)."""

    __tablename__ = "event_time_limits"

    category: Mapped[str] = mapped_column(ForeignKey("event_categories.code", ondelete="CASCADE"),
                                          primary_key=True)
    urgency: Mapped[str] = mapped_column(String(8), primary_key=True)
    accept_hours: Mapped[float] = mapped_column(Float)
    handle_hours: Mapped[float] = mapped_column(Float)
    verify_hours: Mapped[float] = mapped_column(Float)


class GridEvent(Moderated, Model):
    """A grid event (网格事件) and where it stands: its state, who owns it
    (the level it is escalated to), who handles it, and the current step's
    deadline."""

    __tablename__ = "grid_events"
    __table_args__ = (
        Index("ix_grid_events_grid_id_id", "grid_id", "id"),
        Index("ix_grid_events_community_id_id", "community_id", "id"),
        Index("ix_grid_events_community_created", "community_id", "created_at"),  # stats read grid_daily now
        Index("ix_grid_events_owner_org_id_id", "owner_org_id", "id"),
        Index("ix_grid_events_reporter_id_id", "reporter_id", "id"),
        Index("ix_grid_events_assignee_user_id_id", "assignee_user_id", "id"),
        Index("ix_grid_events_assignee_org_id_id", "assignee_org_id", "id"),
        Index("ix_grid_events_category_lat_lng", "category", "lat", "lng"),
        Index("ix_grid_events_open_deadline", "is_open", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    category: Mapped[str] = mapped_column(ForeignKey("event_categories.code"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    state: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reporter_role: Mapped[str] = mapped_column(String(32))
    assignee_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatcher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("grid_events.id"))
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    followers: Mapped[int] = mapped_column(Integer, default=0)
    # the step under way (accept | handle | verify), when it began and its deadline
    step: Mapped[str | None] = mapped_column(String(8))
    step_started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    pending_extension_hours: Mapped[float | None] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # some finished step was late
    # the deadline whose passing was told (overdue), and whose long passing was
    # told one level up (escalation): each deadline is told once
    overdue_notified_for: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    escalation_reminded_for: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    grid: Mapped[Grid] = relationship(lazy="joined")
    community: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[community_id])
    owner: Mapped[OrgNode] = relationship(lazy="joined", foreign_keys=[owner_org_id])

    if TYPE_CHECKING:  # not mapped: what an answer shows beside the row (app.grid.reading.present)
        light: str | None
        photos: list[dict]
        allowed_actions: list[str]


class GridDaily(Model):
    """Grid events per community, local (Asia/Shanghai) day of the report,
    category and state *now*, kept in the transaction of every write that
    changes one of these or a figure (app.grid.daily.move), so that the grid
    statistics cost communities × days × categories × states, not the
    history. An event is counted once, in the row of its report's day and its
    current state; a transition moves it from one row to another."""

    __tablename__ = "grid_daily"

    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)  # events with a late step
    # sum of closed_at - created_at over the events with a closed_at, in microseconds (exact)
    close_microseconds: Mapped[int] = mapped_column(BigInteger, default=0)
    rework: Mapped[int] = mapped_column(Integer, default=0)  # sum of rework_count
    escalations: Mapped[int] = mapped_column(Integer, default=0)  # sum of escalations


class EventTransition(Model):
    """One step of an event's life: who, in which role, did what, when, why."""

    __tablename__ = "grid_event_transitions"
    __table_args__ = (Index("ix_grid_event_transitions_event_id_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("grid_events.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000), default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # for an action that finishes a step: was the step finished in time (frozen here)
    step: Mapped[str | None] = mapped_column(String(8))
    in_time: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventComment(Moderated, Model):
    __tablename__ = "grid_event_comments"
    __table_args__ = (Index("ix_grid_event_comments_event_id_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("grid_events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventFollower(Model):
    """Someone who added their voice to an event instead of filing a duplicate."""

    __tablename__ = "grid_event_followers"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("grid_events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventPhoto(Model):
    __tablename__ = "grid_event_photos"
    __table_args__ = (Index("ix_grid_event_photos_event_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("grid_events.id", ondelete="CASCADE"))
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), unique=True)
    stage: Mapped[str] = mapped_column(String(16))  # report | resolve
    transition_id: Mapped[int | None] = mapped_column(ForeignKey("grid_event_transitions.id"))
