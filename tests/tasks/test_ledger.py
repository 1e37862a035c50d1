"""Confirmation and rating (评单), the append-only hours ledger, corrections,
records and list query counts (the statistics that equal the ledger: tests/stats/test_volunteers.py)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.tasks.models import CorrectionRequest, HoursEntry, Participation
from tests.conftest import assert_error, fire_at_once
from tests.tasks.conftest import END, HERE, START, iso, serve

URL = "/api/v1/tasks"
P = "/api/v1/participations"


def ledger_rows():
    db.session.expire_all()
    return db.session.execute(select(HoursEntry.id, HoursEntry.participation_id, HoursEntry.kind,
                                     HoursEntry.hours, HoursEntry.reason).order_by(HoursEntry.id)).all()


# ---- confirm ---------------------------------------------------------------------------------

def test_the_organizer_confirms_a_task_without_a_request(served, admin):
    assert ledger_rows() == []
    response = admin.post(f"{served.url}/confirm", json={"score": 5, "comment": "认真负责"})
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["score"], response.json["comment"]) == ("confirmed", 5, "认真负责")
    assert response.json["confirmed_at"] is not None
    rows = ledger_rows()
    assert [(r.participation_id, r.kind, r.hours, r.reason) for r in rows] == [
        (served.participation["id"], "credit", Decimal("1.50"), None)]  # 1 h 50 min, at most 1.5 credited
    record = served.v.get("/api/v1/me/volunteer-record").json
    assert record["total_hours"] == 1.5 and record["person_times"] == 1
    assert record["ratings"] == {"count": 1, "average": 5.0}
    assert [(e["kind"], e["hours"], e["task_id"]) for e in record["items"]] == [("credit", 1.5, served.task.id)]
    assert record["items"][0]["recorded_by_id"] == admin.user_id


def test_hours_are_the_actual_time_when_shorter(make_task, volunteer, admin, travel):
    task = make_task()  # credits its duration: 2 h
    v = volunteer()
    v.post(f"{URL}/{task.id}/accept", json={})
    p = serve(v, task.id, travel, START + dt.timedelta(minutes=10), START + dt.timedelta(minutes=50))
    assert admin.post(f"{P}/{p['id']}/confirm", json={"score": 4}).status_code == 200
    assert [r.hours for r in ledger_rows()] == [Decimal("0.67")]


def test_only_the_organizer_confirms_a_task_without_a_request(served, admin_b, login, login_as, tree):
    for api in (served.v, login_as("center_admin", tree.a)):  # they see it, may not confirm it
        assert_error(api.post(f"{served.url}/confirm", json={"score": 5}), 403, "not_your_task")
    for api in (admin_b, login("o-resident")):  # out of their scope: not revealed
        assert_error(api.post(f"{served.url}/confirm", json={"score": 5}), 404, "not_found")
    assert login_as("org_admin", tree.street).post(f"{served.url}/confirm", json={"score": 5}).status_code == 200


def test_the_resident_who_asked_confirms_a_task_from_a_request(admin, login, volunteer, travel, tree):
    resident, neighbour = login("o-resident"), login("o-neighbour")
    request = resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "repairs", "description": "修水龙头", "location": HERE,
        "window_start": iso(START), "window_end": iso(END), "contact_phone": "13900001111"}).json
    task = admin.post(URL, json={"help_request_id": request["id"], "title": "修水龙头",
                                 "starts_at": iso(START), "ends_at": iso(END), "places": 1}).json
    admin.post(f"{URL}/{task['id']}/publish", json={})
    v = volunteer()
    v.post(f"{URL}/{task['id']}/accept", json={})
    p = serve(v, task["id"], travel, START, START + dt.timedelta(hours=1))
    url = f"{P}/{p['id']}/confirm"
    for api in (admin, v):
        assert_error(api.post(url, json={"score": 5}), 403, "not_your_task")
    assert_error(neighbour.post(url, json={"score": 5}), 404, "not_found")
    response = resident.post(url, json={"score": 3, "comment": "来晚了一点"})
    assert response.status_code == 200, response.json
    assert [(r.kind, r.hours) for r in ledger_rows()] == [("credit", Decimal("1.00"))]


@pytest.mark.parametrize("body", [{"score": 0}, {"score": 6}, {"score": -1}, {"score": "five"}, {},
                                  {"score": 5, "comment": "长" * 201}, {"score": 4.5}])
def test_a_rating_outside_one_to_five_is_422_and_credits_nothing(served, admin, body):
    error = assert_error(admin.post(f"{served.url}/confirm", json=body), 422, "validation_failed")
    assert set(error["details"]["fields"]) <= {"score", "comment"}
    assert ledger_rows() == []
    db.session.expire_all()
    assert db.session.get(Participation, served.participation["id"]).state == "checked_out"


def test_confirming_twice_or_too_early_is_a_conflict(make_task, volunteer, admin, travel):
    task = make_task()
    waiting, came, left = volunteer(), volunteer(), volunteer()
    ids = {v: v.post(f"{URL}/{task.id}/accept", json={}).json["id"] for v in (waiting, came, left)}
    travel(START)
    came.post(f"{URL}/{task.id}/check-in", json={"location": HERE})
    left.post(f"{URL}/{task.id}/check-in", json={"location": HERE})
    travel(START + dt.timedelta(hours=1))
    left.post(f"{URL}/{task.id}/check-out", json={"location": HERE})
    for v, state in ((waiting, "accepted"), (came, "checked_in")):
        error = assert_error(admin.post(f"{P}/{ids[v]}/confirm", json={"score": 5}), 409, "invalid_state")
        assert error["details"]["state"] == state
    assert admin.post(f"{P}/{ids[left]}/confirm", json={"score": 5}).status_code == 200
    assert_error(admin.post(f"{P}/{ids[left]}/confirm", json={"score": 1}), 409, "invalid_state")
    assert len(ledger_rows()) == 1
    assert_error(admin.post(f"{P}/424242/confirm", json={"score": 5}), 404, "not_found")


def test_a_retried_confirm_with_an_idempotency_key_is_replayed(served, admin):
    headers = {"Idempotency-Key": "confirm-1"}
    first = admin.post(f"{served.url}/confirm", json={"score": 5}, headers=headers)
    again = admin.post(f"{served.url}/confirm", json={"score": 5}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200) and again.json == first.json
    assert len(ledger_rows()) == 1


def test_a_flagged_check_out_credits_nothing_until_the_organizer_sets_times(make_task, volunteer, admin, travel, clock):
    from app.jobs.periodic import close_forgotten_checkouts

    task = make_task()
    v = volunteer()
    p = v.post(f"{URL}/{task.id}/accept", json={}).json
    travel(START)
    v.post(f"{URL}/{task.id}/check-in", json={"location": HERE})
    clock.move_to(END + dt.timedelta(hours=13))
    assert close_forgotten_checkouts() == 1
    travel(END + dt.timedelta(hours=14))
    assert_error(admin.post(f"{P}/{p['id']}/confirm", json={"score": 5}), 409, "needs_review")
    assert ledger_rows() == []
    admin.post(f"{P}/{p['id']}/set-times", json={"checked_out_at": iso(START + dt.timedelta(minutes=45))})
    assert admin.post(f"{P}/{p['id']}/confirm", json={"score": 5}).status_code == 200
    assert [r.hours for r in ledger_rows()] == [Decimal("0.75")]


def test_concurrent_confirms_credit_once(live_url, served, admin):
    responses = fire_at_once(f"{live_url}{served.url}/confirm", [({"score": 5}, admin.headers)] * 20)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 19}, statuses
    # lost the claim (state_changed) or read it confirmed already (invalid_state)
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"state_changed",
                                                                                      "invalid_state"}
    assert {r.json()["error"]["details"]["state"] for r in responses if r.status_code == 409} == {"confirmed"}
    assert [(r.kind, r.hours) for r in ledger_rows()] == [("credit", Decimal("1.50"))]
    assert served.v.get("/api/v1/me/volunteer-record").json["person_times"] == 1


# ---- corrections -----------------------------------------------------------------------------

def test_a_correction_is_a_new_entry_and_the_old_one_stays(served, admin):
    admin.post(f"{served.url}/confirm", json={"score": 5})
    [credit] = ledger_rows()
    response = admin.post(f"{served.url}/corrections", json={"hours": 2.25, "reason": "漏记了搬运时间"})
    assert response.status_code == 201, response.json
    entry = response.json
    assert (entry["kind"], entry["hours"], entry["reason"], entry["participation_id"]) == (
        "correction", 0.75, "漏记了搬运时间", served.participation["id"])
    assert entry["recorded_by_id"] == admin.user_id
    rows = ledger_rows()
    assert rows[0] == credit  # untouched
    assert [(r.kind, r.hours) for r in rows] == [("credit", Decimal("1.50")), ("correction", Decimal("0.75"))]
    record = served.v.get("/api/v1/me/volunteer-record").json
    assert record["total_hours"] == 2.25
    assert record["person_times"] == 1  # a correction is not another person-time
    assert [e["kind"] for e in record["items"]] == ["correction", "credit"]  # newest first
    first = served.v.get("/api/v1/me/volunteer-record", query_string={"limit": 1}).json
    assert [e["kind"] for e in first["items"]] == ["correction"] and first["total_hours"] == 2.25
    rest = served.v.get("/api/v1/me/volunteer-record", query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert [e["kind"] for e in rest["items"]] == ["credit"] and rest["next_cursor"] is None
    down = admin.post(f"{served.url}/corrections", json={"hours": 1, "reason": "按实际签到时间"})
    assert down.json["hours"] == -1.25
    assert served.v.get("/api/v1/me/volunteer-record").json["total_hours"] == 1.0
    assert ledger_rows()[:2] == rows
    notices = served.v.get("/api/v1/me/notices").json["items"]
    assert [(n["kind"], n["data"]["hours"]) for n in notices] == [("hours_corrected", 1.0),
                                                                  ("hours_corrected", 2.25)]


def test_corrections_need_a_confirmed_participation_a_reason_and_the_organizer(served, admin, admin_b):
    url = f"{served.url}/corrections"
    assert_error(admin.post(url, json={"hours": 2, "reason": "x"}), 409, "invalid_state")  # not confirmed
    admin.post(f"{served.url}/confirm", json={"score": 5})
    assert_error(admin.post(url, json={"hours": 2}), 422, "validation_failed")
    assert_error(admin.post(url, json={"hours": 2, "reason": ""}), 422, "validation_failed")
    assert_error(admin.post(url, json={"hours": -1, "reason": "x"}), 422, "validation_failed")
    assert_error(admin.post(url, json={"hours": 25, "reason": "x"}), 422, "validation_failed")
    assert_error(admin_b.post(url, json={"hours": 2, "reason": "x"}), 404, "not_found")
    assert_error(served.v.post(url, json={"hours": 2, "reason": "x"}), 404, "not_found")
    assert_error(admin.post(f"{P}/424242/corrections", json={"hours": 2, "reason": "x"}), 404, "not_found")
    assert [r.kind for r in ledger_rows()] == ["credit"]


def test_concurrent_corrections_to_one_total_land_on_that_total(live_url, served, admin):
    admin.post(f"{served.url}/confirm", json={"score": 5})
    responses = fire_at_once(f"{live_url}{served.url}/corrections",
                             [({"hours": 3, "reason": "补录"}, admin.headers)] * 10)
    assert Counter(r.status_code for r in responses) == {201: 10}
    assert sum(r.hours for r in ledger_rows()) == Decimal("3.00")
    assert served.v.get("/api/v1/me/volunteer-record").json["total_hours"] == 3.0


def test_a_volunteer_asks_for_a_correction_and_the_organizer_applies_it(served, admin, admin_b, volunteer):
    url = f"{served.url}/correction-requests"
    assert_error(served.v.post(url, json={"hours": 2, "reason": "我待到了最后"}), 409, "invalid_state")
    admin.post(f"{served.url}/confirm", json={"score": 4})
    assert_error(volunteer().post(url, json={"hours": 2, "reason": "x"}), 404, "not_found")  # not yours
    assert_error(served.v.post(url, json={"hours": 2}), 422, "validation_failed")
    response = served.v.post(url, json={"hours": 2, "reason": "我待到了最后"})
    assert response.status_code == 201, response.json
    asked = response.json
    assert (asked["state"], asked["requested_hours"], asked["user_id"]) == ("pending", 2.0, served.v.user_id)
    assert response.headers["Location"].endswith(f"{URL}/{served.task.id}/correction-requests")
    listed = admin.get(f"{URL}/{served.task.id}/correction-requests")
    assert listed.status_code == 200 and [r["id"] for r in listed.json["items"]] == [asked["id"]]
    assert listed.json["next_cursor"] is None
    assert_error(admin_b.get(f"{URL}/{served.task.id}/correction-requests"), 404, "not_found")
    assert [r.kind for r in ledger_rows()] == ["credit"]  # asking changes nothing
    applied = admin.post(f"{served.url}/corrections", json={"hours": 1.75, "reason": "核实后按 1.75 小时",
                                                           "request_id": asked["id"]})
    assert applied.status_code == 201, applied.json
    assert applied.json["hours"] == 0.25
    assert admin.get(f"{URL}/{served.task.id}/correction-requests").json["items"][0]["state"] == "applied"
    assert served.v.get("/api/v1/me/volunteer-record").json["total_hours"] == 1.75
    # a request is applied once: a second use fails and writes nothing
    assert_error(admin.post(f"{served.url}/corrections", json={"hours": 3, "reason": "again",
                                                              "request_id": asked["id"]}), 409, "invalid_state")
    assert len(ledger_rows()) == 2
    assert_error(admin.post(f"/api/v1/correction-requests/{asked['id']}/reject"), 409, "invalid_state")


def test_correction_requests_are_a_paged_collection(served, admin):
    admin.post(f"{served.url}/confirm", json={"score": 4})
    asked = [served.v.post(f"{served.url}/correction-requests", json={"hours": h, "reason": "x"}).json["id"]
             for h in (2, 3)]
    url = f"{URL}/{served.task.id}/correction-requests"
    first = admin.get(url, query_string={"limit": 1}).json
    assert [r["id"] for r in first["items"]] == asked[:1] and first["next_cursor"]
    rest = admin.get(url, query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert [r["id"] for r in rest["items"]] == asked[1:] and rest["next_cursor"] is None
    assert_error(admin.get(url, query_string={"cursor": "nonsense"}), 422, "validation_failed")


def test_a_correction_request_can_be_declined(served, admin, admin_b):
    admin.post(f"{served.url}/confirm", json={"score": 4})
    asked = served.v.post(f"{served.url}/correction-requests", json={"hours": 5, "reason": "多算点"}).json
    assert_error(admin_b.post(f"/api/v1/correction-requests/{asked['id']}/reject"), 404, "not_found")
    assert_error(served.v.post(f"/api/v1/correction-requests/{asked['id']}/reject"), 404, "not_found")
    response = admin.post(f"/api/v1/correction-requests/{asked['id']}/reject")
    assert response.status_code == 200 and response.json["state"] == "rejected"
    assert_error(admin.post(f"{served.url}/corrections", json={"hours": 5, "reason": "x", "request_id": asked["id"]}),
                 409, "invalid_state")
    assert [r.kind for r in ledger_rows()] == ["credit"]


def test_a_correction_request_of_another_participation_is_not_found(served, make_task, volunteer, admin, travel):
    admin.post(f"{served.url}/confirm", json={"score": 4})
    asked = served.v.post(f"{served.url}/correction-requests", json={"hours": 2, "reason": "x"}).json
    other_task = make_task(starts_at=iso(END + dt.timedelta(hours=1)), ends_at=iso(END + dt.timedelta(hours=2)))
    other = volunteer()
    other.post(f"{URL}/{other_task.id}/accept", json={})
    p = serve(other, other_task.id, travel, END + dt.timedelta(hours=1), END + dt.timedelta(hours=2))
    admin.post(f"{P}/{p['id']}/confirm", json={"score": 5})
    assert_error(admin.post(f"{P}/{p['id']}/corrections", json={"hours": 0.5, "reason": "x",
                                                               "request_id": asked["id"]}), 404, "not_found")
    assert [r.kind for r in ledger_rows()] == ["credit", "credit"]
    db.session.expire_all()
    assert db.session.get(CorrectionRequest, asked["id"]).state == "pending"


def test_the_record_ledger_is_paged(make_task, volunteer, admin, travel):
    v = volunteer()
    tasks = [make_task(starts_at=iso(START + dt.timedelta(hours=2 * i)),
                       ends_at=iso(START + dt.timedelta(hours=2 * i + 1))) for i in range(3)]
    for t in tasks:
        v.post(f"{URL}/{t.id}/accept", json={})
    for i, t in enumerate(tasks):
        p = serve(v, t.id, travel, START + dt.timedelta(hours=2 * i), START + dt.timedelta(hours=2 * i + 1))
        admin.post(f"{P}/{p['id']}/confirm", json={"score": 5})
    first = v.get("/api/v1/me/volunteer-record", query_string={"limit": 2}).json
    assert first["total_hours"] == 3.0 and len(first["items"]) == 2 and first["next_cursor"]
    rest = v.get("/api/v1/me/volunteer-record", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert [e["task_id"] for e in first["items"] + rest["items"]] == [t.id for t in reversed(tasks)]
    assert rest["next_cursor"] is None


# ---- list endpoints cost the same for 3 rows as for 15 -----------------------------------------

def _counted(count_queries, api, url, **query):
    with count_queries() as q:
        response = api.get(url, query_string={"limit": 100, **query})
    assert response.status_code == 200, response.json
    return len(response.json["items"]), q.count


def test_listing_tasks_costs_the_same_for_3_and_15(make_task, volunteer, count_queries, tree):
    v = volunteer()
    for _ in range(3):
        make_task()
    few = _counted(count_queries, v, URL, community_id=tree.a)
    few_near = _counted(count_queries, v, URL, near=f"{HERE['lat']},{HERE['lng']}")
    for _ in range(12):
        make_task()
    many = _counted(count_queries, v, URL, community_id=tree.a)
    many_near = _counted(count_queries, v, URL, near=f"{HERE['lat']},{HERE['lng']}")
    assert (few[0], many[0], few_near[0], many_near[0]) == (3, 15, 3, 15)
    assert few[1] == many[1] and few_near[1] == many_near[1]


def test_listing_my_tasks_costs_the_same_for_3_and_15(make_task, volunteer, count_queries):
    v = volunteer()

    def accept(hours):
        for h in hours:
            t = make_task(starts_at=iso(START + dt.timedelta(hours=h)),
                          ends_at=iso(START + dt.timedelta(hours=h, minutes=30)))
            assert v.post(f"{URL}/{t.id}/accept", json={}).status_code == 201

    accept(range(3))
    few = _counted(count_queries, v, "/api/v1/me/tasks")
    accept(range(3, 15))
    many = _counted(count_queries, v, "/api/v1/me/tasks")
    assert (few[0], many[0]) == (3, 15) and few[1] == many[1]


def test_listing_participants_costs_the_same_for_3_and_15(make_task, volunteer, admin, count_queries):
    task = make_task(places=20)

    def join(n):
        for _ in range(n):
            assert volunteer().post(f"{URL}/{task.id}/accept", json={}).status_code == 201

    join(3)
    few = _counted(count_queries, admin, f"{URL}/{task.id}/participants")
    join(12)
    many = _counted(count_queries, admin, f"{URL}/{task.id}/participants")
    assert (few[0], many[0]) == (3, 15) and few[1] == many[1]


def test_listing_help_requests_costs_the_same_for_3_and_15(login, admin, count_queries, tree):
    resident = login("o-resident")

    def ask(n):
        for _ in range(n):
            assert resident.post("/api/v1/help-requests", json={
                "community_id": tree.a, "category": "errands", "description": "代买菜", "location": HERE,
                "window_start": iso(START), "window_end": iso(END), "contact_phone": "13900003333"}).status_code == 201

    ask(3)
    few, few_mine = (_counted(count_queries, admin, "/api/v1/help-requests"),
                     _counted(count_queries, resident, "/api/v1/help-requests", mine="true"))
    ask(12)
    many, many_mine = (_counted(count_queries, admin, "/api/v1/help-requests"),
                       _counted(count_queries, resident, "/api/v1/help-requests", mine="true"))
    assert (few[0], many[0], few_mine[0], many_mine[0]) == (3, 15, 3, 15)
    assert few[1] == many[1] and few_mine[1] == many_mine[1]
