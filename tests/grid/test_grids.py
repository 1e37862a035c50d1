"""Grids (with and without a boundary), the point lookup, leaders, scope, and the
category and time-limit tables kept as data."""
from __future__ import annotations

import pytest

from tests.conftest import assert_error
from tests.grid.conftest import INSIDE, INSIDE_A2, OUTSIDE, SQUARE, SQUARE_A2
from tests.grid.helpers import report

GRIDS = "/api/v1/grids"


def at(point: dict) -> str:
    return f"{GRIDS}?at={point['lat']},{point['lng']}"


# ---- creating --------------------------------------------------------------------------

def test_create_with_boundary(admin, tree):
    response = admin.post(GRIDS, json={"community_id": tree.a, "name": "第一网格", "households": 320,
                                       "boundary": SQUARE})
    assert response.status_code == 201, response.json
    grid = response.json
    assert response.headers["Location"].endswith(f"{GRIDS}/{grid['id']}")
    assert grid["name"] == "第一网格" and grid["households"] == 320
    assert grid["boundary"] == SQUARE
    assert grid["community"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    # its grid Party group is an org node under the community
    group = grid["party_group"]
    assert group["kind"] == "party_group" and group["name"] == "第一网格党小组"
    node = admin.get(f"/api/v1/orgs/{group['id']}")
    assert node.status_code == 200, node.json
    assert node.json["parent_id"] == tree.a
    assert admin.get(f"{GRIDS}/{grid['id']}").json == grid


def test_create_without_boundary(admin, tree):
    response = admin.post(GRIDS, json={"community_id": tree.a, "name": "无边界网格"})
    assert response.status_code == 201, response.json
    assert response.json["boundary"] is None and response.json["households"] == 0
    # listed, but no point lies in it
    assert [g["id"] for g in admin.get(f"{GRIDS}?community_id={tree.a}").json["items"]] == [response.json["id"]]
    assert admin.get(at(INSIDE)).json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("boundary", [
    {"type": "Point", "coordinates": [111.96, 21.85]},
    {"type": "Polygon"},
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.959, 21.855]]]},
    {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                         [111.959, 21.861]]]},  # not closed
    {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 95.0],
                                         [111.959, 21.855]]]},  # latitude out of range
    {"type": "Polygon", "coordinates": [[["111.959", "21.855"], [111.965, 21.855], [111.965, 21.861],
                                         ["111.959", "21.855"]]]},  # strings
    {"type": "Polygon", "coordinates": [[[True, False], [111.965, 21.855], [111.965, 21.861],
                                         [True, False]]]},  # booleans are not numbers
    {"type": "Polygon", "coordinates": [[[111.959], [111.965, 21.855], [111.965, 21.861], [111.959]]]},
])
def test_invalid_boundary(admin, tree, boundary):
    response = admin.post(GRIDS, json={"community_id": tree.a, "name": "坏网格", "boundary": boundary})
    assert_error(response, 422, "invalid_boundary")
    assert admin.get(f"{GRIDS}?community_id={tree.a}").json["items"] == []


def test_boundary_that_is_not_an_object(admin, tree):
    response = admin.post(GRIDS, json={"community_id": tree.a, "name": "坏网格", "boundary": "square"})
    error = assert_error(response, 422, "validation_failed")
    assert "boundary" in error["details"]["fields"]


def test_grids_belong_to_a_community(admin, tree):
    response = admin.post(GRIDS, json={"community_id": tree.a1, "name": "支部网格"})
    error = assert_error(response, 422, "validation_failed")
    assert "community_id" in error["details"]["fields"]
    assert_error(admin.post(GRIDS, json={"name": "无社区"}), 422, "validation_failed")


def test_only_admins_of_the_community_create_grids(tree, admin_b, leader, resident):
    body = {"community_id": tree.a, "name": "越权网格"}
    assert_error(admin_b.post(GRIDS, json=body), 404, "not_found")
    assert_error(resident.post(GRIDS, json=body), 404, "not_found")
    assert_error(leader.post(GRIDS, json=body), 404, "not_found")  # a leader holds a role on the group only


