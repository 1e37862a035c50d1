"""Grid fixtures: the default categories, a grid in community A with a boundary, its leader."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.grid.services import ensure_default_categories

# A square of about 550 m around (21.858, 111.962), GCJ-02, in GeoJSON's [lng, lat] order.
SQUARE = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                              [111.959, 21.861], [111.959, 21.855]]]}
INSIDE = {"lat": 21.858, "lng": 111.962}
OUTSIDE = {"lat": 21.900, "lng": 112.100}


@pytest.fixture(autouse=True)
def categories(app):
    ensure_default_categories()


@pytest.fixture
def admin(login_as, tree):
    return login_as("org_admin", tree.a)


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
