"""GET /api/v1/stats/badges: the counts match the events made, per subtree."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.badges.helpers import (
    DUTY,
    PLATES,
    POSTS,
    SCAN,
    T0,
    VERIFY,
    apply_plate,
    approved_plate,
    assign,
    business_zone,
    make_post,
    post_plate_code,
)
from tests.conftest import assert_error

STATS = "/api/v1/stats/badges"
SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY_PLATES = {"pending": 0, "approved": 0, "rejected": 0, "revoked": 0}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admins(login_as, tree):
    return SimpleNamespace(a=login_as("org_admin", tree.a), b=login_as("org_admin", tree.b),
                           street=login_as("org_admin", tree.street))


def stats(api, org_id, **period):
    """The figures without their period; by default the 30 days ending on T0's day (Shanghai)."""
    response = api.get(STATS, query_string={"org_id": org_id, **period})
    assert response.status_code == 200, response.json
    today = T0.astimezone(SHANGHAI).date()
    expected = period or {"from": (today - dt.timedelta(days=29)).isoformat(), "to": today.isoformat()}
    body = response.json
    assert {"from": body.pop("from"), "to": body.pop("to")} == expected
    return body


@pytest.fixture
def world(admins, member, login, login_as, tree):
    """Events in community A, community B and a business zone under the street."""
    resident, neighbour = login("o-resident"), login("o-neighbour")
    m_a1 = member("陈小文", "13800138000", branch_id=tree.a1)
    m_a2 = member("王五", "13800138001", branch_id=tree.a2)
    m_b1 = member("李四", "13800138002", branch_id=tree.b1)

    # identities shown: 2 in A (a1 twice), 1 in B; invalid ones do not count
    for verifier, holder in ((resident, m_a1), (neighbour, m_a1), (resident, m_b1)):
        assert verifier.post(VERIFY, json={"code": holder.get("/api/v1/me/badge").json["qr_text"]}).json["valid"]
    assert resident.post(VERIFY, json={"code": "PB1.e30.AAAA"}).json["valid"] is False
    assert resident.post(VERIFY, json={"code": "hello"}).json["valid"] is False

    # posts: two in A (one on branch a1), one in B
    post_a = make_post(admins.a, tree.a, name="A 示范岗")
    post_a1 = make_post(admins.a, tree.a1, name="A1 示范岗")
    post_b = make_post(admins.b, tree.b, name="B 示范岗")
    plate_a, plate_a1, plate_b = (post_plate_code(admins.street, p["id"]) for p in (post_a, post_a1, post_b))
    assign(admins.a, post_a["id"], m_a1.identity["id"])
    assign(admins.a, post_a1["id"], m_a2.identity["id"])
    assign(admins.b, post_b["id"], m_b1.identity["id"])

    # on duty now: m_a1 at post_a; m_a2 went on and off; m_b1 on at post_b
    for api, plate in ((m_a1, plate_a), (m_a2, plate_a1), (m_a2, plate_a1), (m_b1, plate_b)):
        assert api.post(DUTY, json={"code": plate}).status_code == 200

    # post plate scans: 3 in A, 1 in B; refused codes do not count
    for api, plate in ((resident, plate_a), (neighbour, plate_a), (resident, plate_a1), (resident, plate_b)):
        assert api.post(SCAN, json={"code": plate}).status_code == 200
    assert resident.post(SCAN, json={"code": "garbage"}).status_code == 400

    # ratings: A 5, 4 and 3 (avg 4.0), B 2; refused ones do not count
    for api, post, score in ((resident, post_a, 5), (neighbour, post_a, 4), (resident, post_a1, 3),
                             (resident, post_b, 2)):
        assert api.post(f"{POSTS}/{post['id']}/ratings", json={"score": score}).status_code == 201
    assert resident.post(f"{POSTS}/{post_a['id']}/ratings", json={"score": 1}).status_code == 409
    assert resident.post(f"{POSTS}/{post_b['id']}/ratings", json={"score": 9}).status_code == 422

    # merchant plates in a zone under the street: approved + scanned twice, pending, rejected
    zone = business_zone(tree.street)
    zone_admin = login_as("org_admin", zone)
    _, code = approved_plate(m_a1, zone_admin, zone, shop_name="一号店")
    apply_plate(m_a2, zone, shop_name="二号店")
    rejected = apply_plate(m_b1, zone, shop_name="三号店")
    zone_admin.post(f"{PLATES}/{rejected['id']}/reject", json={"reason": "不在商圈"})
    for api in (resident, neighbour):
        assert api.post(SCAN, json={"code": code}).json["valid"] is True

    return SimpleNamespace(zone=zone, zone_admin=zone_admin, m_a1=m_a1, m_a2=m_a2, resident=resident,
                           post_a=post_a, plate_a=plate_a, code=code)