def test_street_admin_creates_grids_in_its_communities(street_admin, tree):
    response = street_admin.post(GRIDS, json={"community_id": tree.b, "name": "新江网格"})
    assert response.status_code == 201, response.json


# ---- where is a point? -------------------------------------------------------------------

def test_at_finds_the_grid_containing_the_point(admin, grid, make_grid, tree, resident):
    second = make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    assert [g["id"] for g in admin.get(at(INSIDE)).json["items"]] == [grid.id]
    assert [g["id"] for g in admin.get(at(INSIDE_A2)).json["items"]] == [second.id]
    assert admin.get(at(OUTSIDE)).json == {"items": [], "next_cursor": None}
    # inside the first square's bounding box but outside a triangle drawn in it
    triangle = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855],
                                                    [111.959, 21.861], [111.959, 21.855]]]}
    assert admin.patch(f"{GRIDS}/{grid.id}", json={"boundary": triangle}).status_code == 200
    assert admin.get(at({"lat": 21.860, "lng": 111.964})).json["items"] == []
    assert [g["id"] for g in admin.get(at({"lat": 21.856, "lng": 111.960})).json["items"]] == [grid.id]
    # residents ask too (the mini-program shows "you are in ..."), for a grid of theirs
    assert resident.get(at({"lat": 21.856, "lng": 111.960})).json["items"] == []
    assert report(resident, location={"lat": 21.856, "lng": 111.960}).status_code == 201
    assert [g["id"] for g in resident.get(at({"lat": 21.856, "lng": 111.960})).json["items"]] == [grid.id]


@pytest.mark.parametrize("value", ["21.858", "abc,def", "21.858;111.962", "91,111.962", "21.858,181"])
def test_at_must_be_lat_lng(admin, grid, value):
    error = assert_error(admin.get(f"{GRIDS}?at={value}"), 422, "validation_failed")
    assert "at" in error["details"]["fields"]


def test_changing_and_removing_the_boundary(admin, grid):
    assert [g["id"] for g in admin.get(at(INSIDE)).json["items"]] == [grid.id]
    moved = admin.patch(f"{GRIDS}/{grid.id}", json={"boundary": SQUARE_A2, "households": 12})
    assert moved.status_code == 200 and moved.json["households"] == 12
    assert admin.get(at(INSIDE)).json["items"] == []
    assert [g["id"] for g in admin.get(at(INSIDE_A2)).json["items"]] == [grid.id]
    assert_error(admin.patch(f"{GRIDS}/{grid.id}", json={"boundary": {"type": "Polygon"}}), 422,
                 "invalid_boundary")
    removed = admin.patch(f"{GRIDS}/{grid.id}", json={"boundary": None})
    assert removed.status_code == 200 and removed.json["boundary"] is None
    assert admin.get(at(INSIDE_A2)).json["items"] == []


# ---- leaders -------------------------------------------------------------------------------

def test_leaders_with_buildings_and_lanes(admin, grid, login):
    chief, building, lane = login("o-chief"), login("o-building"), login("o-lane")
    for api, body in [(chief, {"role": "grid_leader"}),
                      (building, {"role": "building_leader", "buildings": ["1 栋", "2 栋"]}),
                      (lane, {"role": "lane_leader", "lanes": ["丰泽一巷"]})]:
        response = admin.post(f"{GRIDS}/{grid.id}/leaders", json={"user_id": api.user_id, **body})
        assert response.status_code == 201, response.json
        assert response.json["grid_id"] == grid.id and response.json["role"] == body["role"]
    listed = admin.get(f"{GRIDS}/{grid.id}/leaders")
    assert listed.status_code == 200
    assert [(x["user_id"], x["role"], x["buildings"], x["lanes"]) for x in listed.json["items"]] == [
        (chief.user_id, "grid_leader", [], []),
        (building.user_id, "building_leader", ["1 栋", "2 栋"], []),
        (lane.user_id, "lane_leader", [], ["丰泽一巷"]),
    ]
    # assigning again updates the buildings rather than adding a second row
    again = admin.post(f"{GRIDS}/{grid.id}/leaders", json={"user_id": building.user_id,
                                                           "role": "building_leader", "buildings": ["3 栋"]})
    assert again.status_code == 201
    assert [x["buildings"] for x in admin.get(f"{GRIDS}/{grid.id}/leaders").json["items"]] == [[], ["3 栋"], []]
    # the role is held on the grid's Party group: each of them reports straight to "reported"
    for api in (chief, building, lane):
        response = report(api)
        assert response.status_code == 201, response.json
        assert response.json["event"]["state"] == "reported"
    # and a leader sees the grid and its leaders
    assert chief.get(f"{GRIDS}/{grid.id}").status_code == 200
    assert len(lane.get(f"{GRIDS}/{grid.id}/leaders").json["items"]) == 3


