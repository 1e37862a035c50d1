"""Never more acceptances than places, under real concurrent requests against a
live threaded server (SQLite and PostgreSQL alike)."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.tasks.models import Participation, Task
from tests.conftest import fire, fire_at_once

VOLUNTEERS = 200
PLACES = 10


def stored(task_id):
    db.session.expire_all()
    places_taken = db.session.scalar(select(Task.places_taken).where(Task.id == task_id))
    states = Counter(dict(db.session.execute(
        select(Participation.state, func.count()).where(Participation.task_id == task_id)
        .group_by(Participation.state)).all()))
    return places_taken, states


@pytest.fixture
def crowd(login, tree):
    """200 registered volunteers, made through HTTP (login + PUT /me/volunteer)."""
    people = []
    for i in range(VOLUNTEERS):
        api = login(f"crowd-{i}")
        response = api.put("/api/v1/me/volunteer", json={"community_id": tree.a if i % 2 else tree.b})
        assert response.status_code == 201, response.json
        people.append(api)
    return people


def test_two_hundred_accepts_at_once_on_ten_places(live_url, crowd, make_task):
    task = make_task(places=PLACES)
    responses = fire_at_once(f"{live_url}/api/v1/tasks/{task.id}/accept",
                             [({}, api.headers) for api in crowd])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: PLACES, 409: VOLUNTEERS - PLACES}, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"task_full"}
    winners = {r.json()["user_id"] for r in responses if r.status_code == 201}
    assert len(winners) == PLACES
    assert all(r.json()["state"] == "accepted" for r in responses if r.status_code == 201)
    places_taken, states = stored(task.id)
    assert places_taken == PLACES
    assert states == {"accepted": PLACES}
    assert set(db.session.scalars(select(Participation.user_id).where(Participation.task_id == task.id))) == winners


def test_two_hundred_at_once_with_the_waitlist(live_url, crowd, make_task):
    task = make_task(places=PLACES)
    responses = fire_at_once(f"{live_url}/api/v1/tasks/{task.id}/accept",
                             [({"waitlist": True}, api.headers) for api in crowd])
    assert Counter(r.status_code for r in responses) == {201: VOLUNTEERS}
    assert Counter(r.json()["state"] for r in responses) == {"accepted": PLACES,
                                                            "waitlisted": VOLUNTEERS - PLACES}
    assert stored(task.id) == (PLACES, {"accepted": PLACES, "waitlisted": VOLUNTEERS - PLACES})


RETRIES = 30


def test_one_volunteer_accepting_at_once_holds_one_place(live_url, volunteer, make_task):
    task = make_task(places=2)
    v = volunteer()
    responses = fire_at_once(f"{live_url}/api/v1/tasks/{task.id}/accept", [({}, v.headers)] * RETRIES)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1 and statuses[201] + statuses[200] == RETRIES, statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert stored(task.id) == (1, {"accepted": 1})


def test_one_volunteer_withdrawing_at_once_frees_one_place(live_url, volunteer, make_task):
    task = make_task(places=2)
    v, other = volunteer(), volunteer()
    assert v.post(f"/api/v1/tasks/{task.id}/accept", json={}).status_code == 201
    assert other.post(f"/api/v1/tasks/{task.id}/accept", json={}).status_code == 201
    responses = fire_at_once(f"{live_url}/api/v1/tasks/{task.id}/withdraw", [(None, v.headers)] * RETRIES)
    statuses = Counter(r.status_code for r in responses)
    # the losers read it withdrawn (404: nothing of theirs to withdraw) or lost the claim (409)
    assert statuses[200] == 1 and statuses[404] + statuses[409] == RETRIES - 1, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"state_changed"}
    # one place freed, not thirty: the other volunteer still holds theirs
    assert stored(task.id) == (1, {"accepted": 1, "withdrawn": 1})


def test_one_volunteer_coming_back_at_once_takes_one_place(live_url, volunteer, make_task):
    task = make_task(places=3)
    v = volunteer()
    assert v.post(f"/api/v1/tasks/{task.id}/accept", json={}).status_code == 201
    assert v.post(f"/api/v1/tasks/{task.id}/withdraw").status_code == 200
    responses = fire_at_once(f"{live_url}/api/v1/tasks/{task.id}/accept", [({}, v.headers)] * RETRIES)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: RETRIES - 1}, statuses
    assert all(r.json()["state"] == "accepted" for r in responses)
    assert stored(task.id) == (1, {"accepted": 1})


def test_one_volunteer_accepting_two_overlapping_tasks_at_once_holds_one(live_url, volunteer, make_task):
    first, second = make_task(places=5), make_task(places=5)  # the same hours
    v = volunteer()
    responses = fire([(f"{live_url}/api/v1/tasks/{t.id}/accept", {}, v.headers)
                      for _ in range(10) for t in (first, second)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"schedule_conflict"}
    db.session.expire_all()
    held = db.session.scalars(select(Participation).where(Participation.user_id == v.user_id)).all()
    assert [p.state for p in held] == ["accepted"]
    assert stored(first.id)[0] + stored(second.id)[0] == 1
