"""Grid fixtures: the default categories, a grid in community A with a boundary, its leader;
a frozen clock (every grid test runs from T0), admins at each level, more grids."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from app.grid.categories import ensure_default_categories

# A Thursday morning in Yangjiang, 10:00 +08:00.
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


def square(min_lng: float, min_lat: float, side: float = 0.006) -> dict:
    """A GeoJSON square (GCJ-02, [lng, lat] order) from its south-west corner."""
    max_lng, max_lat = min_lng + side, min_lat + side
    return {"type": "Polygon", "coordinates": [[[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat],
                                                [min_lng, max_lat], [min_lng, min_lat]]]}


# A square of about 550 m around (21.858, 111.962), GCJ-02, in GeoJSON's [lng, lat] order.
SQUARE = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                              [111.959, 21.861], [111.959, 21.855]]]}
INSIDE = {"lat": 21.858, "lng": 111.962}
OUTSIDE = {"lat": 21.900, "lng": 112.100}
# The square east of SQUARE (a second grid of community A), and one further north (community B).
SQUARE_A2 = square(111.965, 21.855)
INSIDE_A2 = {"lat": 21.858, "lng": 111.968}
SQUARE_B = square(111.959, 21.870)
INSIDE_B = {"lat": 21.873, "lng": 111.962}


@pytest.fixture(autouse=True)
def categories(app):
    ensure_default_categories()


@pytest.fixture(autouse=True)
def clock():
    """A frozen clock from T0, started before any login (tokens issued in the
    future are refused)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_grid():
    def make(api, community_id: int, name: str = "第二网格", boundary: dict | None = None,
             households: int = 100) -> SimpleNamespace:
        response = api.post("/api/v1/grids", json={"community_id": community_id, "name": name,
                                                   "households": households, "boundary": boundary})
        assert response.status_code == 201, response.json
        return SimpleNamespace(**response.json)

    return make


@pytest.fixture
def make_leader(login):
    """``make_leader(admin, grid_id, role="grid_leader", openid=..., **buildings_or_lanes)``"""
    counter = iter(range(1, 10_000))

    def make(api, grid_id: int, role: str = "grid_leader", openid: str | None = None, **extra):
        leader = login(openid or f"o-{role}-{grid_id}-{next(counter)}")
        response = api.post(f"/api/v1/grids/{grid_id}/leaders",
                            json={"user_id": leader.user_id, "role": role, **extra})
        assert response.status_code == 201, response.json
        return leader

    return make


@pytest.fixture
def grid(admin, tree):
    response = admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "第一网格",
                                                 "households": 320, "boundary": SQUARE})
    assert response.status_code == 201, response.json
    return SimpleNamespace(**response.json)


@pytest.fixture
def leader(admin, grid, login):
    api = login("o-grid-leader")
    response = admin.post(f"/api/v1/grids/{grid.id}/leaders", json={"user_id": api.user_id,
                                                                    "role": "grid_leader"})
    assert response.status_code == 201, response.json
    return api


@pytest.fixture
def grid_b(admin_b, tree, make_grid):
    return make_grid(admin_b, tree.b, "新江第一网格", SQUARE_B)


@pytest.fixture
def leader_b(admin_b, grid_b, make_leader):
    return make_leader(admin_b, grid_b.id, openid="o-grid-leader-b")


@pytest.fixture
def resident(login):
    return login("o-resident")
