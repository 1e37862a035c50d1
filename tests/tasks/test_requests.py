"""Help requests (点单): create, see (phone masked), cancel, reject, dispatch, close, list."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.tasks.models import HelpRequest, Task
from tests.conftest import assert_error
from tests.tasks.conftest import END, HERE, START, T0, iso

URL = "/api/v1/help-requests"
PHONE = "13900001111"
MASKED = "139****1111"


def request_body(community_id, **fields):
    return {"community_id": community_id, "category": "elderly_care", "description": "陪老人去医院复诊",
            "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START),
            "window_end": iso(END), "contact_phone": PHONE, **fields}


@pytest.fixture
def resident(login):
    return login("o-resident")


@pytest.fixture
def ask(resident, tree):
    def do(api=None, **fields):
        response = (api or resident).post(URL, json=request_body(tree.a, **fields))
        assert response.status_code == 201, response.json
        return response.json

    return do


def _count(model=HelpRequest):
    return db.session.scalar(select(func.count()).select_from(model))


# ---- create ------------------------------------------------------------------------------

def test_a_resident_asks_for_help(resident, tree):
    response = resident.post(URL, json=request_body(tree.a))
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert body["state"] == "submitted"
    assert body["requester_id"] == resident.user_id
    assert body["community"]["id"] == tree.a
    assert body["category"] == "elderly_care"
    assert body["contact_phone"] == MASKED
    assert body["location"] == {"lat": HERE["lat"], "lng": HERE["lng"], "coord_system": "gcj02"}
    assert dt.datetime.fromisoformat(body["window_start"]) == START
    assert PHONE not in response.get_data(as_text=True)
    stored = db.session.get(HelpRequest, body["id"])
    assert PHONE not in stored.phone_encrypted  # encrypted at rest


def test_every_category_is_accepted_and_nothing_else(resident, tree):
    for category in ("elderly_care", "errands", "repairs", "tutoring", "medical_escort", "other"):
        assert resident.post(URL, json=request_body(tree.a, category=category)).status_code == 201
    error = assert_error(resident.post(URL, json=request_body(tree.a, category="gardening")),
                         422, "validation_failed")
    assert "category" in error["details"]["fields"]


@pytest.mark.parametrize("fields, code, field", [
    ({"window_end": iso(START - dt.timedelta(hours=1))}, "ends_before_start", None),
    ({"window_end": iso(START)}, "ends_before_start", None),
    ({"contact_phone": "12345"}, "validation_failed", "contact_phone"),
    ({"description": ""}, "validation_failed", "description"),
    ({"window_start": "2026-11-27T09:00:00"}, "validation_failed", "window_start"),  # no offset
    ({"location": {"lat": 91, "lng": 0}}, "validation_failed", "location"),
    ({"surprise": 1}, "validation_failed", "surprise"),
])
def test_bad_requests_are_refused_and_store_nothing(resident, tree, fields, code, field):
    error = assert_error(resident.post(URL, json=request_body(tree.a, **fields)), 422, code)
    if field:
        assert field in error["details"]["fields"]
    assert _count() == 0


def test_a_request_goes_to_a_community(resident, tree):
    for org in (tree.a1, tree.street, tree.unit):
        assert_error(resident.post(URL, json=request_body(org)), 422, "not_a_community")
    assert_error(resident.post(URL, json=request_body(999_999)), 422, "not_a_community")
    assert _count() == 0


def test_the_location_is_optional_and_wgs84_is_converted(resident, tree):
    without = resident.post(URL, json=request_body(tree.a, location=None))
    assert without.status_code == 201 and without.json["location"] is None
    wgs = resident.post(URL, json=request_body(tree.a, location={**HERE, "coord_system": "wgs84"}))
    assert wgs.status_code == 201
    stored = wgs.json["location"]
    assert stored["coord_system"] == "gcj02"
    assert stored["lat"] != HERE["lat"] and abs(stored["lat"] - HERE["lat"]) < 0.01


def test_a_retried_create_with_an_idempotency_key_stores_one_request(resident, tree):
    headers = {"Idempotency-Key": "req-1"}
    first = resident.post(URL, json=request_body(tree.a), headers=headers)
    again = resident.post(URL, json=request_body(tree.a), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json["id"] == first.json["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count() == 1


def test_anonymous_cannot_ask(client, tree):
    assert_error(client.post(URL, json=request_body(tree.a)), 401, "unauthorized")


# ---- who sees it, and the phone ----------------------------------------------------------

def test_the_phone_is_masked_for_everyone_but_volunteers_who_accepted(
        ask, resident, admin, admin_b, login, login_as, volunteer, tree):
    request = ask()
    url = f"{URL}/{request['id']}"
    street_admin = login_as("org_admin", tree.street)
    assert resident.get(url).json["contact_phone"] == MASKED
    assert admin.get(url).json["contact_phone"] == MASKED
    assert street_admin.get(url).json["contact_phone"] == MASKED
    # out of scope, or nothing to do with it: not found
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(login("o-stranger").get(url), 404, "not_found")

    task = admin.post("/api/v1/tasks", json={"help_request_id": request["id"], "title": "陪诊",
                                             "starts_at": iso(START), "ends_at": iso(END),
                                             "places": 1}).json
    admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})
    helper, waiting, bystander = volunteer(), volunteer(), volunteer()
    assert helper.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    assert waiting.post(f"/api/v1/tasks/{task['id']}/accept", json={"waitlist": True}).status_code == 201
    assert helper.get(url).json["contact_phone"] == PHONE
    # a waitlisted volunteer has not accepted the task; neither has a bystander
    assert_error(waiting.get(url), 404, "not_found")
    assert_error(bystander.get(url), 404, "not_found")
    # everyone else still sees it masked, in lists too
    assert resident.get(url).json["contact_phone"] == MASKED
    assert admin.get(url).json["contact_phone"] == MASKED
    assert {r["contact_phone"] for r in admin.get(URL).json["items"]} == {MASKED}
    assert {r["contact_phone"] for r in resident.get(URL, query_string={"mine": "true"}).json["items"]} == {MASKED}
    # a volunteer who withdraws loses it; the promoted one gets it
    assert helper.post(f"/api/v1/tasks/{task['id']}/withdraw").status_code == 200
    assert_error(helper.get(url), 404, "not_found")
    assert waiting.get(url).json["contact_phone"] == PHONE


@pytest.mark.parametrize("ending", ["time", "complete"])
def test_the_phone_is_masked_again_once_the_task_ends(ask, admin, volunteer, clock, ending):
    """An accepted volunteer sees the phone while the help is on, not after:
    the task's end time passed, or the organizer completed it early."""
    # soon, so that the access tokens are still valid when it ends
    starts, ends = T0 + dt.timedelta(minutes=2), T0 + dt.timedelta(minutes=5)
    request = ask(window_start=iso(starts), window_end=iso(ends))
    url = f"{URL}/{request['id']}"
    task = admin.post("/api/v1/tasks", json={"help_request_id": request["id"], "title": "陪诊",
                                             "starts_at": iso(starts), "ends_at": iso(ends),
                                             "places": 1}).json
    admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})
    helper = volunteer()
    assert helper.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    clock.move_to(ends - dt.timedelta(seconds=1))
    assert helper.get(url).json["contact_phone"] == PHONE
    if ending == "time":
        clock.move_to(ends)
    else:
        assert admin.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 200
    response = helper.get(url)
    assert response.status_code == 200  # the volunteer still sees the request they served
    assert response.json["contact_phone"] == MASKED