def test_leader_input_is_checked(admin, grid, login):
    someone = login("o-someone")
    assert_error(admin.post(f"{GRIDS}/{grid.id}/leaders", json={"user_id": someone.user_id,
                                                                "role": "org_admin"}),
                 422, "validation_failed")
    assert_error(admin.post(f"{GRIDS}/{grid.id}/leaders", json={"user_id": 999_999, "role": "grid_leader"}),
                 404, "user_not_found")
    assert_error(admin.post(f"{GRIDS}/999999/leaders", json={"user_id": someone.user_id,
                                                             "role": "grid_leader"}), 404, "not_found")


# ---- scope -------------------------------------------------------------------------------------

def test_admin_of_another_community_sees_nothing(admin_b, grid, leader, tree, resident):
    for response in (admin_b.get(f"{GRIDS}/{grid.id}"),
                     admin_b.patch(f"{GRIDS}/{grid.id}", json={"name": "改名"}),
                     admin_b.get(f"{GRIDS}/{grid.id}/leaders"),
                     admin_b.post(f"{GRIDS}/{grid.id}/leaders", json={"user_id": resident.user_id,
                                                                     "role": "grid_leader"}),
                     admin_b.get(f"{GRIDS}?community_id={tree.a}"),
                     resident.get(f"{GRIDS}/{grid.id}"),
                     resident.get(f"{GRIDS}/{grid.id}/leaders")):
        assert_error(response, 404, "not_found")
    assert admin_b.get(GRIDS).json["items"] == []
    assert resident.get(GRIDS).json["items"] == []


def test_a_point_never_reveals_another_communitys_grid(admin, grid, leader, admin_b, leader_b, login,
                                                       street_admin, make_grid, make_leader, tree):
    from app.extensions import db
    from app.orgs.models import MemberCommunityReport

    other_grid = make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    other_leader = make_leader(admin, other_grid.id)
    stranger, neighbour = login("o-stranger"), login("o-neighbour")
    for api in (admin_b, leader_b, stranger, neighbour, other_leader):
        answer = api.get(at(INSIDE))
        assert answer.status_code == 200 and answer.json == {"items": [], "next_cursor": None}
        assert "boundary" not in answer.get_data(as_text=True)
    # those over it, its leaders and the people of its community do see it
    db.session.add(MemberCommunityReport(user_id=neighbour.user_id, community_id=tree.a, state="confirmed"))
    db.session.commit()
    for api in (admin, street_admin, leader, neighbour):
        assert [g["id"] for g in api.get(at(INSIDE)).json["items"]] == [grid.id]
    assert [g["id"] for g in other_leader.get(at(INSIDE_A2)).json["items"]] == [other_grid.id]
    # where grids of two communities overlap, each side finds its own
    overlapping = make_grid(admin_b, tree.b, "新江边界网格", SQUARE)
    assert [g["id"] for g in admin_b.get(at(INSIDE)).json["items"]] == [overlapping.id]
    assert [g["id"] for g in admin.get(at(INSIDE)).json["items"]] == [grid.id]


