"""``GET /tasks?near=`` pages through every task inside the radius exactly
once, nearest first, with none outside (issue 15: it ranked at most 2,000
rows of the bounding box, taken in no order)."""
from __future__ import annotations

import math
import random

import pytest

from app.common.geo import Point, distance_m
from tests.tasks.conftest import HERE, near

URL = "/api/v1/tasks"
RADIUS = 2_000
CENTER = Point(HERE["lat"], HERE["lng"])


@pytest.fixture
def scattered(make_task, volunteer):
    """72 tasks up to 1.5 × RADIUS away (the bounding box's corners too),
    none within 1 % of the edge, three at one spot; every third an errand;
    four drafts (never listed to a volunteer) and two full tasks."""
    rng = random.Random(15)
    spots = []
    while len(spots) < 66:
        r, angle = rng.uniform(0, 1.5 * RADIUS), rng.uniform(0, 2 * math.pi)
        if abs(r - RADIUS) > RADIUS / 100:
            spots.append((r * math.cos(angle), r * math.sin(angle)))
    spots += [(300.0, 300.0)] * 3 + [(-500.0, 0.0)] * 3
    tasks = {}
    for i, (north, east) in enumerate(spots):
        draft, full = i % 17 == 5, i in (7, 68)
        task = make_task(location=near(north, east), category="errands" if i % 3 == 0 else "other",
                         places=1 if full else 3, publish=not draft)
        if full:
            assert volunteer().post(f"{URL}/{task.id}/accept", json={}).status_code == 201
        point = Point(task.location["lat"], task.location["lng"])
        tasks[task.id] = {"distance": distance_m(CENTER, point), "category": task.category,
                          "draft": draft, "full": full}
    assert sum(t["distance"] <= RADIUS for t in tasks.values()) >= 30
    return tasks


def _pages(api, limit: int, **query) -> list[dict]:
    seen, cursor = [], None
    while True:
        page = api.get(URL, query_string={"near": f"{HERE['lat']},{HERE['lng']}", "radius_m": RADIUS,
                                          "limit": limit, **query, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.json
        assert len(page.json["items"]) <= limit
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("query, keep", [
    ({}, lambda t: True),
    ({"open": "true"}, lambda t: not t["full"]),
    ({"category": "errands"}, lambda t: t["category"] == "errands"),
    ({"open": "true", "category": "other"}, lambda t: not t["full"] and t["category"] == "other"),
])
def test_paging_returns_every_task_inside_once_nearest_first(scattered, volunteer, query, keep):
    v = volunteer()
    for limit in (1, 7):
        seen = _pages(v, limit, **query)
        ids = [t["id"] for t in seen]
        expected = {i for i, t in scattered.items()
                    if t["distance"] <= RADIUS and not t["draft"] and keep(t)}
        assert len(ids) == len(set(ids)) and set(ids) == expected
        distances = [t["distance_m"] for t in seen]
        assert distances == sorted(distances)
        for t in seen:
            assert t["distance_m"] == pytest.approx(scattered[t["id"]]["distance"], rel=0.005, abs=2)
        if limit == 1:  # ids break ties: the same order whatever the page size
            first = ids
        else:
            assert ids == first