def test_unknown_request_is_404(resident):
    assert_error(resident.get(f"{URL}/424242"), 404, "not_found")


# ---- cancel, reject ----------------------------------------------------------------------

def test_the_resident_cancels_a_submitted_request(ask, resident, login):
    request = ask()
    url = f"{URL}/{request['id']}/cancel"
    assert_error(login("o-other").post(url), 404, "not_found")
    response = resident.post(url)
    assert response.status_code == 200 and response.json["state"] == "cancelled"
    error = assert_error(resident.post(url), 409, "invalid_state")
    assert error["details"]["state"] == "cancelled"


def test_an_admin_cannot_cancel_for_the_resident(ask, admin):
    request = ask()
    assert_error(admin.post(f"{URL}/{request['id']}/cancel"), 404, "not_found")
    assert db.session.get(HelpRequest, request["id"]).state == "submitted"


def test_the_community_rejects_with_a_reason_the_resident_is_told(ask, resident, admin, admin_b):
    request = ask()
    url = f"{URL}/{request['id']}/reject"
    assert_error(admin.post(url, json={}), 422, "validation_failed")
    assert_error(admin.post(url, json={"reason": ""}), 422, "validation_failed")
    assert_error(admin_b.post(url, json={"reason": "不归我们管"}), 404, "not_found")
    assert_error(resident.post(url, json={"reason": "算了"}), 404, "not_found")
    response = admin.post(url, json={"reason": "超出志愿服务范围，请联系物业"})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "rejected"
    assert response.json["reject_reason"] == "超出志愿服务范围，请联系物业"
    assert resident.get(f"{URL}/{request['id']}").json["reject_reason"] == "超出志愿服务范围，请联系物业"
    notices = resident.get("/api/v1/me/notices").json["items"]
    assert [(n["kind"], n["data"]["request_id"], n["data"]["reason"]) for n in notices] == [
        ("help_request_rejected", request["id"], "超出志愿服务范围，请联系物业")]
    assert_error(admin.post(url, json={"reason": "again"}), 409, "invalid_state")
    assert_error(resident.post(f"{URL}/{request['id']}/cancel"), 409, "invalid_state")