def test_list_is_the_scope_and_keyset_paginated(admin, admin_b, street_admin, tree, make_grid):
    a_ids = [make_grid(admin, tree.a, f"A{i}").id for i in range(3)]
    b_ids = [make_grid(admin_b, tree.b, f"B{i}").id for i in range(2)]
    assert [g["id"] for g in admin.get(GRIDS).json["items"]] == a_ids
    assert [g["id"] for g in admin_b.get(GRIDS).json["items"]] == b_ids
    first = street_admin.get(f"{GRIDS}?limit=3").json
    assert [g["id"] for g in first["items"]] == sorted(a_ids + b_ids)[:3] and first["next_cursor"]
    second = street_admin.get(f"{GRIDS}?limit=3&cursor={first['next_cursor']}").json
    assert [g["id"] for g in second["items"]] == sorted(a_ids + b_ids)[3:] and second["next_cursor"] is None


# ---- categories and time limits ------------------------------------------------------------------

def test_default_categories_and_limits(resident):
    categories = resident.get("/api/v1/grid-event-categories")
    assert categories.status_code == 200
    by_code = {c["code"]: c for c in categories.json["items"]}
    assert {"facilities", "sanitation", "safety", "dispute", "illegal_construction", "epidemic",
            "other"} <= set(by_code)
    assert by_code["facilities"] == {"code": "facilities", "name": "设施损坏", "level": "community",
                                     "active": True}
    assert by_code["illegal_construction"]["level"] == "street"
    table = resident.get("/api/v1/grid-time-limits")
    assert table.status_code == 200
    rows = {(r["category"], r["urgency"]): r for r in table.json["items"]}
    assert set(rows) == {(code, urgency) for code in by_code for urgency in ("normal", "urgent")}
    assert all(r["default"] for r in rows.values())
    assert rows[("facilities", "urgent")]["accept_hours"] == 1
    assert rows[("facilities", "normal")]["accept_hours"] == 24
    assert rows[("facilities", "normal")]["handle_hours"] == 5 * 24


