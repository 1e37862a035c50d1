"""Acceptance (接单): places, repeats, overlaps, members_only, withdrawing, the waitlist."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.tasks.models import Participation, Task
from tests.conftest import ApiClient, assert_error
from tests.tasks.conftest import START, T0, iso

URL = "/api/v1/tasks"


def accept(api, task_id, **body):
    return api.post(f"{URL}/{task_id}/accept", json=body)


def withdraw(api, task_id):
    return api.post(f"{URL}/{task_id}/withdraw")


def stored(task_id):
    """(places_taken, {user_id: state}) as the database has them."""
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    rows = db.session.scalars(select(Participation).where(Participation.task_id == task_id))
    return task.places_taken, {p.user_id: p.state for p in rows}


def at(hours_from_start: float, length_hours: float = 2) -> dict:
    start = START + dt.timedelta(hours=hours_from_start)
    return {"starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=length_hours))}


# ---- places --------------------------------------------------------------------------------

def test_accepting_takes_a_place(make_task, volunteer):
    task = make_task(places=2)
    v = volunteer()
    response = accept(v, task.id)
    assert response.status_code == 201, response.json
    p = response.json
    assert (p["task_id"], p["user_id"], p["state"], p["task_title"]) == (task.id, v.user_id, "accepted", "清洁家园")
    assert dt.datetime.fromisoformat(p["accepted_at"]) == T0
    assert dt.datetime.fromisoformat(p["starts_at"]) == START
    assert p["checked_in_at"] is None and p["needs_review"] is False
    seen = v.get(f"{URL}/{task.id}").json
    assert (seen["places_taken"], seen["places_left"]) == (1, 1)
    assert stored(task.id) == (1, {v.user_id: "accepted"})


def test_a_full_task_answers_task_full_and_stores_nothing(make_task, volunteer):
    task = make_task(places=2)
    first, second, late = volunteer(), volunteer(), volunteer()
    assert accept(first, task.id).status_code == 201
    assert accept(second, task.id).status_code == 201
    error = assert_error(accept(late, task.id), 409, "task_full")
    assert error["details"] == {"waitlist_available": True}
    assert stored(task.id) == (2, {first.user_id: "accepted", second.user_id: "accepted"})
    assert late.get("/api/v1/me/tasks").json["items"] == []


def test_accepting_twice_returns_the_same_participation(make_task, volunteer):
    task = make_task(places=2)
    v = volunteer()
    first = accept(v, task.id)
    again = accept(v, task.id)
    also = accept(v, task.id, waitlist=True)
    assert (first.status_code, again.status_code, also.status_code) == (201, 200, 200)
    assert first.json["id"] == again.json["id"] == also.json["id"]
    assert again.json["state"] == "accepted"
    assert stored(task.id) == (1, {v.user_id: "accepted"})


def test_a_repeat_on_a_full_task_still_returns_my_place(make_task, volunteer):
    task = make_task(places=1)
    v = volunteer()
    assert accept(v, task.id).status_code == 201
    assert accept(v, task.id).status_code == 200


def test_a_retried_accept_with_an_idempotency_key_is_replayed(make_task, volunteer):
    task = make_task(places=2)
    v = volunteer()
    headers = {"Idempotency-Key": "accept-1"}
    first = v.post(f"{URL}/{task.id}/accept", json={}, headers=headers)
    again = v.post(f"{URL}/{task.id}/accept", json={}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert_error(v.post(f"{URL}/{task.id}/accept", json={"waitlist": True}, headers=headers),
                 422, "idempotency_key_reused")
    assert stored(task.id)[0] == 1


def test_only_registered_volunteers_accept(make_task, login):
    task = make_task()
    error = assert_error(accept(login("o-not-yet"), task.id), 403, "not_a_volunteer")
    assert error["message"]
    assert stored(task.id) == (0, {})


def test_a_draft_or_unknown_task_is_not_found(make_task, volunteer, admin):
    draft = make_task(publish=False)
    v = volunteer()
    assert_error(accept(v, draft.id), 404, "not_found")
    assert_error(accept(v, 424242), 404, "not_found")
    assert stored(draft.id) == (0, {})


@pytest.mark.parametrize("ending, state", [("cancel", "cancelled"), ("complete", "completed"),
                                           ("start", "in_progress")])
def test_a_task_no_longer_open_cannot_be_accepted(make_task, admin, volunteer, ending, state):
    task = make_task()
    assert admin.post(f"{URL}/{task.id}/{ending}", json={}).status_code == 200
    v = volunteer()
    error = assert_error(accept(v, task.id), 409, "task_not_open")
    assert error["details"]["state"] == state
    assert_error(accept(v, task.id, waitlist=True), 409, "task_not_open")
    assert stored(task.id) == (0, {})


def test_bad_bodies_are_422(make_task, volunteer):
    task = make_task()
    v = volunteer()
    assert_error(accept(v, task.id, waitlist="maybe"), 422, "validation_failed")
    assert_error(accept(v, task.id, extra=1), 422, "validation_failed")
    assert_error(v.post(f"{URL}/{task.id}/accept", data="{", content_type="application/json"),
                 400, "malformed_json")
    assert stored(task.id) == (0, {})


# ---- overlaps --------------------------------------------------------------------------------

def test_no_two_held_tasks_may_overlap(make_task, volunteer, admin_b, tree):
    held = make_task(**at(0))  # 0h-2h
    v = volunteer()
    assert accept(v, held.id).status_code == 201
    for window in (at(1), at(-1), at(0.5, 0.5), at(-1, 5), at(0)):  # every kind of overlap
        other = make_task(**window)
        assert_error(accept(v, other.id), 409, "schedule_conflict")
        assert_error(accept(v, other.id, waitlist=True), 409, "schedule_conflict")
        assert stored(other.id) == (0, {})
    # another community's task counts too
    elsewhere = make_task(api=admin_b, community_id=tree.b, **at(1))
    assert_error(accept(v, elsewhere.id), 409, "schedule_conflict")
    # back to back is fine
    assert accept(v, make_task(**at(2)).id).status_code == 201
    assert accept(v, make_task(**at(-3, 3)).id).status_code == 201


def test_withdrawn_or_waitlisted_tasks_do_not_block_the_schedule(make_task, volunteer):
    v, filler = volunteer(), volunteer()
    withdrawn = make_task(**at(0))
    accept(v, withdrawn.id)
    assert withdraw(v, withdrawn.id).status_code == 200
    full = make_task(places=1, **at(0))
    accept(filler, full.id)
    assert accept(v, full.id, waitlist=True).json["state"] == "waitlisted"
    assert accept(v, make_task(**at(1)).id).status_code == 201


# ---- members only ----------------------------------------------------------------------------

def test_members_only_tasks_need_an_active_member(make_task, volunteer, member_volunteer, admin):
    task = make_task(members_only=True)
    assert_error(accept(volunteer(), task.id), 403, "members_only")
    assert_error(accept(volunteer(), task.id, waitlist=True), 403, "members_only")
    m = member_volunteer()
    assert m.volunteer["is_member"] is True
    assert accept(m, task.id).status_code == 201
    suspended = member_volunteer()
    response = admin.post(f"/api/v1/members/{suspended.identity['id']}/suspend", json={"reason": "停止党籍"})
    assert response.status_code == 200, response.json
    assert_error(accept(suspended, task.id), 403, "members_only")
    assert stored(task.id) == (1, {m.user_id: "accepted"})


def test_registration_marks_member_volunteers(volunteer, member_volunteer, tree):
    plain, m = volunteer(), member_volunteer()
    assert plain.volunteer["is_member"] is False and m.volunteer["is_member"] is True
    assert m.volunteer["community"]["id"] == tree.a
    again = plain.put("/api/v1/me/volunteer", json={"community_id": tree.b,
                                                    "skills": ["repairs", "first_aid", "repairs"],
                                                    "availability": "周末上午"})
    assert again.status_code == 200, again.json
    assert (again.json["id"], again.json["community"]["id"]) == (plain.volunteer["id"], tree.b)
    assert again.json["skills"] == ["first_aid", "repairs"]
    assert plain.get("/api/v1/me/volunteer").json == again.json
    assert_error(plain.put("/api/v1/me/volunteer", json={"community_id": tree.a1}), 422, "not_a_community")
    assert_error(plain.put("/api/v1/me/volunteer", json={}), 422, "validation_failed")


def test_me_volunteer_is_404_before_registering(login):
    assert_error(login("o-nobody").get("/api/v1/me/volunteer"), 404, "not_found")


# ---- withdrawing -----------------------------------------------------------------------------

def test_withdrawing_frees_the_place(make_task, volunteer):
    task = make_task(places=1)
    v, next_one = volunteer(), volunteer()
    accept(v, task.id)
    response = withdraw(v, task.id)
    assert response.status_code == 200 and response.json["state"] == "withdrawn"
    assert stored(task.id) == (0, {v.user_id: "withdrawn"})
    assert accept(next_one, task.id).status_code == 201
    assert_error(withdraw(v, task.id), 404, "not_found")  # nothing left to withdraw
    assert_error(withdraw(volunteer(), task.id), 404, "not_found")


def test_a_volunteer_who_withdrew_may_accept_again(make_task, volunteer):
    task = make_task(places=2)
    v = volunteer()
    first = accept(v, task.id).json
    withdraw(v, task.id)
    again = accept(v, task.id)
    assert again.status_code == 201 and again.json["state"] == "accepted"
    assert again.json["id"] == first["id"]
    assert stored(task.id) == (1, {v.user_id: "accepted"})


def test_withdrawing_closes_at_the_cutoff(make_task, volunteer, travel):
    task = make_task(places=1)
    early, late = volunteer(), volunteer()
    other = make_task(places=1, **at(5))
    accept(early, task.id)
    accept(late, other.id)
    travel(START - dt.timedelta(hours=2))  # exactly the default 2 h: still allowed
    assert withdraw(early, task.id).status_code == 200
    travel(START + dt.timedelta(hours=5) - dt.timedelta(hours=2, seconds=-1))  # one second past it
    error = assert_error(withdraw(late, other.id), 409, "withdraw_cutoff_passed")
    assert error["details"]["cutoff_hours"] == 2.0
    assert "2" in error["message"]
    assert stored(other.id) == (1, {late.user_id: "accepted"})


def test_the_cutoff_is_configurable(make_task, volunteer, make_app, travel):
    task = make_task(places=1)
    v = volunteer()
    accept(v, task.id)
    travel(START - dt.timedelta(minutes=90))
    assert_error(withdraw(v, task.id), 409, "withdraw_cutoff_passed")
    half_hour = ApiClient(make_app(WITHDRAW_CUTOFF=30 * 60).test_client(), v.tokens, v.user_id)
    assert withdraw(half_hour, task.id).status_code == 200
    accept(v, task.id)
    travel(START - dt.timedelta(minutes=29))
    half_hour.tokens = v.tokens
    error = assert_error(withdraw(half_hour, task.id), 409, "withdraw_cutoff_passed")
    assert error["details"]["cutoff_hours"] == 0.5


def test_a_waitlisted_volunteer_may_leave_the_list_any_time(make_task, volunteer, travel):
    task = make_task(places=1)
    holder, waiting = volunteer(), volunteer()
    accept(holder, task.id)
    accept(waiting, task.id, waitlist=True)
    travel(START - dt.timedelta(minutes=10))
    response = withdraw(waiting, task.id)
    assert response.status_code == 200 and response.json["state"] == "withdrawn"
    assert stored(task.id) == (1, {holder.user_id: "accepted", waiting.user_id: "withdrawn"})


# ---- the waitlist ----------------------------------------------------------------------------

def test_accepting_with_waitlist_takes_a_free_place_first(make_task, volunteer):
    task = make_task(places=1)
    response = accept(volunteer(), task.id, waitlist=True)
    assert response.status_code == 201 and response.json["state"] == "accepted"


def test_the_waitlist_fills_freed_places_in_order(make_task, volunteer, clock):
    task = make_task(places=2)
    a, b = volunteer(), volunteer()
    accept(a, task.id)
    accept(b, task.id)
    w1, w2, w3 = volunteer(), volunteer(), volunteer()
    # joined in the order w2, w3, w1 (a minute apart): ids do not decide, time does
    for i, w in enumerate((w2, w3, w1)):
        clock.move_to(T0 + dt.timedelta(minutes=i + 1))
        response = accept(w, task.id, waitlist=True)
        assert response.status_code == 201 and response.json["state"] == "waitlisted"
        assert response.json["waitlist_position"] == i + 1
    assert stored(task.id)[0] == 2

    def position(w):
        mine = w.get("/api/v1/me/tasks").json["items"]
        return [(m["state"], m["waitlist_position"]) for m in mine]

    assert [position(w) for w in (w2, w3, w1)] == [[("waitlisted", 1)], [("waitlisted", 2)],
                                                   [("waitlisted", 3)]]
    assert position(a) == [("accepted", None)]
    assert withdraw(a, task.id).status_code == 200
    assert [position(w) for w in (w2, w3, w1)] == [[("accepted", None)], [("waitlisted", 1)],
                                                   [("waitlisted", 2)]]
    assert stored(task.id) == (2, {a.user_id: "withdrawn", b.user_id: "accepted", w1.user_id: "waitlisted",
                                   w2.user_id: "accepted", w3.user_id: "waitlisted"})
    assert [n["kind"] for n in w2.get("/api/v1/me/notices").json["items"]] == ["waitlist_promoted"]
    assert w2.get("/api/v1/me/notices").json["items"][0]["data"]["task_id"] == task.id
    assert w3.get("/api/v1/me/notices").json["items"] == []
    assert withdraw(b, task.id).status_code == 200
    assert stored(task.id)[1][w3.user_id] == "accepted"
    assert withdraw(w2, task.id).status_code == 200
    assert stored(task.id) == (2, {a.user_id: "withdrawn", b.user_id: "withdrawn", w1.user_id: "accepted",
                                   w2.user_id: "withdrawn", w3.user_id: "accepted"})
    # a late newcomer gets neither a place nor ahead of anyone
    assert_error(accept(volunteer(), task.id), 409, "task_full")


def test_promotion_skips_someone_who_took_an_overlapping_task_meanwhile(make_task, volunteer, clock):
    task = make_task(places=1, **at(0))
    holder, busy, free = volunteer(), volunteer(), volunteer()
    accept(holder, task.id)
    clock.move_to(T0 + dt.timedelta(minutes=1))
    accept(busy, task.id, waitlist=True)
    clock.move_to(T0 + dt.timedelta(minutes=2))
    accept(free, task.id, waitlist=True)
    assert accept(busy, make_task(**at(1)).id).status_code == 201  # overlaps, taken meanwhile
    withdraw(holder, task.id)
    places, states = stored(task.id)
    assert places == 1 and states[busy.user_id] == "waitlisted" and states[free.user_id] == "accepted"


def test_a_withdraw_with_an_empty_waitlist_leaves_the_place_free(make_task, volunteer):
    task = make_task(places=1)
    v = volunteer()
    accept(v, task.id)
    withdraw(v, task.id)
    assert volunteer().get(f"{URL}/{task.id}").json["places_left"] == 1


# ---- my tasks and participants ---------------------------------------------------------------

def test_my_tasks_newest_first_filtered_and_paged(make_task, volunteer):
    v = volunteer()
    tasks = [make_task(places=1, **at(3 * i)) for i in range(5)]
    for t in tasks:
        assert accept(v, t.id).status_code == 201
    withdraw(v, tasks[0].id)
    items = v.get("/api/v1/me/tasks").json["items"]
    assert [i["task_id"] for i in items] == [t.id for t in reversed(tasks)]
    withdrawn = v.get("/api/v1/me/tasks", query_string={"state": "withdrawn"}).json["items"]
    assert [i["task_id"] for i in withdrawn] == [tasks[0].id]
    seen, cursor = [], None
    while True:
        page = v.get("/api/v1/me/tasks", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).json
        seen += [i["task_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [t.id for t in reversed(tasks)]
    assert_error(v.get("/api/v1/me/tasks", query_string={"state": "lost"}), 422, "validation_failed")
    assert volunteer().get("/api/v1/me/tasks").json == {"items": [], "next_cursor": None}


def test_the_organizer_sees_the_participants(make_task, admin, volunteer):
    task = make_task(places=1)
    holder, waiting = volunteer(), volunteer()
    accept(holder, task.id)
    accept(waiting, task.id, waitlist=True)
    response = admin.get(f"{URL}/{task.id}/participants")
    assert response.status_code == 200, response.json
    assert [(p["user_id"], p["state"]) for p in response.json["items"]] == [
        (holder.user_id, "accepted"), (waiting.user_id, "waitlisted")]
    page = admin.get(f"{URL}/{task.id}/participants", query_string={"limit": 1}).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = admin.get(f"{URL}/{task.id}/participants", query_string={"limit": 1, "cursor": page["next_cursor"]}).json
    assert [p["user_id"] for p in rest["items"]] == [waiting.user_id] and rest["next_cursor"] is None


def test_more_places_go_to_the_waitlist_first(make_task, admin, volunteer, clock):
    task = make_task(places=1)
    holder, w1, w2, w3 = volunteer(), volunteer(), volunteer(), volunteer()
    accept(holder, task.id)
    for i, w in enumerate((w1, w2, w3)):
        clock.move_to(T0 + dt.timedelta(minutes=i + 1))
        accept(w, task.id, waitlist=True)
    response = admin.patch(f"{URL}/{task.id}", json={"places": 3})
    assert response.status_code == 200, response.json
    assert (response.json["places_taken"], response.json["places_left"]) == (3, 0)
    assert stored(task.id) == (3, {holder.user_id: "accepted", w1.user_id: "accepted",
                                   w2.user_id: "accepted", w3.user_id: "waitlisted"})
    assert [n["kind"] for n in w2.get("/api/v1/me/notices").json["items"]] == ["waitlist_promoted"]
    assert_error(accept(volunteer(), task.id), 409, "task_full")  # no jumping the queue


def test_a_task_that_has_begun_cannot_be_accepted(make_task, volunteer, travel):
    task = make_task()
    v = volunteer()
    travel(START + dt.timedelta(minutes=1))
    assert_error(accept(v, task.id), 409, "task_not_open")
    assert stored(task.id) == (0, {})
