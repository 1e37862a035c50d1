"""Photo uploads: type sniffed from content, size-limited, EXIF stripped, re-encoded."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.db import UtcDateTime, utcnow
from app.extensions import Model

# WeChat's content check of a photo (media_check_async, its result pushed later):
# pending until the result arrives; pass -> visible to everyone who sees the
# event; review -> hidden until an admin releases (pass) or rejects (risky) it;
# risky -> hidden from everyone, its bytes deleted.
CHECK_STATES = ("pending", "pass", "review", "risky")
UNDECIDED = ("pending", "review")


class Upload(Model):
    """A re-encoded image in storage, owned by its uploader until attached."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_owner_id_id", "owner_id", "id"),
                      Index("ix_uploads_check_state_id", "check_state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # set when something (a grid event, a resolution) takes the photo; it cannot be taken twice
    attached_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    check_state: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    # WeChat's id of the check, matched when its result is pushed
    trace_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    label: Mapped[int | None] = mapped_column(Integer)  # WeChat's label: 100 normal, 20002 porn...
    checked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # when it left pending
    # the admin who released or rejected it (None: WeChat decided)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