def walk(api, url, limit):
    """Every page of a collection, following next_cursor; the items and the pages' count."""
    items, pages, cursor = [], 0, None
    while True:
        response = api.get(url, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json
        items += response.json["items"]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items, pages


def test_categories_and_limits_are_keyset_pages(district_admin, resident, count_queries):
    district_admin.put("/api/v1/grid-event-categories/flooding", json={"name": "内涝积水"})
    district_admin.put("/api/v1/grid-time-limits/flooding/normal",
                       json={"accept_hours": 2, "handle_hours": 48, "verify_hours": 12})
    whole = resident.get("/api/v1/grid-event-categories?limit=100").json
    assert whole["next_cursor"] is None
    codes = [c["code"] for c in whole["items"]]
    assert codes == sorted(codes) and len(codes) == 8
    paged, pages = walk(resident, "/api/v1/grid-event-categories", 3)
    assert [c["code"] for c in paged] == codes and pages == 3
    table = resident.get("/api/v1/grid-time-limits?limit=100").json
    assert table["next_cursor"] is None
    keys = [(r["category"], r["urgency"]) for r in table["items"]]
    assert keys == [(code, urgency) for code in codes for urgency in ("urgent", "normal")]
    with count_queries() as q:
        paged, pages = walk(resident, "/api/v1/grid-time-limits", 5)
    assert paged == table["items"] and pages == 4
    assert q.count <= 4 * 3  # a page is one query (beside the token's and the limiter's)
    assert [r["default"] for r in paged if r["category"] == "flooding"] == [True, False]
    for url in ("/api/v1/grid-event-categories", "/api/v1/grid-time-limits"):
        assert_error(resident.get(f"{url}?cursor=nope"), 422, "validation_failed")


def test_leaders_are_a_keyset_page(admin, grid, login):
    someone = [login(f"o-leader-{i}") for i in range(3)]
    for api in someone:
        assert admin.post(f"{GRIDS}/{grid.id}/leaders",
                          json={"user_id": api.user_id, "role": "lane_leader"}).status_code == 201
    leaders, pages = walk(admin, f"{GRIDS}/{grid.id}/leaders", 2)
    assert [x["user_id"] for x in leaders] == [api.user_id for api in someone] and pages == 2


def test_district_admin_changes_categories(district_admin, resident):
    changed = district_admin.put("/api/v1/grid-event-categories/facilities",
                                 json={"name": "公共设施损坏", "level": "street"})
    assert changed.status_code == 200, changed.json
    assert changed.json == {"code": "facilities", "name": "公共设施损坏", "level": "street", "active": True}
    added = district_admin.put("/api/v1/grid-event-categories/flooding", json={"name": "内涝积水"})
    assert added.status_code == 200, added.json
    assert added.json["level"] == "community"
    codes = {c["code"]: c for c in resident.get("/api/v1/grid-event-categories").json["items"]}
    assert codes["facilities"]["name"] == "公共设施损坏" and "flooding" in codes
    # an inactive category can no longer be reported
    assert district_admin.put("/api/v1/grid-event-categories/flooding",
                              json={"name": "内涝积水", "active": False}).status_code == 200
    assert_error(report(district_admin, category="flooding"), 422, "unknown_category")
    assert_error(report(district_admin, category="no_such_thing"), 422, "unknown_category")


@pytest.mark.parametrize("code", ["Bad", "x", "has space", "a" * 40, "1abc"])
def test_category_codes_are_checked(district_admin, code):
    response = district_admin.put(f"/api/v1/grid-event-categories/{code}", json={"name": "坏类别"})
    assert_error(response, 422, "validation_failed")


def test_category_input_is_checked(district_admin):
    for body in ({}, {"name": ""}, {"name": "x", "level": "province"}):
        assert_error(district_admin.put("/api/v1/grid-event-categories/facilities", json=body),
                     422, "validation_failed")


def test_only_district_admins_change_categories(admin, street_admin, leader, resident):
    for api in (admin, street_admin, leader, resident):
        assert_error(api.put("/api/v1/grid-event-categories/facilities", json={"name": "改"}), 403, "forbidden")
        assert_error(api.put("/api/v1/grid-time-limits/facilities/normal",
                             json={"accept_hours": 1, "handle_hours": 2, "verify_hours": 3}), 403, "forbidden")
    assert {c["name"] for c in resident.get("/api/v1/grid-event-categories").json["items"]} >= {"设施损坏"}
    assert all(r["default"] for r in resident.get("/api/v1/grid-time-limits").json["items"])


def test_district_admin_changes_time_limits(district_admin, resident):
    body = {"accept_hours": 2, "handle_hours": 48, "verify_hours": 12}
    response = district_admin.put("/api/v1/grid-time-limits/safety/urgent", json=body)
    assert response.status_code == 200, response.json
    assert response.json == {**body, "category": "safety", "urgency": "urgent", "default": False}
    rows = {(r["category"], r["urgency"]): r for r in resident.get("/api/v1/grid-time-limits").json["items"]}
    assert rows[("safety", "urgent")] == response.json
    assert rows[("safety", "normal")]["default"] is True
    changed = district_admin.put("/api/v1/grid-time-limits/safety/urgent", json={**body, "accept_hours": 0.5})
    assert changed.json["accept_hours"] == 0.5


def test_time_limit_input_is_checked(district_admin):
    good = {"accept_hours": 2, "handle_hours": 48, "verify_hours": 12}
    assert_error(district_admin.put("/api/v1/grid-time-limits/no_such/normal", json=good), 422, "unknown_category")
    assert_error(district_admin.put("/api/v1/grid-time-limits/safety/soon", json=good), 404, "not_found")
    for bad in ({**good, "accept_hours": 0}, {**good, "handle_hours": -1}, {"accept_hours": 2},
                {**good, "verify_hours": "many"}):
        assert_error(district_admin.put("/api/v1/grid-time-limits/safety/normal", json=bad),
                     422, "validation_failed")
