"""The organization tree: create, rename, move, list, and roles on nodes."""
from __future__ import annotations

import uuid

from sqlalchemy import func, literal, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import log
from app.auth.models import RoleGrant, User
from app.auth.permissions import (
    GRANTABLE_BY,
    authorize,
    forget_grants,
    roles_over,
    scope_clause,
    subtree_clause,
)
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.orgs.models import ORG_KINDS, OrgNode

UNIT_PARENTS = ("district", "linkage_center", "street", "community")
BRANCH_PARENTS = tuple(k for k in ORG_KINDS if k != "party_group")
# Which kinds a node of each kind may hang under.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "district": ("none",),
    "linkage_center": ("district",),
    "street": ("district", "linkage_center"),
    "community": ("street",),
    **dict.fromkeys(("business_zone", "office_building", "school", "two_new_org", "housing_estate",
                     "property_company"), UNIT_PARENTS),
    "party_branch": BRANCH_PARENTS,
    "temporary_branch": BRANCH_PARENTS,
    "party_group": ("community", "party_branch", "temporary_branch"),
}


class InvalidParent(ValidationFailed):
    code = "invalid_parent"
    zh = "“{kind}”类型的组织不能设在“{parent_kind}”之下。"
    en = "A {kind} cannot be placed under a {parent_kind}."


class MoveIntoOwnSubtree(Conflict):
    code = "move_into_own_subtree"
    zh = "不能把组织移动到它自己的下级组织之下。"
    en = "A node cannot be moved under itself or its own descendants."


class RootNotMovable(Conflict):
    code = "root_not_movable"
    zh = "区级根组织不能移动。"
    en = "The root of the tree cannot be moved."


class RoleNotGrantable(Forbidden):
    code = "role_not_grantable"
    zh = "您无权授予“{role}”角色。"
    en = "You may not grant the {role} role."


class UserNotFound(NotFound):
    code = "user_not_found"
    zh = "找不到该用户。"
    en = "No such user."


def _check_parent(kind: str, parent: OrgNode | None) -> None:
    parent_kind = parent.kind if parent else "none"
    if parent_kind not in ALLOWED_PARENTS[kind]:
        raise InvalidParent({"kind": kind, "parent_kind": parent_kind})


def get_node(node_id: int) -> OrgNode:
    return get_or_404(OrgNode, node_id)


def visible_node(actor: User, node_id: int, action: str = "org.view") -> OrgNode:
    """The node, if ``actor`` may take ``action`` on it (else 404/403)."""
    node = get_node(node_id)
    authorize(actor, action, node)
    return node


def insert_node(kind: str, name: str, parent: OrgNode | None) -> OrgNode:
    """Add a node (flushed, not committed) and give it its materialized path."""
    node = OrgNode(kind=kind, name=name, parent_id=parent.id if parent else None,
                   depth=parent.depth + 1 if parent else 0, path=f"new:{uuid.uuid4().hex}")
    db.session.add(node)
    db.session.flush()
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    return node


def create_root(kind: str, name: str) -> OrgNode:
    """A new tree root (a district). Used by the CLI, never by the API."""
    _check_parent(kind, None)
    node = insert_node(kind, name, None)
    db.session.commit()
    return node


def create_node(actor: User, parent_id: int, kind: str, name: str) -> OrgNode:
    """Create a node under ``parent_id``; the actor must manage the parent."""
    parent = visible_node(actor, parent_id, "org.manage")
    _check_parent(kind, parent)
    node = insert_node(kind, name, parent)
    log.record(actor, "org.create", node, org_id=node.id, after=log.snapshot(node, "kind", "name", "parent_id"))
    db.session.commit()
    return node


def rename_node(actor: User, node_id: int, name: str) -> OrgNode:
    node = visible_node(actor, node_id, "org.manage")
    before = log.snapshot(node, "name")
    node.name = name
    log.record(actor, "org.rename", node, org_id=node.id, before=before, after={"name": name})
    db.session.commit()
    return node


def move_node(actor: User, node_id: int, new_parent_id: int) -> OrgNode:
    """Move a node and its subtree under another parent, rewriting the paths
    of the whole subtree in one UPDATE. The actor must manage both ends."""
    node = visible_node(actor, node_id, "org.manage")
    parent = visible_node(actor, new_parent_id, "org.manage")
    if node.parent_id is None:
        raise RootNotMovable()
    if parent.path.startswith(node.path):
        raise MoveIntoOwnSubtree()
    _check_parent(node.kind, parent)
    old_prefix, new_prefix = node.path, f"{parent.path}{node.id}/"
    log.record(actor, "org.move", node, org_id=node.id, before={"parent_id": node.parent_id},
               after={"parent_id": parent.id})
    depth_change = parent.depth + 1 - node.depth
    db.session.execute(
        update(OrgNode)
        .where(subtree_clause(OrgNode.path, old_prefix))
        .values(path=literal(new_prefix) + func.substr(OrgNode.path, len(old_prefix) + 1),
                depth=OrgNode.depth + depth_change)
        .execution_options(synchronize_session=False)
    )
    node.parent_id = parent.id
    db.session.commit()
    db.session.expire_all()
    forget_grants(actor)
    db.session.refresh(node)
    return node