def test_counts_per_subtree(admins, world, tree, login_as):
    assert stats(admins.a, tree.a) == {
        "org_id": tree.a, "identities_shown": 2, "posts": 2, "on_duty_now": 1,
        "post_plate_scans": 3, "merchant_plate_scans": 0, "ratings": 3, "average_rating": 4.0,
        "merchant_plates": EMPTY_PLATES}
    assert stats(admins.a, tree.a1) == {
        "org_id": tree.a1, "identities_shown": 2, "posts": 1, "on_duty_now": 0,
        "post_plate_scans": 1, "merchant_plate_scans": 0, "ratings": 1, "average_rating": 3.0,
        "merchant_plates": EMPTY_PLATES}
    assert stats(admins.a, tree.a2)["identities_shown"] == 0
    assert stats(admins.b, tree.b) == {
        "org_id": tree.b, "identities_shown": 1, "posts": 1, "on_duty_now": 1,
        "post_plate_scans": 1, "merchant_plate_scans": 0, "ratings": 1, "average_rating": 2.0,
        "merchant_plates": EMPTY_PLATES}
    assert stats(world.zone_admin, world.zone) == {
        "org_id": world.zone, "identities_shown": 0, "posts": 0, "on_duty_now": 0,
        "post_plate_scans": 0, "merchant_plate_scans": 2, "ratings": 0, "average_rating": None,
        "merchant_plates": {"pending": 1, "approved": 1, "rejected": 1, "revoked": 0}}
    everything = {
        "identities_shown": 3, "posts": 3, "on_duty_now": 2, "post_plate_scans": 4,
        "merchant_plate_scans": 2, "ratings": 4, "average_rating": 3.5,
        "merchant_plates": {"pending": 1, "approved": 1, "rejected": 1, "revoked": 0}}
    assert stats(admins.street, tree.street) == {"org_id": tree.street, **everything}
    district = login_as("district_admin", tree.district)
    assert stats(district, tree.district) == {"org_id": tree.district, **everything}
    # a center admin reads the counts of their subtree
    assert stats(login_as("center_admin", tree.a), tree.a)["posts"] == 2


def test_admin_of_a_sees_only_a(admins, world, tree, login_as):
    for org_id in (tree.b, tree.b1, tree.street, tree.district, world.zone):
        assert_error(admins.a.get(STATS, query_string={"org_id": org_id}), 404, "not_found")
    assert_error(world.zone_admin.get(STATS, query_string={"org_id": tree.a}), 404, "not_found")
    assert_error(world.resident.get(STATS, query_string={"org_id": tree.a}), 404, "not_found")
    assert_error(world.m_a1.get(STATS, query_string={"org_id": tree.a}), 404, "not_found")
    assert_error(admins.a.get(STATS, query_string={"org_id": 999999}), 404, "not_found")
    assert_error(admins.a.get(STATS, query_string={"org_id": 2**31}), 422, "validation_failed")
    assert_error(admins.a.get(STATS), 422, "validation_failed")


def test_counts_follow_new_events(admins, world, tree, clock):
    before = stats(admins.street, tree.street)
    # off duty, another scan and rating, a revoked plate
    assert world.m_a1.post(DUTY, json={"code": world.plate_a}).json["on_duty"] is False
    world.m_a2.post(SCAN, json={"code": world.plate_a})
    world.m_a2.post(f"{POSTS}/{world.post_a['id']}/ratings", json={"score": 1})
    plate_id = world.zone_admin.get(PLATES, query_string={"zone_id": world.zone, "state": "approved"}).json[
        "items"][0]["id"]
    world.zone_admin.post(f"{PLATES}/{plate_id}/revoke", json={})
    revoked = world.resident.post(SCAN, json={"code": world.code})  # answered, but not counted
    assert revoked.status_code == 200 and revoked.json["valid"] is False
    after = stats(admins.street, tree.street)
    assert after["on_duty_now"] == before["on_duty_now"] - 1
    assert after["post_plate_scans"] == before["post_plate_scans"] + 1
    assert after["merchant_plate_scans"] == before["merchant_plate_scans"]
    assert (after["ratings"], after["average_rating"]) == (5, 3.0)
    assert after["merchant_plates"] == {"pending": 1, "approved": 0, "rejected": 1, "revoked": 1}
    assert after["identities_shown"] == before["identities_shown"]


def test_what_residents_did_counts_in_the_period_posts_and_plates_as_they_are(admins, world, tree):
    today = T0.astimezone(SHANGHAI).date()
    before = {"from": (today - dt.timedelta(days=5)).isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()}
    assert stats(admins.street, tree.street, **before) == {
        "org_id": tree.street, "identities_shown": 0, "posts": 3, "on_duty_now": 2, "post_plate_scans": 0,
        "merchant_plate_scans": 0, "ratings": 0, "average_rating": None,
        "merchant_plates": {"pending": 1, "approved": 1, "rejected": 1, "revoked": 0}}
    just_today = {"from": today.isoformat(), "to": today.isoformat()}
    assert stats(admins.street, tree.street, **just_today)["identities_shown"] == 3


def test_empty_subtree_counts_zero(admins, tree):
    assert stats(admins.a, tree.a) == {
        "org_id": tree.a, "identities_shown": 0, "posts": 0, "on_duty_now": 0, "post_plate_scans": 0,
        "merchant_plate_scans": 0, "ratings": 0, "average_rating": None, "merchant_plates": EMPTY_PLATES}


def test_stats_is_a_fixed_number_of_queries(admins, world, tree, count_queries):
    stats(admins.street, tree.street)
    with count_queries() as q:
        stats(admins.street, tree.street)
    assert q.count <= 8  # the user, the node, and one query per count
