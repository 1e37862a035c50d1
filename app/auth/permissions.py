"""Roles, what they allow, and the one check every feature uses.

A role is held on an organization node and applies to the node's whole
subtree. ``member`` and ``resident`` are not grants: they come from a
user's identity. Out-of-scope objects answer 404 (their existence is not
revealed); in-scope objects the role may not act on answer 403.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select

from app.auth.models import RoleGrant
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.orgs.models import OrgNode

DISTRICT_ADMIN = "district_admin"
ORG_ADMIN = "org_admin"
CENTER_ADMIN = "center_admin"
GRID_LEADER = "grid_leader"
BUILDING_LEADER = "building_leader"
LANE_LEADER = "lane_leader"

ROLES = (DISTRICT_ADMIN, ORG_ADMIN, CENTER_ADMIN, GRID_LEADER, BUILDING_LEADER, LANE_LEADER)
ADMINS = frozenset({DISTRICT_ADMIN, ORG_ADMIN})
LEADERS = frozenset({GRID_LEADER, BUILDING_LEADER, LANE_LEADER})

# action -> roles that may take it on a node of their subtree
PERMISSIONS: dict[str, frozenset[str]] = {
    "org.view": ADMINS | {CENTER_ADMIN} | LEADERS,
    "org.manage": ADMINS,
    "role.grant": ADMINS,
    "members.manage": ADMINS,
    "reports.decide": ADMINS,
    "center.manage": ADMINS,
    "center.operate": ADMINS | {CENTER_ADMIN},
    "grid.manage": ADMINS,
    "grid.lead": ADMINS | LEADERS,
    "tasks.manage": ADMINS,
    "badges.manage": ADMINS,
    "stats.read": ADMINS | {CENTER_ADMIN},
    "audit.read": ADMINS,  # the audit trail of a subtree (app.audit)
    "content.moderate": ADMINS,  # the text moderation queue (app.moderation)
    "console.login": ADMINS | {CENTER_ADMIN},  # the admin console's QR login (app.auth.console_login)
    # District-wide settings (grid-event categories and time limits, badge keys):
    # held on the district node, they apply to every subtree at once.
    "district.configure": frozenset({DISTRICT_ADMIN}),
}

# Who may hand out which role (always inside their own subtree).
GRANTABLE_BY: dict[str, frozenset[str]] = {
    DISTRICT_ADMIN: frozenset(ROLES),
    ORG_ADMIN: frozenset(ROLES) - {DISTRICT_ADMIN},
}


def subtree_clause(path_column, prefix: str) -> ColumnElement[bool]:
    """Rows whose materialized path lies in the subtree rooted at ``prefix``.

    Paths look like ``/1/5/23/``; the subtree of ``/1/5/`` is the index range
    [``/1/5/``, ``/1/50``) because ``0`` is the character after ``/``.
    """
    return and_(path_column >= prefix, path_column < prefix[:-1] + "0")


def grants_of(user) -> list[tuple[str, str]]:
    """(role, org path) pairs the user holds, loaded once per user object."""
    cached = user.__dict__.get("_grants_cache")
    if cached is None:
        rows = db.session.execute(
            select(RoleGrant.role, OrgNode.path)
            .join(OrgNode, OrgNode.id == RoleGrant.org_id)
            .where(RoleGrant.user_id == user.id)
        ).all()
        cached = [(role, path) for role, path in rows]
        user.__dict__["_grants_cache"] = cached
    return cached


def forget_grants(user) -> None:
    user.__dict__.pop("_grants_cache", None)


def roles_over(user, path: str) -> set[str]:
    """The roles the user holds on ``path`` or any of its ancestors."""
    return {role for role, granted in grants_of(user) if path.startswith(granted)}


def can(user, action: str, org) -> bool:
    return bool(roles_over(user, org.path) & PERMISSIONS[action])


def authorize(user, action: str, org) -> None:
    """Raise unless ``user`` may take ``action`` on ``org`` (an OrgNode).

    404 when the node is outside every subtree the user holds a role in,
    403 when it is inside one but no held role allows the action.
    """
    roles = roles_over(user, org.path)
    if not roles:
        raise NotFound()
    if not roles & PERMISSIONS[action]:
        raise Forbidden()


def paths_for(user, action: str) -> list[str]:
    """The org paths (shortest first) on which ``user`` holds a role allowing ``action``."""
    allowed = PERMISSIONS[action]
    return sorted({path for role, path in grants_of(user) if role in allowed}, key=lambda p: (len(p), p))


def authorize_somewhere(user, action: str) -> str:
    """For actions not tied to one node (district-wide settings): the path of
    the highest node where ``user`` may take ``action``, else 403."""
    paths = paths_for(user, action)
    if not paths:
        raise Forbidden()
    return paths[0]


def scope_clause(user, action: str, path_column) -> ColumnElement[bool]:
    """A WHERE clause for rows under any node where ``user`` may take ``action``."""
    allowed = PERMISSIONS[action]
    prefixes = sorted({path for role, path in grants_of(user) if role in allowed})
    # Drop prefixes already covered by a shorter one.
    roots = [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]
    if not roots:
        return false()
    return or_(*(subtree_clause(path_column, p) for p in roots))
