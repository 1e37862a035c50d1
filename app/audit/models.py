from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.db import UtcDateTime, append_only, utcnow
from app.extensions import Model


class AuditEntry(Model):
    """Who did what, when, to which object, in which organization, what it was
    before and after, from which request. Written only by
    :func:`app.audit.log.record`, in the action's own transaction; never
    updated or deleted (the ORM refuses, and on PostgreSQL a trigger does)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_org_id_id", "org_id", "id"),
        Index("ix_audit_log_object", "object_type", "object_id", "id"),
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # None: the system, or a command run by hand (flask users ...)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(48))           # e.g. identity.suspend
    object_type: Mapped[str] = mapped_column(String(48))      # the table: member_identities
    object_id: Mapped[int | None] = mapped_column(Integer)
    # the organization whose admins may read the row (and those above)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))

    org = relationship("OrgNode", lazy="raise")


append_only(AuditEntry.__table__)


class AuditEntryImmutable(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse(mapper, connection, target) -> None:
    raise AuditEntryImmutable("audit entries are never changed or deleted")
