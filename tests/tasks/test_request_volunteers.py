"""What the resident who asked sees of the help that came: the task their
request became (``task_id``) and the volunteers on it, whom they confirm and
rate (评单) — ``GET /help-requests/{id}/participations``."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import assert_error
from tests.tasks.conftest import END, HERE, START, iso, serve

URL = "/api/v1/help-requests"


@pytest.fixture
def resident(login):
    return login("o-resident")


@pytest.fixture
def request_(resident, tree):
    response = resident.post(URL, json={
        "community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
        "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START), "window_end": iso(END),
        "contact_phone": "13900001111"})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def task(admin, request_):
    response = admin.post("/api/v1/tasks", json={"help_request_id": request_["id"], "title": "陪诊",
                                                 "starts_at": iso(START), "ends_at": iso(END), "places": 2})
    assert response.status_code == 201, response.json
    assert admin.post(f"/api/v1/tasks/{response.json['id']}/publish", json={}).status_code == 200
    return response.json


def volunteers_url(request_id: int) -> str:
    return f"{URL}/{request_id}/participations"


def test_the_request_names_the_task_it_became(resident, admin, request_):
    url = f"{URL}/{request_['id']}"
    assert request_["task_id"] is None
    assert resident.get(url).json["task_id"] is None
    made = admin.post("/api/v1/tasks", json={"help_request_id": request_["id"], "title": "陪诊",
                                             "starts_at": iso(START), "ends_at": iso(END), "places": 1})
    assert made.status_code == 201, made.json
    assert resident.get(url).json["task_id"] == made.json["id"]
    assert admin.get(url).json["task_id"] == made.json["id"]
    listed = resident.get(URL, query_string={"mine": "true"}).json["items"]
    assert [(r["id"], r["task_id"]) for r in listed] == [(request_["id"], made.json["id"])]


def test_a_request_not_dispatched_has_no_volunteers(resident, request_):
    response = resident.get(volunteers_url(request_["id"]))
    assert response.status_code == 200, response.json
    assert response.json == {"items": [], "next_cursor": None}


def test_the_resident_sees_who_serves_and_confirms_each(resident, task, request_, volunteer,
                                                        member_volunteer, travel):
    member, other, waiting = member_volunteer(), volunteer(), volunteer()
    for api in (member, other):
        assert api.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    assert waiting.post(f"/api/v1/tasks/{task['id']}/accept", json={"waitlist": True}).status_code == 201
    response = resident.get(volunteers_url(request_["id"]))
    assert response.status_code == 200, response.json
    items = response.json["items"]
    # the waitlist is not shown; members by their masked name, others by none
    assert [(i["user_id"], i["state"], i["volunteer_name"]) for i in items] == [
        (member.user_id, "accepted", "陈*文"), (other.user_id, "accepted", None)]
    assert items[0]["task_id"] == task["id"] and items[0]["task_title"] == "陪诊"

    served = serve(member, task["id"], travel, START, START + dt.timedelta(hours=1))
    items = resident.get(volunteers_url(request_["id"])).json["items"]
    assert items[0]["id"] == served["id"] and items[0]["state"] == "checked_out"
    confirmed = resident.post(f"/api/v1/participations/{items[0]['id']}/confirm",
                              json={"score": 4, "comment": "很耐心"})
    assert confirmed.status_code == 200, confirmed.json
    items = resident.get(volunteers_url(request_["id"])).json["items"]
    assert (items[0]["state"], items[0]["score"], items[0]["comment"]) == ("confirmed", 4, "很耐心")


def test_those_who_withdrew_are_not_shown(resident, task, request_, volunteer):
    gone, staying = volunteer(), volunteer()
    for api in (gone, staying):
        assert api.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    assert gone.post(f"/api/v1/tasks/{task['id']}/withdraw").status_code == 200
    items = resident.get(volunteers_url(request_["id"])).json["items"]
    assert [i["user_id"] for i in items] == [staying.user_id]


def test_a_revoked_members_name_is_not_shown(resident, task, request_, member_volunteer, admin):
    member = member_volunteer()
    assert member.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    revoked = admin.post(f"/api/v1/members/{member.identity['id']}/revoke", json={"reason": "转出"})
    assert revoked.status_code == 200, revoked.json
    items = resident.get(volunteers_url(request_["id"])).json["items"]
    assert [(i["user_id"], i["volunteer_name"]) for i in items] == [(member.user_id, None)]


def test_only_the_resident_and_the_communitys_admins_see_them(resident, task, request_, admin, admin_b,
                                                             login, login_as, volunteer, tree):
    helper = volunteer()
    assert helper.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    url = volunteers_url(request_["id"])
    for api in (resident, admin, login_as("org_admin", tree.street)):
        response = api.get(url)
        assert response.status_code == 200, response.json
        assert [i["user_id"] for i in response.json["items"]] == [helper.user_id]
    # another community's admin, a stranger, even the volunteer: as if it did not exist
    for api in (admin_b, login("o-stranger"), helper):
        assert_error(api.get(url), 404, "not_found")
    assert_error(resident.get(volunteers_url(424242)), 404, "not_found")


def test_anonymous_is_refused(client, request_):
    assert_error(client.get(volunteers_url(request_["id"])), 401, "unauthorized")


def test_volunteers_are_paged_by_keyset_in_one_query_per_page(resident, admin, request_, volunteer,
                                                              member_volunteer, count_queries):
    made = admin.post("/api/v1/tasks", json={"help_request_id": request_["id"], "title": "陪诊",
                                             "starts_at": iso(START), "ends_at": iso(END), "places": 6})
    admin.post(f"/api/v1/tasks/{made.json['id']}/publish", json={})
    people = [member_volunteer() if n % 2 else volunteer() for n in range(5)]
    for api in people:
        assert api.post(f"/api/v1/tasks/{made.json['id']}/accept", json={}).status_code == 201
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        with count_queries() as counted:
            page = resident.get(volunteers_url(request_["id"]), query_string=query).json
        # the user, the request, the page, the names: never one per volunteer
        assert counted.count <= 5, counted.statements
        seen += [i["user_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [api.user_id for api in people]
    assert_error(resident.get(volunteers_url(request_["id"]), query_string={"cursor": "garbage!"}),
                 422, "validation_failed")