def test_a_cancelled_or_rejected_request_cannot_become_a_task(ask, resident, admin):
    cancelled, rejected = ask(), ask()
    resident.post(f"{URL}/{cancelled['id']}/cancel")
    admin.post(f"{URL}/{rejected['id']}/reject", json={"reason": "重复"})
    for request in (cancelled, rejected):
        response = admin.post("/api/v1/tasks", json={
            "help_request_id": request["id"], "title": "陪诊", "starts_at": iso(START),
            "ends_at": iso(END), "places": 1})
        assert_error(response, 409, "invalid_state")
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


# ---- dispatch and close ------------------------------------------------------------------

def _dispatch(admin, request, **fields):
    return admin.post("/api/v1/tasks", json={"help_request_id": request["id"], "title": "陪诊",
                                             "starts_at": iso(START), "ends_at": iso(END),
                                             "places": 1, **fields})


def test_a_task_from_a_request_dispatches_it_and_inherits_its_details(ask, resident, admin):
    request = ask()
    response = _dispatch(admin, request)
    assert response.status_code == 201, response.json
    task = response.json
    assert task["help_request_id"] == request["id"]
    assert task["state"] == "draft"
    assert task["community"]["id"] == request["community"]["id"]
    assert (task["category"], task["description"], task["address"]) == (
        "elderly_care", "陪老人去医院复诊", "丰泽路 8 号")
    assert task["location"]["lat"] == HERE["lat"] and task["location"]["lng"] == HERE["lng"]
    assert resident.get(f"{URL}/{request['id']}").json["state"] == "dispatched"
    # once only, and the resident can no longer cancel it
    assert_error(_dispatch(admin, request), 409, "invalid_state")
    assert_error(resident.post(f"{URL}/{request['id']}/cancel"), 409, "invalid_state")


def test_a_request_without_a_location_needs_one_on_its_task(ask, admin):
    request = ask(location=None)
    error = assert_error(_dispatch(admin, request), 422, "validation_failed")
    assert "location" in error["details"]["fields"]
    assert db.session.get(HelpRequest, request["id"]).state == "submitted"  # nothing half-done
    assert _dispatch(admin, request, location=HERE).status_code == 201


