"""The one "near me" query: every row inside the radius exactly once, in
distance order, across pages, on both databases."""
from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import select

from app.checkin.models import ServiceCenter
from app.common.geo import Point, distance_m
from app.common.near import nearest_page
from app.errors import ValidationFailed
from app.extensions import db

HERE = Point(24.8801, 118.6757)
RADIUS = 3000.0


def _offset(point: Point, north_m: float, east_m: float) -> Point:
    return Point(point.lat + north_m / 111_195.0,
                 point.lng + east_m / (111_195.0 * math.cos(math.radians(point.lat))))


@pytest.fixture
def scattered(app, tree):
    """400 centers up to 2 × RADIUS away, none within 1 % of the edge (where
    the projection and the great circle may disagree), and five at one spot."""
    rng = random.Random(15)
    points = []
    while len(points) < 400:
        r, angle = rng.uniform(0, 2 * RADIUS), rng.uniform(0, 2 * math.pi)
        if abs(r - RADIUS) > RADIUS / 100:
            points.append(_offset(HERE, r * math.cos(angle), r * math.sin(angle)))
    points += [_offset(HERE, 500, 500)] * 5
    for i, p in enumerate(points):
        db.session.add(ServiceCenter(org_id=tree.a, name=f"c{i}", lat=p.lat, lng=p.lng, code_key="k" * 32))
    db.session.commit()
    return points


def _pages(limit: int) -> list[ServiceCenter]:
    seen, cursor = [], None
    while True:
        page = nearest_page(select(ServiceCenter), ServiceCenter.lat, ServiceCenter.lng, ServiceCenter.id,
                            HERE, RADIUS, limit, cursor)
        seen += page.items
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_paging_returns_everything_inside_once_nearest_first(scattered, limit):
    inside = {c.id for c in db.session.scalars(select(ServiceCenter))
              if distance_m(HERE, Point(c.lat, c.lng)) <= RADIUS}
    seen = _pages(limit)
    ids = [c.id for c in seen]
    assert len(ids) == len(set(ids))
    assert set(ids) == inside and len(inside) > 80
    keys = [(c.distance_m, c.id) for c in seen]
    assert [d for d, _ in keys] == sorted(d for d, _ in keys)
    # the five at one spot come out together, by id
    spot = [c.id for c in seen if c.name in {f"c{i}" for i in range(400, 405)}]
    assert spot == sorted(spot) and len(spot) == 5


def test_distance_is_close_to_the_great_circle(scattered):
    for center in _pages(50):
        truth = distance_m(HERE, Point(center.lat, center.lng))
        assert abs(center.distance_m - truth) <= max(2.0, truth * 0.005)


def test_a_cursor_of_another_list_is_refused(scattered):
    with pytest.raises(ValidationFailed):
        nearest_page(select(ServiceCenter), ServiceCenter.lat, ServiceCenter.lng, ServiceCenter.id,
                     HERE, RADIUS, 10, "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxXQ")
