"""Tasks (派单): create, publish, update, start/complete/cancel, notices, lists, scope."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.tasks.models import Participation, Task
from tests.conftest import assert_error
from tests.tasks.conftest import END, HERE, START, iso, near, task_body

URL = "/api/v1/tasks"


def _count(model=Task):
    return db.session.scalar(select(func.count()).select_from(model))


# ---- create ------------------------------------------------------------------------------

def test_an_admin_creates_a_draft_task(admin, tree):
    response = admin.post(URL, json=task_body(tree.a, required_skills=["first_aid", "driving"],
                                              members_only=True, radius_m=150))
    assert response.status_code == 201, response.json
    task = response.json
    assert response.headers["Location"].endswith(f"{URL}/{task['id']}")
    assert task["state"] == "draft"
    assert task["community"]["id"] == tree.a
    assert task["help_request_id"] is None
    assert (task["places"], task["places_taken"], task["places_left"]) == (3, 0, 3)
    assert task["hours_credited"] == 2.0  # default: its duration
    assert task["required_skills"] == ["first_aid", "driving"]
    assert task["members_only"] is True and task["radius_m"] == 150
    assert task["location"] == {**HERE, "coord_system": "gcj02"}
    assert dt.datetime.fromisoformat(task["starts_at"]) == START
    assert "code_key" not in task


def test_hours_credited_may_be_set_and_defaults_to_the_duration(admin, tree):
    explicit = admin.post(URL, json=task_body(tree.a, hours_credited=1.5)).json
    assert explicit["hours_credited"] == 1.5
    long = admin.post(URL, json=task_body(tree.a, ends_at=iso(START + dt.timedelta(minutes=100)))).json
    assert long["hours_credited"] == 1.67


@pytest.mark.parametrize("fields, code, field", [
    ({"places": 0}, "validation_failed", "places"),
    ({"places": -2}, "validation_failed", "places"),
    ({"ends_at": iso(START - dt.timedelta(minutes=1))}, "ends_before_start", None),
    ({"ends_at": iso(START)}, "ends_before_start", None),
    ({"location": None}, "validation_failed", "location"),
    ({"category": "party"}, "validation_failed", "category"),
    ({"title": ""}, "validation_failed", "title"),
    ({"hours_credited": -1}, "validation_failed", "hours_credited"),
    ({"radius_m": 5}, "validation_failed", "radius_m"),
    ({"starts_at": "2026-11-27T09:00:00"}, "validation_failed", "starts_at"),
])
def test_bad_tasks_are_refused_and_store_nothing(admin, tree, fields, code, field):
    error = assert_error(admin.post(URL, json=task_body(tree.a, **fields)), 422, code)
    if field:
        assert field in error["details"]["fields"]
    assert _count() == 0


def test_a_task_needs_a_community_of_the_admins_subtree(admin, login, login_as, tree):
    body = task_body(tree.a)
    del body["community_id"]
    error = assert_error(admin.post(URL, json=body), 422, "validation_failed")
    assert "community_id" in error["details"]["fields"]
    assert_error(admin.post(URL, json=task_body(tree.b)), 404, "not_found")
    assert_error(admin.post(URL, json=task_body(tree.a1)), 422, "not_a_community")
    assert_error(admin.post(URL, json=task_body(424242)), 404, "not_found")
    assert_error(login("o-someone").post(URL, json=task_body(tree.a)), 404, "not_found")
    assert_error(login_as("center_admin", tree.a).post(URL, json=task_body(tree.a)), 403, "forbidden")
    street = login_as("org_admin", tree.street)
    assert_error(street.post(URL, json=task_body(tree.street)), 422, "not_a_community")
    assert _count() == 0
    assert street.post(URL, json=task_body(tree.b)).status_code == 201


# ---- visibility and transitions ----------------------------------------------------------

def test_a_draft_is_seen_only_by_the_communitys_admins(make_task, admin, admin_b, login_as, volunteer, tree):
    task = make_task(publish=False)
    url = f"{URL}/{task.id}"
    assert admin.get(url).status_code == 200
    assert login_as("org_admin", tree.street).get(url).status_code == 200
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(volunteer().get(url), 404, "not_found")
    admin.post(f"{url}/publish", json={})
    assert volunteer().get(url).json["state"] == "published"
    assert admin_b.get(url).status_code == 200  # published tasks are public


def test_the_lifecycle_and_its_invalid_moves(make_task, admin):
    task = make_task(publish=False)
    url = f"{URL}/{task.id}"
    for action in ("start", "complete"):
        error = assert_error(admin.post(f"{url}/{action}", json={}), 409, "invalid_state")
        assert error["details"]["state"] == "draft"
    assert admin.post(f"{url}/publish", json={}).json["state"] == "published"
    assert_error(admin.post(f"{url}/publish", json={}), 409, "invalid_state")
    assert admin.post(f"{url}/start", json={}).json["state"] == "in_progress"
    assert_error(admin.post(f"{url}/start", json={}), 409, "invalid_state")
    assert admin.post(f"{url}/complete", json={}).json["state"] == "completed"
    for action in ("publish", "start", "complete", "cancel"):
        assert_error(admin.post(f"{url}/{action}", json={}), 409, "invalid_state")


def test_a_draft_can_be_cancelled_and_completed_straight_from_published(make_task, admin):
    draft, published = make_task(publish=False), make_task()
    assert admin.post(f"{URL}/{draft.id}/cancel", json={}).json["state"] == "cancelled"
    assert admin.post(f"{URL}/{published.id}/complete", json={}).json["state"] == "completed"


def test_cancelling_tells_everyone_who_accepted_or_waits(make_task, admin, volunteer):
    task = make_task(places=2)
    a, b, waiting, left = volunteer(), volunteer(), volunteer(), volunteer()
    url = f"{URL}/{task.id}"
    assert left.post(f"{url}/accept", json={}).status_code == 201
    assert left.post(f"{url}/withdraw").status_code == 200
    for api in (a, b):
        assert api.post(f"{url}/accept", json={}).status_code == 201
    assert waiting.post(f"{url}/accept", json={"waitlist": True}).json["state"] == "waitlisted"
    assert_error(admin.post(f"{url}/cancel", json={"reason": "x" * 201}), 422, "validation_failed")
    response = admin.post(f"{url}/cancel", json={"reason": "台风预警，活动取消"})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "cancelled"
    assert response.json["cancel_reason"] == "台风预警，活动取消"
    assert response.json["places_taken"] == 0
    for api in (a, b, waiting):
        notices = api.get("/api/v1/me/notices").json["items"]
        assert [(n["kind"], n["data"]) for n in notices] == [
            ("task_cancelled", {"task_id": task.id, "title": "清洁家园", "reason": "台风预警，活动取消"})]
        assert notices[0]["read_at"] is None
        assert api.get("/api/v1/me/tasks").json["items"][0]["state"] == "cancelled"
    assert left.get("/api/v1/me/notices").json["items"] == []  # had withdrawn already
    assert admin.get("/api/v1/me/notices").json["items"] == []
    assert_error(admin.post(f"{url}/cancel", json={}), 409, "invalid_state")
    # notices can be marked read
    first = a.get("/api/v1/me/notices").json["items"][0]
    assert a.get("/api/v1/me/notices/unread").json == {"unread": 1}
    assert a.post("/api/v1/me/notices/read", json={"up_to_id": first["id"]}).json == {"marked": 1}
    assert a.get("/api/v1/me/notices/unread").json == {"unread": 0}
    assert b.get("/api/v1/me/notices/unread").json == {"unread": 1}
    assert a.get("/api/v1/me/notices").json["items"][0]["read_at"] is not None
    assert b.get("/api/v1/me/notices").json["items"][0]["read_at"] is None


# ---- update ------------------------------------------------------------------------------

def test_update_a_published_task_and_its_volunteers_follow_the_new_times(make_task, admin, volunteer):
    task = make_task()
    v = volunteer()
    v.post(f"{URL}/{task.id}/accept", json={})
    later = START + dt.timedelta(hours=3)
    response = admin.patch(f"{URL}/{task.id}", json={
        "title": "清洁家园（改期）", "starts_at": iso(later), "ends_at": iso(later + dt.timedelta(hours=1)),
        "places": 5, "location": near(50), "members_only": False})
    assert response.status_code == 200, response.json
    assert response.json["title"] == "清洁家园（改期）"
    assert response.json["places"] == 5 and response.json["places_left"] == 4
    assert response.json["location"]["lat"] == pytest.approx(near(50)["lat"])
    mine = v.get("/api/v1/me/tasks").json["items"][0]
    assert dt.datetime.fromisoformat(mine["starts_at"]) == later
    assert dt.datetime.fromisoformat(mine["ends_at"]) == later + dt.timedelta(hours=1)


def test_bad_updates_change_nothing(make_task, admin, volunteer):
    task = make_task(places=2)
    for _ in range(2):
        volunteer().post(f"{URL}/{task.id}/accept", json={})
    url = f"{URL}/{task.id}"
    error = assert_error(admin.patch(url, json={"places": 1, "title": "改了"}), 409, "places_below_taken")
    assert error["details"] == {"places": 1, "places_taken": 2}
    assert_error(admin.patch(url, json={"places": 0}), 422, "validation_failed")
    assert_error(admin.patch(url, json={"ends_at": iso(START), "title": "改了"}), 422, "ends_before_start")
    assert_error(admin.patch(url, json={"starts_at": iso(END + dt.timedelta(hours=1))}),
                 422, "ends_before_start")
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert (stored.title, stored.places, stored.places_taken, stored.starts_at, stored.ends_at) == (
        "清洁家园", 2, 2, START, END)
    assert {p.starts_at for p in db.session.scalars(select(Participation))} == {START}


@pytest.mark.parametrize("ending", ["start", "complete", "cancel"])
def test_only_draft_and_published_tasks_can_be_edited(make_task, admin, ending):
    task = make_task()
    admin.post(f"{URL}/{task.id}/{ending}", json={})
    assert_error(admin.patch(f"{URL}/{task.id}", json={"title": "x"}), 409, "invalid_state")


# ---- scope -------------------------------------------------------------------------------

def test_admin_of_b_gets_404_on_as_task_admin_actions(make_task, admin_b, volunteer, tree):
    draft, task = make_task(publish=False), make_task()
    assert_error(admin_b.get(f"{URL}/{draft.id}"), 404, "not_found")
    for t in (draft, task):
        url = f"{URL}/{t.id}"
        assert_error(admin_b.patch(url, json={"title": "mine now"}), 404, "not_found")
        for action in ("publish", "start", "complete", "cancel"):
            assert_error(admin_b.post(f"{url}/{action}", json={}), 404, "not_found")
        assert_error(admin_b.get(f"{url}/code"), 404, "not_found")
        assert_error(admin_b.get(f"{url}/participants"), 404, "not_found")
        assert_error(admin_b.get(f"{url}/correction-requests"), 404, "not_found")
    v = volunteer()
    participation = v.post(f"{URL}/{task.id}/accept", json={}).json
    for path, body in (("no-show", None), ("set-times", {"checked_out_at": iso(END)}),
                       ("corrections", {"hours": 1, "reason": "x"})):
        assert_error(admin_b.post(f"/api/v1/participations/{participation['id']}/{path}", json=body),
                     404, "not_found")
    db.session.expire_all()
    assert (db.session.get(Task, draft.id).state, db.session.get(Task, task.id).state) == (
        "draft", "published")
    assert db.session.get(Task, task.id).title == "清洁家园"


def test_a_volunteer_cannot_run_a_task(make_task, volunteer):
    task = make_task()
    v = volunteer()
    for action in ("publish", "start", "complete", "cancel"):
        assert_error(v.post(f"{URL}/{task.id}/{action}", json={}), 404, "not_found")
    assert_error(v.get(f"{URL}/{task.id}/participants"), 404, "not_found")
    assert_error(v.get(f"{URL}/{task.id}/code"), 404, "not_found")


def test_an_admin_above_manages_the_community_below(make_task, login_as, tree):
    street = login_as("org_admin", tree.street)
    task = make_task(publish=False)
    assert street.post(f"{URL}/{task.id}/publish", json={}).status_code == 200
    assert street.patch(f"{URL}/{task.id}", json={"places": 10}).json["places"] == 10
    assert street.get(f"{URL}/{task.id}/participants").status_code == 200


# ---- lists -------------------------------------------------------------------------------

def _ids(api, **query):
    response = api.get(URL, query_string=query)
    assert response.status_code == 200, response.json
    return [t["id"] for t in response.json["items"]]


def test_list_filters_by_community_state_category_and_open(make_task, admin, admin_b, volunteer, login_as, tree):
    t = [START + dt.timedelta(hours=i * 3) for i in range(7)]

    def at(i, **fields):
        return make_task(starts_at=iso(t[i]), ends_at=iso(t[i] + dt.timedelta(hours=1)), **fields).id

    a_open = at(0, category="errands")
    a_full = at(1, places=1, category="errands")
    a_draft = at(2, publish=False)
    b_task = make_task(api=admin_b, community_id=tree.b, starts_at=iso(t[3]),
                       ends_at=iso(t[3] + dt.timedelta(hours=1)), category="tutoring").id
    a_cancelled = at(4)
    a_running = at(5)
    a_done = at(6)
    volunteer().post(f"{URL}/{a_full}/accept", json={})
    admin.post(f"{URL}/{a_cancelled}/cancel", json={})
    admin.post(f"{URL}/{a_running}/start", json={})
    admin.post(f"{URL}/{a_done}/complete", json={})
    v = volunteer()
    everything = [a_open, a_full, b_task, a_cancelled, a_running, a_done]  # by start; no drafts
    assert _ids(v) == everything
    assert _ids(v, community_id=tree.a) == [a_open, a_full, a_cancelled, a_running, a_done]
    assert _ids(v, community_id=tree.b) == [b_task]
    assert _ids(v, community_id=tree.street) == everything  # a subtree
    assert _ids(v, state="published") == [a_open, a_full, b_task]
    assert _ids(v, state="cancelled") == [a_cancelled]
    assert _ids(v, state="in_progress") == [a_running]
    assert _ids(v, category="errands") == [a_open, a_full]
    assert _ids(v, open="true") == [a_open, b_task]  # published with places left
    assert _ids(v, open="true", community_id=tree.a, category="errands") == [a_open]
    assert _ids(v, state="draft") == []  # drafts only for their admins
    assert _ids(admin, state="draft") == [a_draft]
    assert _ids(admin_b, state="draft") == []
    assert _ids(login_as("org_admin", tree.street), state="draft") == [a_draft]
    assert_error(v.get(URL, query_string={"state": "lost"}), 422, "validation_failed")
    assert_error(v.get(URL, query_string={"community_id": 424242}), 404, "not_found")
    items = v.get(URL, query_string={"open": "true"}).json["items"]
    assert [i["places_left"] for i in items] == [3, 3]


def test_near_sorts_by_distance_within_a_radius(make_task, volunteer):
    far = make_task(location=near(5_000)).id  # 5 km
    close = make_task(location=near(0, 100)).id  # 100 m
    mid = make_task(location=near(-1_000)).id  # 1 km
    outside = make_task(location=near(20_000)).id  # 20 km: beyond the default 10 km
    full = make_task(location=near(10), places=1).id
    volunteer().post(f"{URL}/{full}/accept", json={})
    v = volunteer()
    here = f"{HERE['lat']},{HERE['lng']}"
    response = v.get(URL, query_string={"near": here})
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert [i["id"] for i in items] == [full, close, mid, far]
    assert [i["distance_m"] for i in items] == pytest.approx([10, 100, 1000, 5000], abs=2)
    assert _ids(v, near=here, radius_m=2000) == [full, close, mid]
    assert _ids(v, near=here, radius_m=30_000)[-1] == outside
    assert _ids(v, near=here, open="true") == [close, mid, far]
    assert "distance_m" not in v.get(URL).json["items"][0]
    for bad in ("21.85", "north", "1,2,3"):
        assert_error(v.get(URL, query_string={"near": bad}), 422, "validation_failed")


def test_near_pages_through_every_task_in_distance_order(make_task, volunteer):
    made = [make_task(location=near(100 * (i + 1))).id for i in range(5)]
    v = volunteer()
    seen, cursor, pages = [], None, 0
    while True:
        query = {"near": f"{HERE['lat']},{HERE['lng']}", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = v.get(URL, query_string=query)
        assert page.status_code == 200, page.json
        seen += [t["id"] for t in page.json["items"]]
        cursor, pages = page.json["next_cursor"], pages + 1
        if cursor is None:
            break
    assert seen == made and pages == 3
    for forged in ("garbage!", "WyJuZWFyIiwiMSIsMV0"):  # not base64 JSON; ["near","1",1]
        assert_error(v.get(URL, query_string={"near": "21.858,111.962", "cursor": forged}),
                     422, "validation_failed")


def test_tasks_are_paged_by_keyset_on_start_then_id(make_task, volunteer):
    # two tasks share a start: the id breaks the tie
    starts = [START + dt.timedelta(hours=h) for h in (5, 1, 3, 1, 8)]
    made = [make_task(starts_at=iso(s), ends_at=iso(s + dt.timedelta(minutes=30))).id for s in starts]
    expected = [t for _, t in sorted(zip(starts, made, strict=False))]
    v = volunteer()
    seen, cursor = [], None
    while True:
        response = v.get(URL, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json
        page = response.json
        assert len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert_error(v.get(URL, query_string={"cursor": "bm9wZQ"}), 422, "validation_failed")
    assert_error(v.get(URL, query_string={"limit": 0}), 422, "validation_failed")
    assert_error(v.get(URL, query_string={"limit": 101}), 422, "validation_failed")
