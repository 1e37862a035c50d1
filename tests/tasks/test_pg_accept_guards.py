"""Each guard of a first acceptance, alone: a request only that guard refuses
is answered with its own code and writes nothing (no participation, the
task's ``places_taken`` unchanged).

The point is PostgreSQL, where a first acceptance is two statements
(``accepting._claim_statement``, ``accepting._participation_statement``):
the task's row is claimed only while it is published and not started, a
``members_only`` task has an active member, the volunteer exists and has no
participation in it, and a place is free (or a waitlist spot was asked for);
the participation is written unless it overlaps another held place, once
per volunteer and task. The answer is told from the task as the statement's
snapshot saw it only when nothing was claimed, so a guard that let a
request through would write. On SQLite the general path refuses the same
requests: the same answers, by the other path. The last tests fire requests
of one volunteer at once: only the volunteer's lock, taken before the
participation's statement, keeps two overlapping places from both being
written.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.tasks.models import Participation, Task
from tests.conftest import assert_error, fire
from tests.tasks.conftest import START, iso

URL = "/api/v1/tasks"


def accept(api, task_id, **body):
    return api.post(f"{URL}/{task_id}/accept", json=body)


def written(task_id: int) -> tuple[int, int]:
    """(places_taken, participations) as stored."""
    db.session.expire_all()
    return (db.session.scalar(select(Task.places_taken).where(Task.id == task_id)),
            db.session.scalar(select(func.count()).select_from(Participation)
                              .where(Participation.task_id == task_id)))


def refused(response, status: int, code: str, task_id: int, before: tuple[int, int]) -> dict:
    error = assert_error(response, status, code)
    assert written(task_id) == before
    return error


def test_published_guard(make_task, admin, volunteer):
    task = make_task()
    assert admin.post(f"{URL}/{task.id}/cancel", json={}).status_code == 200
    before = written(task.id)
    error = refused(accept(volunteer(), task.id), 409, "task_not_open", task.id, before)
    assert error["details"]["state"] == "cancelled"


def test_draft_guard(make_task, volunteer):
    task = make_task(publish=False)
    refused(accept(volunteer(), task.id), 404, "not_found", task.id, (0, 0))


def test_not_started_guard(make_task, volunteer, travel):
    task = make_task()
    v = volunteer()
    travel(START)  # the very start: too late
    error = refused(accept(v, task.id), 409, "task_not_open", task.id, (0, 0))
    assert error["details"]["state"] == "started"


def test_members_only_guard(make_task, volunteer):
    task = make_task(members_only=True)
    refused(accept(volunteer(), task.id), 403, "members_only", task.id, (0, 0))


def test_a_suspended_member_is_refused_by_the_same_guard(make_task, member_volunteer, admin):
    task = make_task(members_only=True)
    suspended = member_volunteer()
    response = admin.post(f"/api/v1/members/{suspended.identity['id']}/suspend", json={"reason": "停止党籍"})
    assert response.status_code == 200, response.json
    refused(accept(suspended, task.id), 403, "members_only", task.id, (0, 0))


def test_volunteer_guard(make_task, login):
    task = make_task()
    refused(accept(login("not-registered"), task.id), 403, "not_a_volunteer", task.id, (0, 0))


def test_existing_participation_guard(make_task, volunteer):
    """A repeat takes no second place (the unique constraint would only stop the second row)."""
    task = make_task()
    v = volunteer()
    first = accept(v, task.id)
    assert first.status_code == 201
    again = accept(v, task.id)
    assert (again.status_code, again.json["id"]) == (200, first.json["id"])
    assert written(task.id) == (1, 1)
    # a return after withdrawing is the general path's rejoin, not the claim's unique write
    assert v.post(f"{URL}/{task.id}/withdraw").status_code == 200
    back = accept(v, task.id)
    assert (back.status_code, back.json["id"], back.json["state"]) == (201, first.json["id"], "accepted")
    assert written(task.id) == (1, 1)


def test_free_place_guard(make_task, volunteer):
    task = make_task(places=1)
    assert accept(volunteer(), task.id).status_code == 201
    refused(accept(volunteer(), task.id), 409, "task_full", task.id, (1, 1))


def test_waitlist_asked_guard(make_task, volunteer):
    """A full task gives a waitlist spot only to who asks for one."""
    task = make_task(places=1)
    assert accept(volunteer(), task.id).status_code == 201
    refused(accept(volunteer(), task.id, waitlist=False), 409, "task_full", task.id, (1, 1))


def test_waitlist_spot_only_when_full_guard(make_task, volunteer):
    """With a place free, ``waitlist=true`` takes the place, and only it."""
    task = make_task(places=2)
    response = accept(volunteer(), task.id, waitlist=True)
    assert (response.status_code, response.json["state"]) == (201, "accepted"), response.json
    assert written(task.id) == (1, 1)


def test_overlap_guard(make_task, volunteer):
    held, other = make_task(), make_task()  # the same hours
    v = volunteer()
    assert accept(v, held.id).status_code == 201
    before = written(other.id)
    refused(accept(v, other.id), 409, "schedule_conflict", other.id, before)
    refused(accept(v, other.id, waitlist=True), 409, "schedule_conflict", other.id, before)


def test_overlap_guard_on_a_full_task_with_the_waitlist(make_task, volunteer):
    held, full = make_task(), make_task(places=1)
    v = volunteer()
    assert accept(v, held.id).status_code == 201
    assert accept(volunteer(), full.id).status_code == 201
    refused(accept(v, full.id, waitlist=True), 409, "schedule_conflict", full.id, (1, 1))


# ---- one volunteer's requests at once -------------------------------------------------------

def test_one_volunteer_accepting_overlapping_tasks_at_once_holds_one(live_url, make_task, volunteer):
    """The volunteer's lock is taken before the participation's statement, whose
    snapshot then sees the place a concurrent request of theirs committed."""
    for _ in range(3):
        tasks = [make_task(places=5, starts_at=iso(START + dt.timedelta(minutes=i)),
                           ends_at=iso(START + dt.timedelta(hours=2))) for i in range(6)]
        v = volunteer()
        responses = fire([(f"{live_url}{URL}/{t.id}/accept", {}, v.headers) for t in tasks])
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 5, [r.text for r in responses]
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"schedule_conflict"}
        assert sum(written(t.id)[0] for t in tasks) == 1
        assert sum(written(t.id)[1] for t in tasks) == 1


def test_one_volunteer_accepting_one_task_at_once_takes_one_place(live_url, make_task, volunteer):
    """The second request's claim waits for the first's commit and passes (its
    snapshot saw no participation): the participation's statement writes
    nothing, and the place goes back."""
    for _ in range(3):
        task = make_task(places=5)
        v = volunteer()
        responses = fire([(f"{live_url}{URL}/{task.id}/accept", {}, v.headers)] * 8)
        assert sorted(r.status_code for r in responses) == [200] * 7 + [201], [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
        assert written(task.id) == (1, 1)