def list_nodes(actor: User, *, parent_id: int | None, kind: str | None, limit: int,
               cursor: str | None) -> Page:
    """Nodes the actor can see: children of ``parent_id``, or their whole scope."""
    stmt = select(OrgNode).where(scope_clause(actor, "org.view", OrgNode.path))
    if parent_id is not None:
        visible_node(actor, parent_id)
        stmt = stmt.where(OrgNode.parent_id == parent_id)
    if kind:
        stmt = stmt.where(OrgNode.kind == kind)
    return keyset_page(stmt, (OrgNode.id,), limit, cursor)


DIRECTORY_KINDS = ("street", "community", "party_branch")


def directory(kind: str, parent_id: int | None, query: str | None, limit: int, cursor: str | None) -> Page:
    """The public part of the tree, for anyone logged in: streets, communities
    and Party branches by name (what a resident picks to report to, a member to
    bind to), each with its parent's name. No people, no other kinds."""
    stmt = select(OrgNode).where(OrgNode.kind == kind)
    if parent_id is not None:
        stmt = stmt.where(OrgNode.parent_id == parent_id)
    if query:
        stmt = stmt.where(OrgNode.name.contains(query, autoescape=True))
    page = keyset_page(stmt, (OrgNode.id,), limit, cursor)
    parents = {node.id: node for node in db.session.scalars(select(OrgNode).where(
        OrgNode.id.in_({n.parent_id for n in page.items if n.parent_id is not None})))}
    for node in page.items:
        node.__dict__["parent_ref"] = parents.get(node.parent_id)
    return page


def list_grants(actor: User, node_id: int, limit: int, cursor: str | None) -> Page:
    node = visible_node(actor, node_id, "role.grant")
    stmt = select(RoleGrant).where(RoleGrant.org_id == node.id)
    return keyset_page(stmt, (RoleGrant.id,), limit, cursor)


def _check_grantable(actor: User, node: OrgNode, role: str) -> None:
    """Only roles the actor's own roles over ``node`` may hand out (or take back)."""
    held = roles_over(actor, node.path)
    if not any(role in GRANTABLE_BY.get(r, ()) for r in held):
        raise RoleNotGrantable({"role": role})


def grant_role(actor: User | None, node_id: int, user_id: int, role: str) -> tuple[RoleGrant, bool]:
    """Give ``user_id`` the ``role`` on a node. ``actor=None`` is the bootstrap CLI.

    The actor may grant only inside their subtree, and an org admin may not
    make district admins. Granting a role already held returns it unchanged.
    """
    node = get_node(node_id)
    if actor is not None:
        authorize(actor, "role.grant", node)
        _check_grantable(actor, node, role)
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise UserNotFound()
    existing = db.session.scalar(select(RoleGrant).where(
        RoleGrant.user_id == user_id, RoleGrant.org_id == node.id, RoleGrant.role == role))
    if existing:
        return existing, False
    grant = RoleGrant(user_id=user_id, org_id=node.id, role=role,
                      granted_by_id=actor.id if actor else None)
    db.session.add(grant)
    try:
        log.record(actor, "role.grant", grant, org_id=node.id,  # flushes: a concurrent grant fails here
                   after={"user_id": user_id, "role": role, "org_id": node.id})
        db.session.commit()
    except IntegrityError:  # granted concurrently: the other request won
        db.session.rollback()
        return db.session.scalars(select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.org_id == node.id, RoleGrant.role == role)).one(), False
    forget_grants(user)
    return grant, True


def revoke_role(actor: User, node_id: int, grant_id: int) -> None:
    node = visible_node(actor, node_id, "role.grant")
    grant = get_or_404(RoleGrant, grant_id)
    if grant.org_id != node.id:
        raise NotFound()
    _check_grantable(actor, node, grant.role)
    log.record(actor, "role.revoke", grant, org_id=node.id,
               before={"user_id": grant.user_id, "role": grant.role, "org_id": node.id})
    db.session.delete(grant)
    db.session.commit()
