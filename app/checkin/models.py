from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.common.near import earth_index
from app.extensions import Base, db
from app.orgs.models import OrgNode

PURPOSES = ("visit", "service_shift", "study", "meeting", "activity")
CODE_MODES = ("rotating", "static")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# db.Model is made at run time (Flask-SQLAlchemy's declarative base over
# app.extensions.Base), which mypy cannot follow as a base class: it checks
# the models against Base, whose mapping they share.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class ServiceCenter(Model):
    """A party-mass service center (党群服务中心) owned by an org node."""

    __tablename__ = "service_centers"
    __table_args__ = (
        Index("ix_service_centers_lat_lng", "lat", "lng"),
        Index("ix_service_centers_org_id_id", "org_id", "id"),
    )
    __allow_unmapped__ = True  # for distance_m below, which is no column

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)  # GCJ-02
    lng: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer, default=200)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    # {"mon": [["08:30", "12:00"], ["14:00", "18:00"]], ...}; a missing day is
    # closed; an empty schedule means always open.
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"day": "2026-10-01", "reason": "国庆"}]: closed whatever the weekly hours say.
    closed_days: Mapped[list] = mapped_column(JSON, default=list)
    code_mode: Mapped[str] = mapped_column(String(16), default="rotating")
    rotation_seconds: Mapped[int] = mapped_column(Integer, default=30)
    grace_seconds: Mapped[int] = mapped_column(Integer, default=30)
    # None: one check-in per member per local day; else a window in seconds.
    duplicate_window_seconds: Mapped[int | None] = mapped_column(Integer)
    # The HMAC key of its codes; rotating it kills every printed poster at once.
    code_key: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    org: Mapped[OrgNode] = relationship(lazy="joined")
    # Not stored: set by a list of centers near a point, absent otherwise.
    distance_m: int


# ``?near=`` on PostgreSQL: the centers nearest first, from this index (app.common.near)
earth_index("ix_service_centers_earth", ServiceCenter.__table__)


class DisplayDevice(Model):
    """A screen (tablet) allowed to show a center's rotating code."""

    __tablename__ = "display_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __allow_unmapped__ = True
    # Not stored (only its hash is): the token, on the device just created.
    device_token: str


class Checkin(Model):
    """One counted visit: an entry scan, closed by an exit scan.

    ``window_key`` is the duplicate window the entry fell in (the local day,
    or a bucket of ``duplicate_window_seconds``); the unique constraint on
    (center, user, window) is the final word against double counting.
    """

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("center_id", "user_id", "window_key"),
        Index("ix_checkins_user_id_id", "user_id", "id"),
        Index("ix_checkins_center_id_local_day_open", "center_id", "local_day", "exited_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("member_identities.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    window_key: Mapped[str] = mapped_column(String(20))
    local_day: Mapped[dt.date] = mapped_column(Date)
    checked_in_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    exited_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    exit_offline: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    center: Mapped[ServiceCenter] = relationship(lazy="raise")


# The results of a scan that counted (or found its visit counted); any other is a failure.
SUCCESS_RESULTS = ("ok", "already_checked_in", "checked_out", "already_checked_out")
# A center's failed scans, as the partial index below states it and as the
# list of them filters by (word for word, so PostgreSQL sees the index applies).
FAILED_PREDICATE = text("result NOT IN ({})".format(", ".join(f"'{r}'" for r in SUCCESS_RESULTS)))


class CheckinAttempt(Model):
    """Every scan, failed ones included, with why it failed and where it came from.

    A center's list filters by day, purpose and result (or any failure), newest
    first: each has an index that walks only the matching rows, in that order.
    """

    __tablename__ = "checkin_attempts"
    __table_args__ = (
        Index("ix_checkin_attempts_center_id_id", "center_id", "id"),
        Index("ix_checkin_attempts_center_day", "center_id", "local_day", "id"),
        Index("ix_checkin_attempts_center_purpose", "center_id", "purpose", "id"),
        Index("ix_checkin_attempts_center_result", "center_id", "result", "id"),
        Index("ix_checkin_attempts_center_failed", "center_id", "id",
              postgresql_where=FAILED_PREDICATE, sqlite_where=FAILED_PREDICATE),
        Index("ix_checkin_attempts_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int | None] = mapped_column(ForeignKey("service_centers.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"))
    type: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str | None] = mapped_column(String(16))
    # ok | already_checked_in | checked_out | already_checked_out | <reason code>
    result: Mapped[str] = mapped_column(String(32))
    local_day: Mapped[dt.date | None] = mapped_column(Date)
    scanned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the phone's clock
    server_time: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    device: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)

    center: Mapped[ServiceCenter | None] = relationship(lazy="raise")

    __allow_unmapped__ = True
    # Not stored: set when the check-in's own statement wrote this attempt (PostgreSQL).
    recorded: bool


class CheckinDailyCount(Model):
    """Check-ins per center, day and purpose, kept up to date on every check-in,
    so that statistics cost the number of centers × days, not the history."""

    __tablename__ = "checkin_daily_counts"

    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
