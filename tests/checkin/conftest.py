"""Fixtures for check-in tests: a center in community A and a way to scan it."""
from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
import time_machine

CENTER_LAT, CENTER_LNG = 21.8580, 111.9620  # 丰泽社区党群服务中心 (GCJ-02)
HERE = {"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "gcj02", "accuracy": 20}
# A Thursday morning in Yangjiang, 10:00 +08:00.
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


def near(metres_north: float) -> dict:
    """A point ``metres_north`` of the center."""
    return {**HERE, "lat": CENTER_LAT + metres_north / 111_195}


@pytest.fixture(autouse=True)
def clock():
    """Every check-in test runs on a controlled clock, from T0 (before any login)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_center(admin, tree):
    def make(**fields):
        body = {"org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
                "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}, **fields}
        response = admin.post("/api/v1/centers", json=body)
        assert response.status_code == 201, response.json
        return SimpleNamespace(**response.json)

    return make


@pytest.fixture
def center(make_center):
    return make_center()


@pytest.fixture
def display_code(admin):
    def get(center_id: int) -> dict:
        response = admin.get(f"/api/v1/centers/{center_id}/display-code")
        assert response.status_code == 200, response.json
        return response.json

    return get


@pytest.fixture
def scan():
    def do(api, code: str, location=HERE, **extra):
        body = {"code": code, **({"location": location} if location is not None else {}), **extra}
        return api.post("/api/v1/checkins", json=body)

    return do


@pytest.fixture
def new_member(member):
    """A fresh active member on every call (distinct phones)."""
    numbers = itertools.count(1)
    return lambda: member(phone=f"1390000{next(numbers):04d}")
