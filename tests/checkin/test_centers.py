"""Service centers: create, update, validation, listing, delete, key rotation,
display devices, and who may do what."""
from __future__ import annotations

import pytest

from tests.checkin.conftest import CENTER_LAT, CENTER_LNG, HERE, near
from tests.conftest import assert_error

CENTERS = "/api/v1/centers"


def body(tree, **fields):
    return {"org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
            "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}, **fields}


# ---- create / read / update ------------------------------------------------------

def test_create_answers_201_with_location_and_defaults(admin, tree):
    response = admin.post(CENTERS, json=body(tree))
    assert response.status_code == 201, response.json
    center = response.json
    assert response.headers["Location"].endswith(f"{CENTERS}/{center['id']}")
    assert center["org"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    assert center["location"] == {"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "gcj02"}
    assert center["radius_m"] == 200
    assert center["code_mode"] == "rotating"
    assert center["rotation_seconds"] == 30
    assert center["grace_seconds"] == 30
    assert center["duplicate_window_seconds"] is None
    assert center["timezone"] == "Asia/Shanghai"
    assert center["opening_hours"] == {} and center["closed_days"] == []
    assert center["key_version"] == 1
    assert "code_key" not in center  # the HMAC key never leaves the server
    assert admin.get(response.headers["Location"]).json == center


def test_create_with_hours_closures_and_settings(admin, tree):
    hours = {"mon": [["08:30", "12:00"], ["14:00", "18:00"]], "sat": [["09:00", "24:00"]]}
    response = admin.post(CENTERS, json=body(
        tree, org_id=tree.a1, radius_m=150, opening_hours=hours, timezone="Asia/Urumqi",
        closed_days=[{"day": "2026-10-01", "reason": "国庆"}, {"day": "2027-01-01"}],
        code_mode="static", rotation_seconds=60, grace_seconds=0, duplicate_window_seconds=3600))
    assert response.status_code == 201, response.json
    center = response.json
    assert center["org"]["id"] == tree.a1  # any org in the admin's subtree may own one
    assert center["opening_hours"] == hours
    assert center["closed_days"] == [{"day": "2026-10-01", "reason": "国庆"},
                                     {"day": "2027-01-01", "reason": ""}]
    assert (center["radius_m"], center["timezone"], center["code_mode"]) == (150, "Asia/Urumqi", "static")
    assert (center["rotation_seconds"], center["grace_seconds"], center["duplicate_window_seconds"]) == (60, 0, 3600)


def test_a_wgs84_location_is_stored_as_gcj02(admin, tree):
    from app.common.geo import wgs84_to_gcj02

    response = admin.post(CENTERS, json=body(
        tree, location={"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "wgs84"}))
    assert response.status_code == 201, response.json
    expected = wgs84_to_gcj02(CENTER_LAT, CENTER_LNG)
    location = response.json["location"]
    assert location["coord_system"] == "gcj02"
    assert location["lat"] == pytest.approx(expected.lat) and location["lng"] == pytest.approx(expected.lng)
    assert abs(location["lat"] - CENTER_LAT) + abs(location["lng"] - CENTER_LNG) > 0.003


def test_update_changes_only_what_is_sent(admin, center):
    url = f"{CENTERS}/{center.id}"
    response = admin.patch(url, json={
        "name": "丰泽社区党群服务中心（新址）", "radius_m": 300,
        "opening_hours": {"thu": [["09:00", "17:00"]]}, "timezone": "Asia/Hong_Kong",
        "closed_days": [{"day": "2026-12-25", "reason": "维修"}],
        "location": {"lat": CENTER_LAT + 0.001, "lng": CENTER_LNG}})
    assert response.status_code == 200, response.json
    updated = response.json
    assert updated["name"] == "丰泽社区党群服务中心（新址）"
    assert updated["radius_m"] == 300
    assert updated["opening_hours"] == {"thu": [["09:00", "17:00"]]}
    assert updated["timezone"] == "Asia/Hong_Kong"
    assert updated["closed_days"] == [{"day": "2026-12-25", "reason": "维修"}]
    assert updated["location"]["lat"] == pytest.approx(CENTER_LAT + 0.001)
    assert updated["address"] == center.address and updated["code_mode"] == "rotating"
    assert admin.get(url).json == updated
    # Back to "always open", and the same-day rule.
    response = admin.patch(url, json={"opening_hours": {}, "duplicate_window_seconds": None})
    assert response.json["opening_hours"] == {} and response.json["duplicate_window_seconds"] is None


@pytest.mark.parametrize("fields, bad", [
    ({"opening_hours": {"monday": [["08:00", "12:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["8:00", "12:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["08:00", "25:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["12:00", "08:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["08:00", "08:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["08:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": ["08:00-12:00"]}}, "opening_hours"),
    ({"opening_hours": {"mon": [[800, 1200]]}}, "opening_hours"),
    ({"opening_hours": {"mon": "08:00-12:00"}}, "opening_hours"),
    ({"opening_hours": [["08:00", "12:00"]]}, "opening_hours"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "+08:00"}, "timezone"),
    ({"timezone": None}, "timezone"),
    ({"closed_days": [{"day": "2026-02-30"}]}, "closed_days"),
    ({"closed_days": ["2026-10-01"]}, "closed_days"),
    ({"radius_m": 5}, "radius_m"),
    ({"radius_m": 50_000}, "radius_m"),
    ({"code_mode": "dynamic"}, "code_mode"),
    ({"rotation_seconds": 1}, "rotation_seconds"),
    ({"grace_seconds": -1}, "grace_seconds"),
    ({"duplicate_window_seconds": 10}, "duplicate_window_seconds"),
    ({"location": {"lat": 91, "lng": CENTER_LNG}}, "location"),
    ({"location": {"lat": CENTER_LAT, "lng": 181}}, "location"),
    ({"location": {"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "bd09"}}, "location"),
    ({"name": ""}, "name"),
    ({"secret": 1}, "secret"),
])
def test_invalid_fields_answer_422_on_create_and_update(admin, tree, center, fields, bad):
    error = assert_error(admin.post(CENTERS, json=body(tree, **fields)), 422, "validation_failed")
    assert bad in error["details"]["fields"], error
    error = assert_error(admin.patch(f"{CENTERS}/{center.id}", json=fields), 422, "validation_failed")
    assert bad in error["details"]["fields"], error


def test_create_needs_name_location_and_org(admin, tree):
    error = assert_error(admin.post(CENTERS, json={"org_id": tree.a}), 422, "validation_failed")
    assert set(error["details"]["fields"]) == {"name", "location"}
    error = assert_error(admin.post(CENTERS, json={"name": "x", "location": HERE}), 422, "validation_failed")
    assert "org_id" in error["details"]["fields"]


def test_nothing_is_stored_by_a_refused_create(admin, tree):
    assert_error(admin.post(CENTERS, json=body(tree, timezone="Nowhere/Town")), 422, "validation_failed")
    assert admin.get(CENTERS, query_string={"org_id": tree.a}).json["items"] == []


# ---- who may manage ------------------------------------------------------------------

def test_only_admins_of_the_subtree_create_centers(login_as, tree, admin):
    center_admin = login_as("center_admin", tree.a)
    assert_error(center_admin.post(CENTERS, json=body(tree)), 403, "forbidden")
    assert_error(admin.post(CENTERS, json=body(tree, org_id=tree.b)), 404, "not_found")
    assert_error(admin.post(CENTERS, json=body(tree, org_id=tree.street)), 404, "not_found")
    assert_error(admin.post(CENTERS, json=body(tree, org_id=999_999)), 404, "not_found")
    assert_error(login_as(None).post(CENTERS, json=body(tree)), 404, "not_found")
    street_admin = login_as("org_admin", tree.street)
    assert street_admin.post(CENTERS, json=body(tree, org_id=tree.b)).status_code == 201


def test_a_center_admin_operates_but_does_not_manage(login_as, tree, center):
    center_admin = login_as("center_admin", tree.a)
    url = f"{CENTERS}/{center.id}"
    assert_error(center_admin.patch(url, json={"name": "x"}), 403, "forbidden")
    assert_error(center_admin.delete(url), 403, "forbidden")
    assert_error(center_admin.post(f"{url}/rotate-key"), 403, "forbidden")
    assert center_admin.get(f"{url}/display-code").status_code == 200
    assert center_admin.get(f"{url}/occupancy").status_code == 200
    assert center_admin.get(f"{url}/checkins").status_code == 200
    assert center_admin.post(f"{url}/display-devices", json={"name": "大厅屏"}).status_code == 201


def test_another_community_sees_404_everywhere(login_as, tree, center):
    other = login_as("org_admin", tree.b)
    url = f"{CENTERS}/{center.id}"
    assert_error(other.patch(url, json={"name": "x"}), 404, "not_found")
    assert_error(other.delete(url), 404, "not_found")
    assert_error(other.post(f"{url}/rotate-key"), 404, "not_found")
    for path in ("/checkins", "/occupancy", "/display-code", "/display-code.png", "/display-code.svg",
                 "/display-devices", "/poster.png"):
        assert_error(other.get(url + path), 404, "not_found")
    assert_error(other.post(f"{url}/display-devices", json={"name": "x"}), 404, "not_found")
    # A missing center looks the same.
    assert_error(other.get(f"{CENTERS}/999999/checkins"), 404, "not_found")
    # Centers themselves are public places: anyone may read one.
    assert other.get(url).status_code == 200
    assert login_as(None).get(url).status_code == 200


# ---- listing ---------------------------------------------------------------------------

def test_list_by_org_is_paginated_and_scoped_to_the_subtree(admin, login_as, tree, make_center):
    in_a = [make_center(name=f"A{i}").id for i in range(3)]
    in_a1 = [make_center(name="A1 站", org_id=tree.a1).id]
    street_admin = login_as("org_admin", tree.street)
    in_b = street_admin.post(CENTERS, json=body(tree, org_id=tree.b, name="B")).json["id"]

    seen, cursor = [], None
    while True:
        query = {"org_id": tree.a, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get(CENTERS, query_string=query).json
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == in_a + in_a1
    everything = admin.get(CENTERS, query_string={"org_id": tree.street, "limit": 100}).json
    assert [c["id"] for c in everything["items"]] == in_a + in_a1 + [in_b]
    assert everything["next_cursor"] is None
    assert [c["id"] for c in admin.get(CENTERS, query_string={"org_id": tree.a1}).json["items"]] == in_a1
    assert_error(admin.get(CENTERS, query_string={"org_id": 999_999}), 404, "not_found")
    assert_error(admin.get(CENTERS, query_string={"cursor": "garbage"}), 422, "validation_failed")
    assert_error(admin.get(CENTERS, query_string={"limit": 101}), 422, "validation_failed")


def test_list_near_a_point_is_sorted_by_distance(admin, make_center):
    def at(metres_north, name):
        point = near(metres_north)
        return make_center(name=name, location={"lat": point["lat"], "lng": point["lng"]}).id

    far = at(1500, "far")
    here = at(0, "here")
    middle = at(400, "middle")
    out = at(9000, "out of reach")
    query = {"near": f"{CENTER_LAT},{CENTER_LNG}", "radius_m": 2000}
    page = admin.get(CENTERS, query_string=query).json
    assert [c["id"] for c in page["items"]] == [here, middle, far]
    assert [c["distance_m"] for c in page["items"]] == [0, pytest.approx(400, abs=2), pytest.approx(1500, abs=5)]
    assert page["next_cursor"] is None
    wide = admin.get(CENTERS, query_string={**query, "radius_m": 10_000}).json
    assert [c["id"] for c in wide["items"]] == [here, middle, far, out]
    # limit keeps the nearest.
    assert [c["id"] for c in admin.get(CENTERS, query_string={**query, "limit": 2}).json["items"]] == [here, middle]
    # Plain lists carry no distance.
    assert "distance_m" not in admin.get(CENTERS).json["items"][0]


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_near_pages_return_every_center_inside_once_nearest_first(admin, make_center, limit):
    """The near list keeps its cursor (issue 15): page by page, every center
    in the radius exactly once, in distance order, ties by id."""
    inside = []
    for i, metres in enumerate([1200, 0, 300, 300, 1900, 700, 50, 300]):
        point = near(metres)
        inside.append(make_center(name=f"in{i}", location={"lat": point["lat"], "lng": point["lng"]}).id)
    for metres in (2100, 5000):
        point = near(metres)
        make_center(name="outside", location={"lat": point["lat"], "lng": point["lng"]})
    query = {"near": f"{CENTER_LAT},{CENTER_LNG}", "radius_m": 2000, "limit": limit}
    seen, cursor = [], None
    while True:
        page = admin.get(CENTERS, query_string={**query, **({"cursor": cursor} if cursor else {})}).json
        assert len(page["items"]) <= limit
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [c["id"] for c in seen]
    assert len(ids) == len(set(ids)) and set(ids) == set(inside)
    keys = [(c["distance_m"], c["id"]) for c in seen]
    assert keys == sorted(keys)


@pytest.mark.parametrize("value", ["21.8", "abc,def", "91,111", "21.8,111.9,3", ""])
def test_a_bad_near_is_422(admin, value):
    assert_error(admin.get(CENTERS, query_string={"near": value}), 422, "validation_failed")


def test_list_centers_query_count_does_not_grow_with_rows(admin, tree, make_center, count_queries):
    for i in range(3):
        make_center(name=f"c{i}")

    def counted():
        with count_queries() as q:
            response = admin.get(CENTERS, query_string={"org_id": tree.a, "limit": 100})
        assert response.status_code == 200
        return len(response.json["items"]), q.count

    few = counted()
    for i in range(12):
        make_center(name=f"more{i}")
    many = counted()
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]
    near_query = {"near": f"{CENTER_LAT},{CENTER_LNG}", "limit": 100}
    with count_queries() as q:
        assert len(admin.get(CENTERS, query_string=near_query).json["items"]) == 15
    assert q.count <= many[1]


# ---- delete ------------------------------------------------------------------------------

def test_delete_retires_the_center(admin, tree, center, make_center):
    other = make_center(name="留下的")
    url = f"{CENTERS}/{center.id}"
    response = admin.delete(url)
    assert response.status_code == 204 and response.data == b""
    assert_error(admin.get(url), 404, "not_found")
    assert_error(admin.delete(url), 404, "not_found")
    assert_error(admin.patch(url, json={"name": "x"}), 404, "not_found")
    assert_error(admin.get(f"{url}/display-code"), 404, "not_found")
    assert [c["id"] for c in admin.get(CENTERS, query_string={"org_id": tree.a}).json["items"]] == [other.id]
    near_query = {"near": f"{CENTER_LAT},{CENTER_LNG}"}
    assert [c["id"] for c in admin.get(CENTERS, query_string=near_query).json["items"]] == [other.id]


# ---- key rotation -------------------------------------------------------------------------

def test_rotate_key_bumps_the_version_and_changes_the_code(admin, center, display_code):
    before = display_code(center.id)["qr_text"]
    response = admin.post(f"{CENTERS}/{center.id}/rotate-key")
    assert response.status_code == 200, response.json
    assert response.json["key_version"] == 2
    assert display_code(center.id)["qr_text"] != before
    assert admin.post(f"{CENTERS}/{center.id}/rotate-key").json["key_version"] == 3


# ---- display devices ----------------------------------------------------------------------

def test_devices_create_list_revoke(admin, center, make_center, client):
    url = f"{CENTERS}/{center.id}/display-devices"
    response = admin.post(url, json={"name": "一楼大厅屏"})
    assert response.status_code == 201, response.json
    device = response.json
    assert response.headers["Location"].endswith(url)
    assert device["name"] == "一楼大厅屏" and device["revoked_at"] is None
    token = device["device_token"]
    assert token.startswith("dev_") and len(token) > 30
    second = admin.post(url, json={"name": "二楼屏"}).json

    listed = admin.get(url).json
    assert listed["next_cursor"] is None
    assert [d["id"] for d in listed["items"]] == [device["id"], second["id"]]
    assert all("device_token" not in d for d in listed["items"])  # shown once only

    code_url = f"{CENTERS}/{center.id}/display-code"
    assert client.get(code_url, query_string={"device_token": token}).status_code == 200
    assert client.get(code_url, headers={"X-Device-Token": token}).status_code == 200

    response = admin.delete(f"{url}/{device['id']}")
    assert response.status_code == 204
    assert admin.delete(f"{url}/{device['id']}").status_code == 204  # revoking twice is harmless
    listed = admin.get(url).json["items"]
    assert listed[0]["revoked_at"] is not None and listed[1]["revoked_at"] is None
    assert_error(client.get(code_url, query_string={"device_token": token}), 401, "invalid_device_token")
    assert_error(client.get(code_url, headers={"X-Device-Token": token}), 401, "invalid_device_token")
    assert_error(client.get(code_url + ".png", query_string={"device_token": token}), 401, "invalid_device_token")
    assert client.get(code_url, query_string={"device_token": second["device_token"]}).status_code == 200

    # A device of one center cannot show another's code; nor can a made-up token.
    other = make_center(name="另一个中心")
    other_url = f"{CENTERS}/{other.id}/display-code"
    assert_error(client.get(other_url, query_string={"device_token": second["device_token"]}),
                 401, "invalid_device_token")
    assert_error(client.get(code_url, query_string={"device_token": "dev_made_up"}), 401, "invalid_device_token")
    # Without any credential: 401 as for any API call.
    assert_error(client.get(code_url), 401, "unauthorized")
    # Revoking a device of another center, or an unknown one: 404.
    other_device = admin.post(f"{CENTERS}/{other.id}/display-devices", json={"name": "x"}).json
    assert_error(admin.delete(f"{url}/{other_device['id']}"), 404, "not_found")
    assert_error(admin.delete(f"{url}/999999"), 404, "not_found")


def test_devices_are_listed_in_keyset_pages(admin, center):
    url = f"{CENTERS}/{center.id}/display-devices"
    made = [admin.post(url, json={"name": f"屏{i}"}).json["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = admin.get(url, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.json
        assert len(page.json["items"]) <= 2
        seen += [d["id"] for d in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert_error(admin.get(url, query_string={"cursor": "not-a-cursor"}), 422, "validation_failed")
    assert_error(admin.get(url, query_string={"limit": 101}), 422, "validation_failed")


def test_device_name_is_required(admin, center):
    url = f"{CENTERS}/{center.id}/display-devices"
    assert_error(admin.post(url, json={}), 422, "validation_failed")
    assert_error(admin.post(url, json={"name": ""}), 422, "validation_failed")


def test_a_deleted_centers_devices_stop_working(admin, center, client):
    token = admin.post(f"{CENTERS}/{center.id}/display-devices", json={"name": "屏"}).json["device_token"]
    admin.delete(f"{CENTERS}/{center.id}")
    response = client.get(f"{CENTERS}/{center.id}/display-code", query_string={"device_token": token})
    assert_error(response, 404, "not_found")
