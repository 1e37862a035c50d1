"""One-time subscriptions (per user and template) and what became of each message."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.common.db import UtcDateTime, utcnow
from app.extensions import Model


class Subscription(Model):
    """How many messages of a template the user has accepted and not yet
    received: each ``accept`` of ``wx.requestSubscribeMessage`` adds one,
    each message sent spends one (WeChat counts the same way)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "template_id"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


# What became of a message: sent; no_quota (the user held no subscription:
# nothing spent, nothing sent); refused (WeChat said 43101: the count is
# zeroed); rejected (WeChat refused the message itself: bad data, bad openid;
# the subscription is given back); pending (spent, being sent) and retrying
# (WeChat was busy: the job tries again, without spending another).
DELIVERY_STATUSES = ("pending", "sent", "no_quota", "refused", "rejected", "retrying", "skipped")


class SubscribeDelivery(Model):
    """One subscribe message the app meant to send, keyed by its event (the
    job's key): the row is what makes the spend happen once per message, and
    tells support what happened. The in-app notice is the record for the user."""

    __tablename__ = "subscribe_deliveries"
    __table_args__ = (Index("ix_subscribe_deliveries_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    template_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    errcode: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
