from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.db import UtcDateTime, utcnow
from app.extensions import db


class Upload(db.Model):
    """A re-encoded image in storage, owned by its uploader until attached."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_owner_id_id", "owner_id", "id"),)

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
