"""What the content check leaves behind: a state on each checked object, and
the queue items an admin decides on (see :mod:`app.moderation.services`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, utcnow
from app.extensions import Model
from app.orgs.models import OrgNode

# An object's content_state: what others may see of it.
CONTENT_STATES = ("visible", "unchecked", "review", "rejected")
SHOWN = ("visible", "unchecked")     # fail-open: unchecked text is shown until judged
HIDDEN = ("review", "rejected")      # only the author (marked) and the subtree's admins

# A queue item's state: unchecked and review are open, the rest are final.
ITEM_STATES = ("unchecked", "review", "passed", "released", "rejected", "superseded")
OPEN_ITEM_STATES = ("unchecked", "review", "rejected")  # the ones an object's state derives from


class Moderated:
    """Mixin: the object's ``content_state``, derived from its open queue items
    (``visible`` when it has none); lists others read filter on it."""

    content_state: Mapped[str] = mapped_column(String(16), default="visible", server_default="visible")


class ModerationItem(Model):
    """One checked text field that did not simply pass: held for review,
    not yet checked (WeChat unreachable), or decided."""

    __tablename__ = "moderation_items"
    __table_args__ = (
        Index("ix_moderation_items_state_id", "state", "id"),
        Index("ix_moderation_items_kind_object_id", "kind", "object_id"),
        Index("ix_moderation_items_org_id_state_id", "org_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(32))
    scene: Mapped[int] = mapped_column(Integer)
    excerpt: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    state: Mapped[str] = mapped_column(String(16))
    label: Mapped[int | None] = mapped_column(Integer)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    org: Mapped[OrgNode] = relationship(lazy="joined")
