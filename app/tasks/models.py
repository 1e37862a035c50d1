from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.common.db import UtcDateTime, append_only, utcnow
from app.common.near import earth_index
from app.extensions import Base, db
from app.moderation.models import Moderated
from app.orgs.models import OrgNode

if TYPE_CHECKING:  # db.Model is made at run time; mypy sees the declarative base it extends
    Model = Base
else:
    Model = db.Model

HELP_CATEGORIES = ("elderly_care", "errands", "repairs", "tutoring", "medical_escort", "other")
TASK_STATES = ("draft", "published", "in_progress", "completed", "cancelled")
REQUEST_STATES = ("submitted", "dispatched", "rejected", "cancelled", "closed")
# accepted -> checked_in -> checked_out -> confirmed; waitlisted -> accepted;
# accepted -> withdrawn | no_show; a task cancelled -> cancelled
PARTICIPATION_STATES = ("waitlisted", "accepted", "withdrawn", "checked_in", "checked_out",
                        "confirmed", "no_show", "cancelled")


class Volunteer(Moderated, Model):
    """A registered volunteer (member or resident)."""

    __tablename__ = "volunteers"
    __table_args__ = (Index("ix_volunteers_community_id_id", "community_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    skills: Mapped[list] = mapped_column(JSON, default=list)
    availability: Mapped[str] = mapped_column(String(200), default="")
    # the name on the volunteer's service record and certificates (a member's
    # comes from the roster; a resident gives it)
    name: Mapped[str | None] = mapped_column(String(50))
    is_member: Mapped[bool] = mapped_column(Boolean, default=False)  # 党员志愿者, at registration
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    community: Mapped[OrgNode] = relationship(lazy="joined")


class HelpRequest(Moderated, Model):
    """A resident's request for help (点单)."""

    __tablename__ = "help_requests"
    __table_args__ = (
        Index("ix_help_requests_community_state_id", "community_id", "state", "id"),
        Index("ix_help_requests_requester_id_id", "requester_id", "id"),
        Index("ix_help_requests_community_created", "community_id", "created_at"),  # a period's requests
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_masked: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    community: Mapped[OrgNode] = relationship(lazy="joined")

    if TYPE_CHECKING:  # not mapped: set for the answer (app.tasks.help_requests.visible_help_request)
        phone_visible: str | None


class Task(Moderated, Model):
    """A volunteer task a community publishes (派单). ``places_taken`` moves
    only by conditional UPDATEs; the CHECK constraint is the backstop."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("places > 0", name="places_positive"),
        CheckConstraint("places_taken >= 0 AND places_taken <= places", name="places_taken_in_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_tasks_community_state_starts", "community_id", "state", "starts_at", "id"),
        Index("ix_tasks_community_starts", "community_id", "starts_at"),  # a subtree's tasks of a period
        Index("ix_tasks_state_starts_at_id", "state", "starts_at", "id"),
        Index("ix_tasks_starts_at_id", "starts_at", "id"),
        Index("ix_tasks_lat_lng", "lat", "lng"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id"), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer, default=300)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    places: Mapped[int] = mapped_column(Integer)
    places_taken: Mapped[int] = mapped_column(Integer, default=0)
    required_skills: Mapped[list] = mapped_column(JSON, default=list)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    hours_credited: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    code_key: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    community: Mapped[OrgNode] = relationship(lazy="joined")
    help_request: Mapped[HelpRequest | None] = relationship(lazy="raise")

    if TYPE_CHECKING:  # not mapped: set for the answer of a ``near`` list (app.tasks.listing)
        distance_m: int


# ``?near=`` on PostgreSQL: the tasks nearest first, from this index (app.common.near)
earth_index("ix_tasks_earth", Task.__table__)


class Participation(Moderated, Model):
    """One volunteer on one task: acceptance, attendance, confirmation."""

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_participations_task_state_id", "task_id", "state", "id"),
        Index("ix_participations_user_state", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    # copied from the task so that overlap checks need no join
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # the check-out was closed automatically: credits nothing until an organizer sets the time
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(200))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    task: Mapped[Task] = relationship(lazy="joined")


# The task a request became (at most one: tasks.help_request_id is unique), read
# with the request in the same statement so that lists stay one query.
HelpRequest.task_id = column_property(
    select(Task.id).where(Task.help_request_id == HelpRequest.id).correlate_except(Task).scalar_subquery())


class HoursEntry(Model):
    """The append-only hours ledger: a credit when a participation is
    confirmed, and corrections as new entries (never edits; on PostgreSQL a
    trigger refuses any UPDATE or DELETE of a row).

    Each row is the volunteer service record the Ministry of Civil Affairs'
    measures ask for, frozen when it is written: the service's name, the
    organizing body, the place, when it started and ended, the hours, who
    recorded it and who confirmed it. Editing the task later changes none of it.
    """

    __tablename__ = "hours_ledger"
    __table_args__ = (
        Index("ix_hours_ledger_user_id_id", "user_id", "id"),
        Index("ix_hours_ledger_community_created", "community_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    participation_id: Mapped[int] = mapped_column(ForeignKey("participations.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    kind: Mapped[str] = mapped_column(String(16))  # credit | correction
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # the record, as it was when the participation was confirmed
    service_name: Mapped[str] = mapped_column(String(100), default="")
    organizer: Mapped[str] = mapped_column(String(100), default="")  # the organizing body's name
    place: Mapped[str] = mapped_column(String(200), default="")
    service_started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    service_ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    confirmed_by: Mapped[str] = mapped_column(String(16), default="")  # requester | organizer


# On PostgreSQL the ledger refuses to be rewritten: a correction is a new row.
append_only(HoursEntry.__table__)


class VolunteerDaily(Model):
    """Volunteer service per community and local (Asia/Shanghai) day, kept in
    the transaction of every ledger entry and confirmation, so that statistics
    cost communities × days, not the history. A figure belongs to the day it
    was written: an entry's ``created_at``, a confirmation's ``confirmed_at``
    (a correction counts on the day it is made, as the ledger has it)."""

    __tablename__ = "volunteer_daily"

    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)  # the ledger's entries, summed
    person_times: Mapped[int] = mapped_column(Integer, default=0)  # confirmations
    score_sum: Mapped[int] = mapped_column(Integer, default=0)
    score_count: Mapped[int] = mapped_column(Integer, default=0)  # confirmations with a score


class VolunteerCertificate(Model):
    """A certificate of volunteer service (志愿服务证明), issued on the
    volunteer's request, with what it certifies frozen at issue; anyone may
    verify it by its serial (and signature), until it is revoked."""

    __tablename__ = "volunteer_certificates"
    __table_args__ = (Index("ix_volunteer_certificates_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    holder_name: Mapped[str] = mapped_column(String(50))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    total_hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    services: Mapped[list] = mapped_column(JSON)  # the records certified, as they were
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))

    issuer: Mapped[OrgNode] = relationship(lazy="joined")

    if TYPE_CHECKING:  # a plain table: revocation updates it with a Core statement
        __table__: ClassVar[Table]


class CorrectionRequest(Model):
    """A volunteer asks the organizer to correct the hours of a participation."""

    __tablename__ = "correction_requests"
    __table_args__ = (Index("ix_correction_requests_task_state", "task_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(ForeignKey("participations.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    reason: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | applied | rejected
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