def test_a_bad_task_leaves_the_request_submitted(ask, admin):
    request = ask()
    assert_error(_dispatch(admin, request, ends_at=iso(START)), 422, "ends_before_start")
    assert_error(_dispatch(admin, request, places=0), 422, "validation_failed")
    assert db.session.get(HelpRequest, request["id"]).state == "submitted"
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_another_community_cannot_dispatch_it(ask, admin_b):
    request = ask()
    assert_error(_dispatch(admin_b, request), 404, "not_found")
    assert_error(_dispatch(admin_b, {"id": 987654}), 404, "not_found")
    assert db.session.get(HelpRequest, request["id"]).state == "submitted"


@pytest.mark.parametrize("ending", ["complete", "cancel"])
def test_the_request_closes_when_its_task_ends(ask, resident, admin, ending):
    request = ask()
    task = _dispatch(admin, request).json
    assert admin.post(f"/api/v1/tasks/{task['id']}/publish", json={}).status_code == 200
    assert admin.post(f"/api/v1/tasks/{task['id']}/{ending}", json={}).status_code == 200
    assert resident.get(f"{URL}/{request['id']}").json["state"] == "closed"


# ---- lists -------------------------------------------------------------------------------

def test_lists_mine_and_of_my_communities(ask, resident, admin, admin_b, login, login_as, tree):
    other = login("o-resident-2")
    mine = [ask()["id"] for _ in range(3)]
    theirs_a = ask(api=other)["id"]
    theirs_b = other.post(URL, json=request_body(tree.b)).json["id"]

    def ids(api, **query):
        response = api.get(URL, query_string=query)
        assert response.status_code == 200, response.json
        return [r["id"] for r in response.json["items"]]

    assert ids(resident, mine="true") == sorted(mine, reverse=True)
    assert ids(other, mine="true") == [theirs_b, theirs_a]
    assert ids(resident) == []  # not an admin of anything
    assert ids(admin) == sorted([*mine, theirs_a], reverse=True)
    assert ids(admin_b) == [theirs_b]
    assert ids(admin_b, community_id=tree.a) == []  # never another community's
    street = login_as("org_admin", tree.street)
    assert ids(street) == sorted([*mine, theirs_a, theirs_b], reverse=True)
    assert ids(street, community_id=tree.b) == [theirs_b]
    resident.post(f"{URL}/{mine[0]}/cancel")
    assert ids(admin, state="submitted") == sorted([*mine[1:], theirs_a], reverse=True)
    assert ids(admin, state="cancelled") == [mine[0]]
    assert_error(admin.get(URL, query_string={"state": "lost"}), 422, "validation_failed")


def test_requests_are_paged_by_keyset(ask, resident):
    made = [ask()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = {"mine": "true", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = resident.get(URL, query_string=query).json
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)
    assert_error(resident.get(URL, query_string={"mine": "true", "cursor": "garbage!"}),
                 422, "validation_failed")


def test_dispatching_one_request_at_once_makes_one_task(live_url, ask, resident, admin):
    from collections import Counter

    from tests.conftest import fire

    request = ask()
    body = {"help_request_id": request["id"], "title": "陪诊", "starts_at": iso(START),
            "ends_at": iso(END), "places": 1}
    calls = [(f"{live_url}/api/v1/tasks", body, admin.headers)] * 10
    calls += [(f"{live_url}{URL}/{request['id']}/cancel", None, resident.headers)] * 5
    responses = fire(calls)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 201, 409}, [r.text for r in responses if r.status_code >= 500][:1]
    assert statuses[201] + statuses[200] == 1, statuses  # dispatched once, or cancelled once
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"state_changed",
                                                                                      "invalid_state"}
    db.session.expire_all()
    state = db.session.get(HelpRequest, request["id"]).state
    tasks = db.session.scalar(select(func.count()).select_from(Task))
    assert (state, tasks) in {("dispatched", 1), ("cancelled", 0)}
