"""Service demonstration posts: create/update/list in scope, assignments, the
plate, going on and off duty, residents scanning and rating."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.badges.models import (
    DutySession,
    PlateScan,
    PostAssignment,
    PostRating,
    ServicePost,
)
from app.common import signed_codes
from app.extensions import db
from tests.badges.helpers import (
    DUTY,
    HERE,
    POSTS,
    SCAN,
    T0,
    approved_plate,
    assign,
    business_zone,
    center_code,
    make_post,
    post_plate_code,
)
from tests.conftest import assert_error


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def post(admin, tree):
    return make_post(admin, tree.a)


@pytest.fixture
def staff(member, admin, post):
    """A member of branch a1 assigned to the post."""
    api = member("陈小文", "13800138000")
    assign(admin, post["id"], api.identity["id"])
    return api


@pytest.fixture
def plate(admin, post):
    return post_plate_code(admin, post["id"])


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# ---- create / update / read --------------------------------------------------------

def test_create_answers_201_with_location(admin, tree):
    response = admin.post(POSTS, json={
        "org_id": tree.a1, "name": "便民服务窗口", "unit": "丰泽社区", "window": "1 号窗",
        "location": {**HERE, "coord_system": "wgs84"}, "service_items": ["代办", "咨询"]})
    assert response.status_code == 201, response.json
    post = response.json
    assert response.headers["Location"].endswith(f"{POSTS}/{post['id']}")
    assert post["org"] == {"id": tree.a1, "kind": "party_branch", "name": "丰泽社区第一党支部"}
    assert (post["name"], post["unit"], post["window"]) == ("便民服务窗口", "丰泽社区", "1 号窗")
    assert post["service_items"] == ["代办", "咨询"]
    # wgs84 in, gcj02 stored (a few hundred metres apart)
    where = post["location"]
    assert where["lat"] != HERE["lat"] and abs(where["lat"] - HERE["lat"]) < 0.01
    assert where["coord_system"] == "gcj02"
    assert dt.datetime.fromisoformat(post["created_at"]) == T0
    assert "code_key" not in post and "key_version" not in post


def test_create_with_only_a_name(admin, tree):
    response = admin.post(POSTS, json={"org_id": tree.a, "name": "示范岗"})
    assert response.status_code == 201, response.json
    assert (response.json["unit"], response.json["window"], response.json["service_items"],
            response.json["location"]) == ("", "", [], None)


@pytest.mark.parametrize("body, field", [
    ({"name": "x"}, "org_id"),
    ({"org_id": "TREE_A"}, "name"),
    ({"org_id": "TREE_A", "name": ""}, "name"),
    ({"org_id": "TREE_A", "name": "x" * 101}, "name"),
    ({"org_id": "TREE_A", "name": "x", "window": "w" * 51}, "window"),
    ({"org_id": "TREE_A", "name": "x", "service_items": "代办"}, "service_items"),
    ({"org_id": "TREE_A", "name": "x", "service_items": [""]}, "service_items"),
    ({"org_id": "TREE_A", "name": "x", "service_items": ["s"] * 31}, "service_items"),
    ({"org_id": "TREE_A", "name": "x", "location": {"lat": 91, "lng": 0}}, "location"),
    ({"org_id": "TREE_A", "name": "x", "code_key": "mine"}, "code_key"),
])
def test_invalid_posts_are_422_and_nothing_is_stored(admin, tree, body, field):
    body = {k: (tree.a if v == "TREE_A" else v) for k, v in body.items()}
    error = assert_error(admin.post(POSTS, json=body), 422, "validation_failed")
    assert field in error["details"]["fields"], error
    assert count(ServicePost) == 0


def test_only_admins_of_the_subtree_create_posts(admin, login_as, tree, member):
    assert_error(admin.post(POSTS, json={"org_id": tree.b, "name": "x"}), 404, "not_found")
    assert_error(admin.post(POSTS, json={"org_id": tree.street, "name": "x"}), 404, "not_found")
    assert_error(admin.post(POSTS, json={"org_id": 2**31, "name": "x"}), 422, "validation_failed")
    assert_error(login_as(None).post(POSTS, json={"org_id": tree.a, "name": "x"}), 404, "not_found")
    assert_error(member().post(POSTS, json={"org_id": tree.a, "name": "x"}), 404, "not_found")
    assert_error(login_as("center_admin", tree.a).post(POSTS, json={"org_id": tree.a, "name": "x"}),
                 403, "forbidden")
    assert count(ServicePost) == 0
    assert login_as("org_admin", tree.street).post(POSTS, json={"org_id": tree.b, "name": "x"}).status_code == 201


def test_update_changes_only_what_is_sent(admin, post):
    response = admin.patch(f"{POSTS}/{post['id']}", json={"window": "5 号窗口"})
    assert response.status_code == 200, response.json
    assert response.json["window"] == "5 号窗口"
    assert {k: response.json[k] for k in ("name", "unit", "service_items", "location")} == \
        {k: post[k] for k in ("name", "unit", "service_items", "location")}
    response = admin.patch(f"{POSTS}/{post['id']}", json={"service_items": [], "name": "新名称"})
    assert (response.json["service_items"], response.json["name"]) == ([], "新名称")
    assert_error(admin.patch(f"{POSTS}/{post['id']}", json={"name": ""}), 422, "validation_failed")
    assert_error(admin.patch(f"{POSTS}/{post['id']}", json={"org_id": 1}), 422, "validation_failed")


def test_posts_of_another_community_are_404_to_its_admins(admin_b, login_as, post, staff):
    url = f"{POSTS}/{post['id']}"
    assert_error(admin_b.patch(url, json={"name": "x"}), 404, "not_found")
    assert_error(admin_b.get(f"{url}/assignments"), 404, "not_found")
    assert_error(admin_b.post(f"{url}/assignments", json={"identity_id": staff.identity["id"]}),
                 404, "not_found")
    assert_error(admin_b.delete(f"{url}/assignments/{staff.identity['id']}"), 404, "not_found")
    assert_error(admin_b.get(f"{url}/plate.png"), 404, "not_found")
    assert_error(admin_b.get(f"{url}/ratings"), 404, "not_found")
    # the assigned member is no admin either
    assert_error(staff.get(f"{url}/plate.png"), 404, "not_found")
    assert_error(staff.patch(url, json={"name": "x"}), 404, "not_found")
    # a post itself is a public counter
    assert admin_b.get(url).json == post
    assert login_as(None).get(url).status_code == 200


@pytest.mark.parametrize("post_id", [999999, 2**31, 2**40])
def test_unknown_posts_are_404(admin, post_id):
    url = f"{POSTS}/{post_id}"
    assert_error(admin.get(url), 404, "not_found")
    assert_error(admin.patch(url, json={"name": "x"}), 404, "not_found")
    assert_error(admin.get(f"{url}/plate.png"), 404, "not_found")
    assert_error(admin.post(f"{url}/ratings", json={"score": 5}), 404, "not_found")
    assert_error(admin.get(f"{url}/ratings"), 404, "not_found")
    assert_error(admin.post(f"{url}/assignments", json={"identity_id": 1}), 404, "not_found")


def test_list_is_scoped_to_the_subtree_and_paginated(admin, admin_b, login_as, tree):
    in_a = [make_post(admin, tree.a, name="a")["id"], make_post(admin, tree.a1, name="a1")["id"],
            make_post(admin, tree.a2, name="a2")["id"]]
    in_b = make_post(admin_b, tree.b, name="b")["id"]

    def ids(api, org_id, **query):
        response = api.get(POSTS, query_string={"org_id": org_id, **query})
        assert response.status_code == 200, response.json
        return [p["id"] for p in response.json["items"]], response.json["next_cursor"]

    assert ids(admin, tree.a) == (in_a, None)
    assert ids(admin, tree.a1) == ([in_a[1]], None)
    assert ids(login_as("org_admin", tree.street), tree.street) == ([*in_a, in_b], None)
    assert_error(admin.get(POSTS, query_string={"org_id": tree.b}), 404, "not_found")
    assert_error(admin.get(POSTS, query_string={"org_id": tree.street}), 404, "not_found")
    assert_error(admin.get(POSTS), 422, "validation_failed")

    first, cursor = ids(admin, tree.a, limit=2)
    assert first == in_a[:2] and cursor
    assert ids(admin, tree.a, limit=2, cursor=cursor) == ([in_a[2]], None)
    assert_error(admin.get(POSTS, query_string={"org_id": tree.a, "cursor": "junk"}), 422, "validation_failed")


# ---- assignments -------------------------------------------------------------------

def test_assign_list_and_unassign(admin, post, member, tree):
    first = member("陈小文", "13800138000")
    second = member("王五", "13800138001", branch_id=tree.a2)
    url = f"{POSTS}/{post['id']}/assignments"
    response = admin.post(url, json={"identity_id": first.identity["id"]})
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(url)
    assert response.json["display_name"] == "陈*文"
    assert response.json["branch"] == "丰泽社区第一党支部"
    assign(admin, post["id"], second.identity["id"])
    # assigning twice keeps one assignment
    assert admin.post(url, json={"identity_id": first.identity["id"]}).status_code == 201
    listed = admin.get(url).json
    assert listed["next_cursor"] is None
    assert [(a["identity_id"], a["display_name"]) for a in listed["items"]] == [
        (first.identity["id"], "陈*文"), (second.identity["id"], "王*")]
    page = admin.get(url, query_string={"limit": 1}).json
    assert [a["identity_id"] for a in page["items"]] == [first.identity["id"]]
    rest = admin.get(url, query_string={"limit": 1, "cursor": page["next_cursor"]}).json
    assert ([a["identity_id"] for a in rest["items"]], rest["next_cursor"]) == ([second.identity["id"]], None)
    assert "陈小文" not in admin.get(url).get_data(as_text=True)

    response = admin.delete(f"{url}/{second.identity['id']}")
    assert response.status_code == 204 and response.data == b""
    assert [a["identity_id"] for a in admin.get(url).json["items"]] == [first.identity["id"]]
    assert_error(admin.delete(f"{url}/{second.identity['id']}"), 404, "not_found")


def test_assign_needs_a_member_of_the_admins_subtree(admin, post, member, tree):
    url = f"{POSTS}/{post['id']}/assignments"
    outsider = member("李四", "13900139000", branch_id=tree.b1)
    assert_error(admin.post(url, json={"identity_id": outsider.identity["id"]}), 404, "not_found")
    assert_error(admin.post(url, json={"identity_id": 999999}), 404, "not_found")
    assert_error(admin.post(url, json={"identity_id": 2**31}), 422, "validation_failed")
    assert_error(admin.post(url, json={}), 422, "validation_failed")
    assert count(PostAssignment) == 0


def test_unassigning_ends_a_running_duty(admin, post, staff, plate):
    assert staff.post(DUTY, json={"code": plate}).json["on_duty"] is True
    assert admin.delete(f"{POSTS}/{post['id']}/assignments/{staff.identity['id']}").status_code == 204
    session = db.session.scalar(select(DutySession))
    assert session.ended_at is not None
    assert_error(staff.post(DUTY, json={"code": plate}), 403, "not_assigned_to_post")


# ---- the plate and duty ------------------------------------------------------------

def test_plate_png_decodes_to_a_code_that_toggles_duty(admin, post, staff, clock):
    code = post_plate_code(admin, post["id"])
    assert code.startswith("https://dj.example.cn/q/")
    assert post_plate_code(admin, post["id"]) == code  # static: the printed plate keeps working

    response = staff.post(DUTY, json={"code": code})
    assert response.status_code == 200, response.json
    on = response.json
    assert on["on_duty"] is True
    assert on["session"]["display_name"] == "陈*文" and on["session"]["ended_at"] is None
    assert dt.datetime.fromisoformat(on["session"]["started_at"]) == T0

    clock.shift(10 * 60)  # ten minutes on duty (within the access token's life)
    response = staff.post(DUTY, json={"code": code.rsplit("/q/", 1)[1]})  # a bare token works too
    assert response.status_code == 200, response.json
    off = response.json
    assert off["on_duty"] is False
    assert dt.datetime.fromisoformat(off["session"]["ended_at"]) == T0 + dt.timedelta(minutes=10)
    assert dt.datetime.fromisoformat(off["session"]["started_at"]) == T0
    # and on again: a new session
    assert staff.post(DUTY, json={"code": code}).json["on_duty"] is True
    assert count(DutySession) == 2


def test_non_assigned_member_cannot_go_on_duty(admin, post, plate, member, login, tree):
    stranger = member("李四", "13900139000", branch_id=tree.a2)
    assert_error(stranger.post(DUTY, json={"code": plate}), 403, "not_assigned_to_post")
    assert_error(login("o-resident").post(DUTY, json={"code": plate}), 403, "not_a_member")
    # a member assigned to another post cannot use this one's plate
    other_post = make_post(admin, tree.a, name="另一个示范岗")
    assign(admin, other_post["id"], stranger.identity["id"])
    assert_error(stranger.post(DUTY, json={"code": plate}), 403, "not_assigned_to_post")
    assert count(DutySession) == 0


def test_suspended_member_cannot_go_on_duty(admin, staff, plate):
    admin.post(f"/api/v1/members/{staff.identity['id']}/suspend", json={})
    assert_error(staff.post(DUTY, json={"code": plate}), 403, "identity_inactive")
    assert count(DutySession) == 0


def test_other_codes_are_not_post_plates(admin, staff, plate, member, login_as, tree):
    def refused(code, error_code="invalid_plate_code"):
        return assert_error(staff.post(DUTY, json={"code": code}), 400, error_code)

    # a service center's check-in code
    assert refused(center_code(admin, tree.a))["details"]["why"] == "not_a_plate"
    # a merchant plate's code
    zone = business_zone(tree.street)
    owner = member("王五", "13800138009", branch_id=tree.a2)
    _, merchant_code = approved_plate(owner, login_as("org_admin", zone), zone)
    assert refused(merchant_code)["details"]["why"] == "not_a_post_plate"
    # the member's own badge
    badge = staff.get("/api/v1/me/badge").json["qr_text"]
    refused(badge, "badge_not_plate")
    # garbage, someone else's URL, a tampered plate, a forged plate of a made-up post
    refused("hello")
    refused("https://evil.example.com/q/" + plate.rsplit("/q/", 1)[1])
    token = plate.rsplit("/q/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert refused(tampered)["details"]["why"] == "bad_signature"
    for subject in (999999, 2**31, 2**32 - 1):
        forged = signed_codes.sign("post_plate", subject, 1, 0, b"guessed-key")
        refused(forged)
    assert count(DutySession) == 0
    assert count(PlateScan) == 0


def test_scan_refuses_non_plates_without_counting(admin, plate, login, tree):
    resident = login("o-resident")
    assert_error(resident.post(SCAN, json={"code": center_code(admin, tree.a)}), 400, "invalid_plate_code")
    assert_error(resident.post(SCAN, json={"code": "x"}), 400, "invalid_plate_code")
    for subject in (999999, 2**31, 2**32 - 1):
        forged = signed_codes.sign("post_plate", subject, 1, 0, b"guessed-key")
        assert_error(resident.post(SCAN, json={"code": forged}), 400, "invalid_plate_code")
        forged = signed_codes.sign("merchant_plate", subject, 1, 0, b"guessed-key")
        assert_error(resident.post(SCAN, json={"code": forged}), 400, "invalid_plate_code")
    assert_error(resident.post(SCAN, json={}), 422, "validation_failed")
    assert count(PlateScan) == 0


# ---- residents scan and rate -------------------------------------------------------

def test_resident_scan_shows_the_post_and_who_is_on_duty(admin, post, staff, plate, member, login, tree):
    second = member("欧阳小明", "13800138002", branch_id=tree.a2)
    assign(admin, post["id"], second.identity["id"])
    resident = login("o-resident")

    view = resident.post(SCAN, json={"code": plate})
    assert view.status_code == 200, view.json
    assert view.json["kind"] == "post" and view.json["valid"] is True
    assert view.json["post"]["id"] == post["id"] and view.json["post"]["name"] == post["name"]
    assert view.json["on_duty"] == []
    assert view.json["rating"] == {"count": 0, "average": None}
    assert view.json["plate"] is None

    staff.post(DUTY, json={"code": plate})
    second.post(DUTY, json={"code": plate})
    view = resident.post(SCAN, json={"code": plate})
    assert [(d["display_name"], d["branch"]) for d in view.json["on_duty"]] == [
        ("陈*文", "丰泽社区第一党支部"), ("欧**明", "丰泽社区第二党支部")]
    text = view.get_data(as_text=True)
    for private in ("陈小文", "欧阳小明", "13800138000", "13800138002", "code_key"):
        assert private not in text

    staff.post(DUTY, json={"code": plate})  # off duty
    view = resident.post(SCAN, json={"code": plate})
    assert [d["display_name"] for d in view.json["on_duty"]] == ["欧**明"]
    assert count(PlateScan) == 3


def test_rating_rules(post, login, clock):
    url = f"{POSTS}/{post['id']}/ratings"
    resident = login("o-resident")
    for bad in ({"score": 0}, {"score": 6}, {"score": -1}, {}, {"score": 3.5}, {"score": None},
                {"score": 4, "comment": "长" * 201}):
        error = assert_error(resident.post(url, json=bad), 422, "validation_failed")
        assert error["details"]["fields"], bad
    assert count(PostRating) == 0

    response = resident.post(url, json={"score": 5, "comment": "长" * 200})
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(url)
    assert (response.json["score"], response.json["post_id"], response.json["day"]) == (5, post["id"], "2026-11-26")

    # a second rating the same day, even with another score, is refused
    assert_error(resident.post(url, json={"score": 1}), 409, "already_rated_today")
    clock.shift(13 * 60)  # 10:13 local, same day
    assert_error(resident.post(url, json={"score": 4}), 409, "already_rated_today")
    assert count(PostRating) == 1
    # somebody else rates the same day
    assert login("o-neighbour").post(url, json={"score": 3}).status_code == 201


def test_the_next_local_day_allows_another_rating(post, login, clock):
    url = f"{POSTS}/{post['id']}/ratings"
    # 23:55 in Yangjiang (+08:00) is 15:55 UTC: the day is local, not UTC
    clock.move_to(dt.datetime(2026, 11, 26, 15, 55, tzinfo=dt.UTC))
    resident = login("o-resident")
    assert resident.post(url, json={"score": 4}).json["day"] == "2026-11-26"
    clock.shift(4 * 60)  # 23:59
    assert_error(resident.post(url, json={"score": 4}), 409, "already_rated_today")
    clock.shift(60)  # 00:00 next day (16:00 UTC, still the same UTC day)
    response = resident.post(url, json={"score": 2})
    assert response.status_code == 201, response.json
    assert response.json["day"] == "2026-11-27"
    # and again a day later
    clock.shift(24 * 3600)
    resident = login("o-resident")
    assert resident.post(url, json={"score": 5}).status_code == 201
    assert count(PostRating) == 3


def test_a_rating_retry_with_the_same_idempotency_key_replays(post, login):
    url = f"{POSTS}/{post['id']}/ratings"
    resident = login("o-resident")
    headers = {"Idempotency-Key": "rate-1"}
    first = resident.post(url, json={"score": 5}, headers=headers)
    again = resident.post(url, json={"score": 5}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert count(PostRating) == 1


def test_admin_lists_ratings_with_average(admin, admin_b, post, login, login_as, tree):
    url = f"{POSTS}/{post['id']}/ratings"
    scores = [5, 4, 2]
    for i, score in enumerate(scores):
        assert login(f"o-rater-{i}").post(url, json={"score": score, "comment": f"c{i}"}).status_code == 201
    other = make_post(admin, tree.a2, name="其他")
    login("o-rater-0").post(f"{POSTS}/{other['id']}/ratings", json={"score": 1})

    response = admin.get(url)
    assert response.status_code == 200, response.json
    assert [r["score"] for r in response.json["items"]] == [2, 4, 5]  # newest first
    assert [r["comment"] for r in response.json["items"]] == ["c2", "c1", "c0"]
    assert response.json["summary"] == {"count": 3, "average": 3.67}
    assert response.json["next_cursor"] is None
    assert "user_id" not in response.json["items"][0]

    page = admin.get(url, query_string={"limit": 2}).json
    rest = admin.get(url, query_string={"limit": 2, "cursor": page["next_cursor"]}).json
    assert [r["score"] for r in page["items"] + rest["items"]] == [2, 4, 5]
    assert rest["summary"] == page["summary"]

    # the street's admin too; another community's and residents' not
    assert login_as("org_admin", tree.street).get(url).json["summary"]["count"] == 3
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(login("o-rater-0").get(url), 404, "not_found")
    # the scan shows the same summary
    assert login("o-rater-0").post(SCAN, json={"code": post_plate_code(admin, post["id"])}).json[
        "rating"] == {"count": 3, "average": 3.67}


# ---- query counts ------------------------------------------------------------------

def _counted(count_queries, api, url, **query):
    api.get(url, query_string=query)  # warm: the same state for both counts
    with count_queries() as q:
        response = api.get(url, query_string=query)
    assert response.status_code == 200, response.json
    return len(response.json["items"]), q.count


def test_list_posts_query_count_does_not_grow(admin, tree, count_queries):
    for i in range(3):
        make_post(admin, tree.a1 if i % 2 else tree.a, name=f"p{i}")
    few = _counted(count_queries, admin, POSTS, org_id=tree.a, limit=100)
    for i in range(12):
        make_post(admin, tree.a2 if i % 2 else tree.a, name=f"more{i}")
    many = _counted(count_queries, admin, POSTS, org_id=tree.a, limit=100)
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]


def test_list_ratings_query_count_does_not_grow(admin, post, login, count_queries):
    url = f"{POSTS}/{post['id']}/ratings"
    for i in range(3):
        login(f"o-r{i}").post(url, json={"score": 1 + i % 5})
    few = _counted(count_queries, admin, url, limit=100)
    for i in range(3, 15):
        login(f"o-r{i}").post(url, json={"score": 1 + i % 5})
    many = _counted(count_queries, admin, url, limit=100)
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]


def test_assignments_and_scan_query_count_does_not_grow(admin, post, member, tree, login,
                                                        count_queries):
    url = f"{POSTS}/{post['id']}/assignments"
    plate = post_plate_code(admin, post["id"])
    resident = login("o-resident")

    def scan():
        resident.post(SCAN, json={"code": plate})
        with count_queries() as q:
            response = resident.post(SCAN, json={"code": plate})
        return len(response.json["on_duty"]), q.count

    def add(start, stop):
        for i in range(start, stop):
            api = member(f"成员{i:02d}号", f"138001380{i:02d}", branch_id=tree.a1 if i % 2 else tree.a2)
            assign(admin, post["id"], api.identity["id"])
            assert api.post(DUTY, json={"code": plate}).json["on_duty"] is True

    add(0, 3)
    few, few_scan = _counted(count_queries, admin, url), scan()
    add(3, 15)
    many, many_scan = _counted(count_queries, admin, url), scan()
    assert (few[0], many[0], few_scan[0], many_scan[0]) == (3, 15, 3, 15)
    assert few[1] == many[1]
    assert few_scan[1] == many_scan[1]
