"""Fixtures for volunteer-service tests: a controlled clock, admins, volunteers,
tasks (the live threaded server is in tests/conftest.py)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

UTC = dt.UTC
# A Thursday, 09:00 in Yangjiang (+08:00).
T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
LAT, LNG = 21.8580, 111.9620  # 丰泽社区 (GCJ-02)
HERE = {"lat": LAT, "lng": LNG}
START = T0 + dt.timedelta(days=1)  # tasks run tomorrow 09:00-11:00 local by default
END = START + dt.timedelta(hours=2)


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def near(metres_north: float, metres_east: float = 0.0) -> dict:
    """A point this far north (and east) of HERE, in GCJ-02."""
    import math

    return {"lat": LAT + metres_north / 111_195,
            "lng": LNG + metres_east / (111_195 * math.cos(math.radians(LAT)))}


@pytest.fixture(autouse=True)
def clock():
    """Every test here runs on a frozen clock from T0 (before any login)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def volunteer(login, tree):
    """``volunteer(openid, community_id=A, skills=...)``: a registered (non-member) volunteer."""
    counter = iter(range(1, 100_000))

    def make(openid: str | None = None, community_id: int | None = None, **fields):
        api = login(openid or f"vol-{next(counter)}")
        response = api.put("/api/v1/me/volunteer",
                           json={"community_id": community_id or tree.a, **fields})
        assert response.status_code == 201, response.json
        api.volunteer = response.json
        return api

    return make


@pytest.fixture
def member_volunteer(member, tree):
    """A Party member (roster entry in branch a1) registered as a volunteer."""
    counter = iter(range(1, 10_000))

    def make(community_id: int | None = None, branch_id: int | None = None):
        n = next(counter)
        api = member(name="陈小文", phone=f"1390000{n:04d}", branch_id=branch_id or tree.a1,
                     openid=f"member-vol-{n}")
        response = api.put("/api/v1/me/volunteer", json={"community_id": community_id or tree.a})
        assert response.status_code == 201, response.json
        api.volunteer = response.json
        return api

    return make


def task_body(community_id: int, **fields) -> dict:
    return {"community_id": community_id, "title": "清洁家园", "category": "other",
            "description": "清理楼道杂物", "location": HERE, "starts_at": iso(START),
            "ends_at": iso(END), "places": 3, **fields}


@pytest.fixture
def make_task(admin, tree):
    """``make_task(**fields)``: a task in community A, published unless ``publish=False``."""

    def make(api=None, publish: bool = True, **fields):
        api = api or admin
        body = task_body(fields.pop("community_id", tree.a), **fields)
        response = api.post("/api/v1/tasks", json=body)
        assert response.status_code == 201, response.json
        task = response.json
        if publish:
            published = api.post(f"/api/v1/tasks/{task['id']}/publish", json={})
            assert published.status_code == 200, published.json
            task = published.json
        return SimpleNamespace(**task)

    return make


def serve(api, task_id, travel, check_in_at, check_out_at):
    """Check in and out at these times (the clock only moves forward)."""
    travel(check_in_at)
    assert api.post(f"/api/v1/tasks/{task_id}/check-in", json={"location": HERE}).status_code == 200
    travel(check_out_at)
    response = api.post(f"/api/v1/tasks/{task_id}/check-out", json={"location": HERE})
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def served(make_task, volunteer, travel):
    """A task without a request (2 h, credits 1.5 h) and one volunteer who served 1 h 50 min."""
    task = make_task(hours_credited=1.5)
    v = volunteer()
    v.post(f"/api/v1/tasks/{task.id}/accept", json={})
    participation = serve(v, task.id, travel, START, START + dt.timedelta(hours=1, minutes=50))
    return SimpleNamespace(task=task, v=v, participation=participation,
                           url=f"/api/v1/participations/{participation['id']}")
