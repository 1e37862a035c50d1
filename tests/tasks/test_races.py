"""Nothing lost, nothing raced, nothing 500: concurrent state changes of tasks,
participations, help requests and correction requests, sent as real concurrent
HTTP requests to a live threaded server. Of N changes that read the same state
exactly one wins; the others get 409 (``state_changed`` naming the state now
stored, or the feature's own conflict), never a 500."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.notices.models import Notice
from app.tasks.models import (
    CorrectionRequest,
    HelpRequest,
    HoursEntry,
    Participation,
    Task,
)
from tests.conftest import fire
from tests.tasks.conftest import END, HERE, START, iso

API = "/api/v1"
HOLDING = ("accepted", "checked_in", "checked_out", "confirmed")
ACTIVE = ("accepted", "waitlisted", "checked_in")


def no_500(responses):
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500][:1]


def exactly_one_won(responses):
    """One request succeeded; every other one lost with a 409 of the lifecycle."""
    no_500(responses)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] + statuses[201] == 1 and statuses[409] == len(responses) - 1, statuses
    assert codes(responses) <= {"state_changed", "invalid_state"}


def codes(responses, status=409):
    return {r.json()["error"]["code"] for r in responses if r.status_code == status}


def stored_task(task_id):
    db.session.expire_all()
    return db.session.get(Task, task_id)


def states(task_id) -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Participation.user_id, Participation.state)
                                   .where(Participation.task_id == task_id)).all())


def assert_places_add_up(task_id):
    task = stored_task(task_id)
    held = sum(1 for state in states(task_id).values() if state in HOLDING)
    assert task.places_taken == held, (task.places_taken, states(task_id))
    assert 0 <= task.places_taken <= task.places


# ---- tasks ---------------------------------------------------------------------------------

def test_complete_and_cancel_at_once_one_wins(live_url, make_task, volunteer, admin, street_admin):
    task = make_task(places=3)
    people = [volunteer() for _ in range(3)]
    for v in people:
        assert v.post(f"{API}/tasks/{task.id}/accept", json={}).status_code == 201
    url = f"{live_url}{API}/tasks/{task.id}"
    calls = [(f"{url}/{action}", {}, api.headers)
             for _ in range(6) for action, api in (("complete", admin), ("cancel", street_admin))]
    responses = fire(calls)
    no_500(responses)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: len(calls) - 1}, statuses
    assert codes(responses) <= {"state_changed", "invalid_state"}
    [won] = [r for r in responses if r.status_code == 200]
    final = stored_task(task.id).state
    assert won.json()["state"] == final
    assert all(r.json()["error"]["details"]["state"] == final for r in responses if r.status_code == 409)
    if final == "completed":
        assert set(states(task.id).values()) == {"accepted"}
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
        assert_places_add_up(task.id)
    else:
        assert set(states(task.id).values()) == {"cancelled"}
        assert stored_task(task.id).places_taken == 0
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 3  # told once each


def test_accepts_racing_a_cancel_leave_nothing_active_on_the_cancelled_task(live_url, make_task, volunteer,
                                                                            admin):
    task = make_task(places=3)
    crowd = [volunteer() for _ in range(16)]
    url = f"{live_url}{API}/tasks/{task.id}"
    calls = [(f"{url}/accept", {"waitlist": i % 2 == 0}, v.headers) for i, v in enumerate(crowd)]
    calls.insert(8, (f"{url}/cancel", {"reason": "暴雨"}, admin.headers))
    responses = fire(calls)
    no_500(responses)
    cancel = responses[8]
    assert cancel.status_code == 200, cancel.json()
    accepts = responses[:8] + responses[9:]
    assert {r.status_code for r in accepts} <= {201, 409}
    assert codes(accepts) <= {"task_full", "task_not_open", "state_changed"}
    assert stored_task(task.id).state == "cancelled"
    assert stored_task(task.id).places_taken == 0
    now = states(task.id)
    assert not [s for s in now.values() if s in ACTIVE], now
    # whoever got in before the cancel was cancelled with it, and told
    got_in = {r.json()["user_id"] for r in accepts if r.status_code == 201}
    assert set(now) == got_in and set(now.values()) <= {"cancelled"}
    told = set(db.session.scalars(select(Notice.user_id).where(Notice.kind == "task_cancelled")))
    assert told == got_in


def test_a_waitlisted_withdrawal_is_never_undone_by_the_promotion(live_url, make_task, volunteer):
    task = make_task(places=2)
    holders = [volunteer() for _ in range(2)]
    for v in holders:
        assert v.post(f"{API}/tasks/{task.id}/accept", json={}).status_code == 201
    waiting = [volunteer() for _ in range(8)]
    for v in waiting:
        assert v.post(f"{API}/tasks/{task.id}/accept", json={"waitlist": True}).json["state"] == "waitlisted"
    leaving = waiting[:6]  # the first six in line leave just as the holders do
    calls = [(f"{live_url}{API}/tasks/{task.id}/withdraw", None, v.headers) for v in (*holders, *leaving)]
    responses = fire(calls)
    no_500(responses)
    assert {r.status_code for r in responses} <= {200, 409}
    assert codes(responses) <= {"state_changed"}
    now = states(task.id)
    for v, response in zip((*holders, *leaving), responses, strict=False):
        if response.status_code == 200:
            assert now[v.user_id] == "withdrawn", (v.user_id, now)  # the answer is what is stored
        else:  # promoted before their withdrawal: they hold the place, and were told
            assert response.json()["error"]["details"]["state"] == "accepted"
            assert now[v.user_id] == "accepted"
    assert_places_add_up(task.id)
    assert stored_task(task.id).places_taken == 2  # the places went on down the line
    # everyone holding a place off the list was told; whoever was told holds it or gave it back
    promoted = {u for u, s in now.items() if s == "accepted"} - {v.user_id for v in holders}
    told = Counter(db.session.scalars(select(Notice.user_id).where(Notice.kind == "waitlist_promoted")))
    assert set(told.values()) == {1}, told
    assert promoted <= set(told) and all(now[u] in ("accepted", "withdrawn") for u in told)


def test_a_promotion_and_an_overlapping_accept_at_once_hold_one_place(live_url, make_task, volunteer):
    pairs = []
    for _ in range(5):
        waited, other = make_task(places=1), make_task(places=5)  # the same hours
        holder, waiter = volunteer(), volunteer()
        assert holder.post(f"{API}/tasks/{waited.id}/accept", json={}).status_code == 201
        assert waiter.post(f"{API}/tasks/{waited.id}/accept", json={"waitlist": True}).status_code == 201
        pairs.append((waited, other, holder, waiter))
    calls = []
    for waited, other, _holder, waiter in pairs:
        calls += [(f"{live_url}{API}/tasks/{waited.id}/withdraw", None, holder.headers),
                  (f"{live_url}{API}/tasks/{other.id}/accept", {}, waiter.headers)]
    responses = fire(calls)
    no_500(responses)
    for waited, other, _holder, waiter in pairs:
        held = [t.id for t in (waited, other) if states(t.id).get(waiter.user_id) in HOLDING]
        assert len(held) == 1, (held, states(waited.id), states(other.id))
        assert_places_add_up(waited.id)
        assert_places_add_up(other.id)


def test_lowering_places_while_accepts_run_is_never_a_500(live_url, make_task, volunteer, admin):
    task = make_task(places=8)
    crowd = [volunteer() for _ in range(12)]
    url = f"{live_url}{API}/tasks/{task.id}"
    calls = [(f"{url}/accept", {}, v.headers) for v in crowd]
    for places in (2, 3, 4, 5, 6, 7):
        calls.insert(places * 2 - 3, (url, {"places": places}, admin.headers, "PATCH"))
    responses = fire(calls)
    no_500(responses)
    patches = [r for call, r in zip(calls, responses, strict=False) if call[-1] == "PATCH"]
    accepts = [r for call, r in zip(calls, responses, strict=False) if call[-1] != "PATCH"]
    assert {r.status_code for r in patches} <= {200, 409}, [r.json() for r in patches]
    assert codes(patches) <= {"places_below_taken", "state_changed"}
    for r in patches:
        if r.status_code == 409 and r.json()["error"]["code"] == "places_below_taken":
            details = r.json()["error"]["details"]
            assert details["places"] < details["places_taken"]
    assert {r.status_code for r in accepts} <= {201, 409}
    assert codes(accepts) <= {"task_full"}
    assert_places_add_up(task.id)
    assert stored_task(task.id).places_taken == sum(r.status_code == 201 for r in accepts)


def test_cancelling_a_running_task_cancels_who_checked_out_but_not_who_was_credited(
        make_task, volunteer, admin, travel):
    task = make_task(places=3)
    gone, left, credited, waiting = (volunteer() for _ in range(4))
    for v in (gone, left, credited):
        assert v.post(f"{API}/tasks/{task.id}/accept", json={}).status_code == 201
    assert waiting.post(f"{API}/tasks/{task.id}/accept", json={"waitlist": True}).json["state"] == "waitlisted"
    travel(START)
    for v in (left, credited):
        assert v.post(f"{API}/tasks/{task.id}/check-in", json={"location": HERE}).status_code == 200
    travel(START + dt.timedelta(hours=1))
    for v in (left, credited):
        assert v.post(f"{API}/tasks/{task.id}/check-out", json={"location": HERE}).status_code == 200
    pid = states_ids(task.id)
    assert admin.post(f"{API}/participations/{pid[credited.user_id]}/confirm", json={"score": 5}).status_code == 200
    response = admin.post(f"{API}/tasks/{task.id}/cancel", json={"reason": "停电"})
    assert response.status_code == 200, response.json
    now = states(task.id)
    assert (now[gone.user_id], now[left.user_id], now[waiting.user_id], now[credited.user_id]) == (
        "cancelled", "cancelled", "cancelled", "confirmed")
    told = set(db.session.scalars(select(Notice.user_id).where(Notice.kind == "task_cancelled")))
    assert told == {gone.user_id, left.user_id, waiting.user_id}
    assert_places_add_up(task.id)
    # what was cancelled cannot be confirmed afterwards
    error = admin.post(f"{API}/participations/{pid[left.user_id]}/confirm", json={"score": 5}).json["error"]
    assert (error["code"], error["details"]["state"]) == ("invalid_state", "cancelled")
    assert db.session.scalar(select(func.count()).select_from(HoursEntry)) == 1


def states_ids(task_id) -> dict[int, int]:
    return dict(db.session.execute(select(Participation.user_id, Participation.id)
                                   .where(Participation.task_id == task_id)).all())


# ---- help requests and corrections -----------------------------------------------------------

def test_two_admins_deciding_one_request_at_once_one_wins(live_url, login, admin, street_admin, tree):
    resident = login("o-resident")
    request = resident.post(f"{API}/help-requests", json={
        "community_id": tree.a, "category": "repairs", "description": "修水龙头", "location": HERE,
        "window_start": iso(START), "window_end": iso(END), "contact_phone": "13900001111"}).json
    dispatch = {"help_request_id": request["id"], "title": "修水龙头", "starts_at": iso(START),
                "ends_at": iso(END), "places": 1}
    calls = []
    for _ in range(5):
        calls += [(f"{live_url}{API}/tasks", dispatch, admin.headers),
                  (f"{live_url}{API}/help-requests/{request['id']}/reject", {"reason": "重复"},
                   street_admin.headers),
                  (f"{live_url}{API}/tasks", dispatch, street_admin.headers)]
    responses = fire(calls)
    exactly_one_won(responses)
    db.session.expire_all()
    final = db.session.get(HelpRequest, request["id"]).state
    assert all(r.json()["error"]["details"]["state"] == final for r in responses if r.status_code == 409)
    tasks = db.session.scalar(select(func.count()).select_from(Task))
    notices = db.session.scalar(select(func.count()).select_from(Notice))
    assert (final, tasks, notices) in {("dispatched", 1, 0), ("rejected", 0, 1)}


def test_a_correction_request_applied_twice_at_once_corrects_once(live_url, served, admin, street_admin):
    assert admin.post(f"{served.url}/confirm", json={"score": 5}).status_code == 200
    asked = served.v.post(f"{served.url}/correction-requests", json={"hours": 1.75, "reason": "早走了"}).json
    body = {"hours": 1.75, "reason": "核实", "request_id": asked["id"]}
    calls = []
    for _ in range(6):
        calls += [(f"{live_url}{served.url}/corrections", body, admin.headers),
                  (f"{live_url}{served.url}/corrections", body, street_admin.headers),
                  (f"{live_url}{API}/correction-requests/{asked['id']}/reject", None, street_admin.headers)]
    responses = fire(calls)
    exactly_one_won(responses)
    db.session.expire_all()
    final = db.session.get(CorrectionRequest, asked["id"]).state
    corrections = db.session.scalars(select(HoursEntry.hours).where(HoursEntry.kind == "correction")).all()
    assert (final, len(corrections)) in {("applied", 1), ("rejected", 0)}
    assert all(r.json()["error"]["details"]["state"] == final for r in responses if r.status_code == 409)


# ---- out of scope is 404 ---------------------------------------------------------------------

def test_another_communitys_participation_is_not_found_for_every_action(served, admin, admin_b, login, tree):
    resident = login("o-stranger")
    actions = [("confirm", {"score": 5}), ("no-show", None),
               ("set-times", {"checked_out_at": iso(END)}), ("corrections", {"hours": 1, "reason": "x"}),
               ("correction-requests", {"hours": 1, "reason": "x"})]
    for api in (admin_b, resident):
        for path, body in actions:
            response = api.post(f"{served.url}/{path}", json=body)
            assert response.status_code == 404 and response.json["error"]["code"] == "not_found", (path, response.json)
        # the same answer as for a participation that does not exist
        assert api.post(f"{API}/participations/987654/confirm", json={"score": 5}).json == \
            api.post(f"{served.url}/confirm", json={"score": 5}).json
    db.session.expire_all()
    assert db.session.get(Participation, served.participation["id"]).state == "checked_out"
    assert db.session.scalar(select(func.count()).select_from(HoursEntry)) == 0


def test_check_ins_racing_a_cancel_never_reopen_the_task(live_url, make_task, volunteer, admin, travel):
    task = make_task(places=10)
    crowd = [volunteer() for _ in range(10)]
    for v in crowd:
        assert v.post(f"{API}/tasks/{task.id}/accept", json={}).status_code == 201
    travel(START)
    url = f"{live_url}{API}/tasks/{task.id}"
    calls = [(f"{url}/check-in", {"location": HERE}, v.headers) for v in crowd]
    calls.insert(5, (f"{url}/cancel", {}, admin.headers))
    responses = fire(calls)
    no_500(responses)
    assert responses[5].status_code == 200, responses[5].json()
    check_ins = responses[:5] + responses[6:]
    assert {r.status_code for r in check_ins} <= {200, 409}
    assert codes(check_ins) <= {"state_changed", "invalid_state"}
    assert stored_task(task.id).state == "cancelled"
    assert set(states(task.id).values()) == {"cancelled"}
    assert_places_add_up(task.id)


def test_the_tables_name_only_states_the_models_have():
    from app.tasks import machines
    from app.tasks.models import PARTICIPATION_STATES, REQUEST_STATES, TASK_STATES

    for machine, known in ((machines.TASK, TASK_STATES), (machines.PARTICIPATION, PARTICIPATION_STATES),
                           (machines.HELP_REQUEST, REQUEST_STATES),
                           (machines.CORRECTION_REQUEST, ("pending", "applied", "rejected"))):
        for t in machine.transitions.values():
            assert set(t.sources) <= set(known) and t.target in (None, *known), (machine.model, t)
