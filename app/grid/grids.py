"""Grids (网格) of a community and their leaders: creating and changing a
grid and its boundary, finding the grid that holds a point, and who may see
a grid."""
from __future__ import annotations

from sqlalchemy import or_, select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import roles_over, scope_clause
from app.common.geo import Point, contains, polygon_ring
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404
from app.errors import NotFound, field_error
from app.extensions import db
from app.grid.errors import InvalidBoundary
from app.grid.models import Grid, GridEvent, GridLeader
from app.grid.upsert import upsert
from app.orgs.models import MemberCommunityReport, OrgNode
from app.orgs.services import grant_role, insert_node, visible_node


def _boundary(geojson: dict | None) -> tuple[dict | None, tuple | None]:
    if geojson is None:
        return None, None
    try:
        ring = polygon_ring(geojson)
    except ValueError as error:
        raise InvalidBoundary({"why": str(error)}) from None
    lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
    return geojson, (min(lats), max(lats), min(lngs), max(lngs))


def create_grid(actor: User, community_id: int, name: str, households: int,
                boundary: dict | None) -> Grid:
    """A grid of a community, with its grid Party group created beside it."""
    community = visible_node(actor, community_id, "grid.manage")
    if community.kind != "community":
        raise field_error("community_id", "Grids belong to a community.")
    geojson, box = _boundary(boundary)
    group = insert_node("party_group", f"{name}党小组", community)
    grid = Grid(community_id=community.id, party_group_id=group.id, name=name,
                households=households, boundary=geojson)
    if box:
        grid.min_lat, grid.max_lat, grid.min_lng, grid.max_lng = box
    db.session.add(grid)
    audit.record(actor, "grid.create", grid, org_id=community.id,
                 after=audit.snapshot(grid, "name", "households", "party_group_id"))
    db.session.commit()
    return grid


def get_grid(grid_id: int) -> Grid:
    return get_or_404(Grid, grid_id)


def visible_grid(actor: User, grid_id: int) -> Grid:
    """The grid, if the actor holds a role over it: an admin of the community
    or above, or one of its leaders (their role is on the grid's Party group)."""
    grid = get_grid(grid_id)
    if not roles_over(actor, grid.party_group.path):
        raise NotFound()
    return grid


def update_grid(actor: User, grid_id: int, fields: dict) -> Grid:
    grid = get_grid(grid_id)
    visible_node(actor, grid.community_id, "grid.manage")
    before = audit.state(grid)
    if "name" in fields:
        grid.name = fields["name"]
    if "households" in fields:
        grid.households = fields["households"]
    if "boundary" in fields:
        grid.boundary, box = _boundary(fields["boundary"])
        grid.min_lat, grid.max_lat, grid.min_lng, grid.max_lng = box or (None, None, None, None)
    audit.record_change(actor, "grid.update", grid, before, org_id=grid.community_id)
    db.session.commit()
    return grid


def grids_at(point: Point) -> list[Grid]:
    """The grids whose boundary holds the point (bounding boxes first, by index;
    a grid has a box exactly when it has a boundary)."""
    candidates = db.session.scalars(select(Grid).where(
        Grid.min_lat <= point.lat, Grid.max_lat >= point.lat,
        Grid.min_lng <= point.lng, Grid.max_lng >= point.lng).order_by(Grid.id)).all()
    return [g for g in candidates if g.boundary is not None and contains(polygon_ring(g.boundary), point)]


def grid_at(point: Point) -> Grid | None:
    """The grid that holds the point (the first one, if boundaries overlap)."""
    return next(iter(grids_at(point)), None)


def _own_grid(user: User, grid: Grid) -> bool:
    """A grid the user may look up by a point: one they hold a role over (its
    community's admins and above, its leaders), one of the community they
    reported their residence to, or one they reported an event in."""
    if roles_over(user, grid.party_group.path):
        return True
    reported_here = select(GridEvent.id).where(GridEvent.reporter_id == user.id,
                                               GridEvent.grid_id == grid.id).exists()
    lives_here = select(MemberCommunityReport.id).where(
        MemberCommunityReport.user_id == user.id, MemberCommunityReport.community_id == grid.community_id,
        MemberCommunityReport.state == "confirmed").exists()
    return bool(db.session.scalar(select(or_(reported_here, lives_here))))


def list_grids(actor: User, community_id: int | None, at: Point | None, limit: int,
               cursor: str | None) -> Page:
    """Grids of a community or of the actor's scope. ``at``: the actor's own
    grid holding the point (see :func:`_own_grid`); nothing when the point
    lies in no grid of theirs, so that a point never reveals another
    community's grid or its boundary."""
    if at is not None:
        grid = next((g for g in grids_at(at) if _own_grid(actor, g)), None)
        return Page([grid] if grid else [], None)
    stmt = select(Grid).join(Grid.community)
    if community_id is not None:
        community = visible_node(actor, community_id, "org.view")
        stmt = stmt.where(Grid.community_id == community.id)
    else:
        stmt = stmt.where(scope_clause(actor, "org.view", OrgNode.path))
    return keyset_page(stmt, (Grid.id,), limit, cursor)


def assign_leader(actor: User, grid_id: int, user_id: int, role: str, buildings: list[str],
                  lanes: list[str]) -> GridLeader:
    """A leader of the grid; the role is granted on the grid's Party group."""
    grid = get_grid(grid_id)
    visible_node(actor, grid.community_id, "grid.manage")
    grant_role(actor, grid.party_group_id, user_id, role)
    return upsert(GridLeader, {"grid_id": grid.id, "user_id": user_id, "role": role},
                  {"buildings": buildings, "lanes": lanes},
                  audited=(actor, "grid_leader.assign", grid.community_id))


def leader_page(actor: User, grid_id: int, limit: int, cursor: str | None) -> Page:
    """The grid's leaders, oldest assignment first (404 for a grid you cannot see)."""
    grid = visible_grid(actor, grid_id)
    return keyset_page(select(GridLeader).where(GridLeader.grid_id == grid.id), (GridLeader.id,),
                       limit, cursor)


def leader_grids(user: User) -> list[int]:
    """The grids the user leads (as grid, building or lane leader)."""
    return list(db.session.scalars(select(GridLeader.grid_id).where(GridLeader.user_id == user.id)
                                   .distinct()))
