"""Reading the audit trail (writing it is :mod:`app.audit.log`, which every
feature's services call and which therefore depends on none of them)."""
from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.common.pagination import Page, keyset_page
from app.orgs.models import OrgNode
from app.orgs.services import visible_node


def entries(actor: User, org_id: int, filters: dict, limit: int, cursor: str | None) -> Page:
    """The audit rows of ``org_id``'s subtree an admin may read, newest first."""
    org = visible_node(actor, org_id, "audit.read")
    stmt = (select(AuditEntry).join(OrgNode, OrgNode.id == AuditEntry.org_id)
            .where(subtree_clause(OrgNode.path, org.path)))
    for name in ("action", "object_type", "object_id", "actor_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(AuditEntry, name) == filters[name])
    if filters.get("from"):
        stmt = stmt.where(AuditEntry.at >= filters["from"])
    if filters.get("to"):
        stmt = stmt.where(AuditEntry.at < filters["to"])
    return keyset_page(stmt, (AuditEntry.id,), limit, cursor, descending=True)
