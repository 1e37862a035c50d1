"""Check-in statistics per center and per day for a subtree."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.checkin.models import CheckinDailyCount
from app.extensions import db
from tests.checkin import conftest
from tests.checkin.conftest import CENTER_LAT, CENTER_LNG, HERE, T0
from tests.conftest import assert_error

STATS = "/api/v1/stats/checkins"
CENTERS = "/api/v1/centers"
DAY1, DAY2 = "2026-11-26", "2026-11-27"
# the check-in tests' fixtures (their conftest is not this directory's)
clock, make_center, scan = conftest.clock, conftest.make_center, conftest.scan


def fresh_tokens(*apis) -> None:
    for api in apis:
        response = api.client.post("/api/v1/auth/refresh",
                                   json={"refresh_token": api.tokens["refresh_token"]})
        assert response.status_code == 200, response.json
        api.tokens = response.json


@pytest.fixture
def new_member(member, tree):
    numbers = itertools.count(1)

    def make(branch_id=None):
        return member(phone=f"1360000{next(numbers):04d}", branch_id=branch_id)

    return make


@pytest.fixture
def street_admin(login_as, tree):
    return login_as("org_admin", tree.street)


@pytest.fixture
def two_days(admin, street_admin, tree, make_center, new_member, scan, clock):
    """Check-ins on two days at two centers of A and one of B."""
    a1, a2 = make_center(name="丰泽一站"), make_center(name="丰泽二站", org_id=tree.a1)
    response = street_admin.post(CENTERS, json={"org_id": tree.b, "name": "新江中心",
                                                "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}})
    assert response.status_code == 201, response.json
    b = response.json["id"]
    m1, m2, m3 = new_member(), new_member(), new_member(branch_id=tree.b1)

    def code(center_id):
        response = admin.get(f"{CENTERS}/{center_id}/display-code") if center_id != b else \
            street_admin.get(f"{CENTERS}/{center_id}/display-code")
        assert response.status_code == 200, response.json
        return response.json["qr_text"]

    def check_in(api, center_id, **extra):
        response = scan(api, code(center_id), location=HERE, **extra)
        assert response.status_code in (200, 201), response.json
        return response.json["status"]

    # Day 1: a1 ×2 (+ a repeat that must not count), a2 ×1, b ×1; plus a failure.
    assert check_in(m1, a1.id) == "ok"
    assert check_in(m2, a1.id, purpose="study") == "ok"
    assert check_in(m1, a1.id) == "already_checked_in"
    assert check_in(m1, a2.id) == "ok"
    assert check_in(m3, b) == "ok"
    assert scan(m1, code(a1.id), location=None).status_code == 422
    # Day 2: a1 ×1, b ×1.
    clock.move_to(T0 + dt.timedelta(days=1))
    fresh_tokens(admin, street_admin, m1, m2, m3)
    assert check_in(m1, a1.id) == "ok"
    assert check_in(m2, b) == "ok"
    return a1.id, a2.id, b


def test_counts_per_center_and_day_for_the_whole_subtree(street_admin, tree, two_days):
    a1, a2, b = two_days
    response = street_admin.get(STATS, query_string={"org_id": tree.street, "from": DAY1, "to": DAY2,
                                                     "center_days": "true"})
    assert response.status_code == 200, response.json
    stats = response.json
    assert stats["org_id"] == tree.street and (stats["from"], stats["to"]) == (DAY1, DAY2)
    assert stats["total"] == 6
    assert stats["centers"] == [
        {"center_id": a1, "name": "丰泽一站", "checkins": 3,
         "days": [{"day": DAY1, "checkins": 2}, {"day": DAY2, "checkins": 1}]},
        {"center_id": a2, "name": "丰泽二站", "checkins": 1, "days": [{"day": DAY1, "checkins": 1}]},
        {"center_id": b, "name": "新江中心", "checkins": 2,
         "days": [{"day": DAY1, "checkins": 1}, {"day": DAY2, "checkins": 1}]},
    ]
    assert stats["days"] == [{"day": DAY1, "checkins": 4}, {"day": DAY2, "checkins": 2}]


def test_an_admin_of_a_sees_only_a(admin, login_as, tree, two_days):
    a1, a2, _ = two_days
    stats = admin.get(STATS, query_string={"org_id": tree.a, "from": DAY1, "to": DAY2}).json
    assert stats["total"] == 4
    assert [(c["center_id"], c["checkins"]) for c in stats["centers"]] == [(a1, 3), (a2, 1)]
    assert all("days" not in c for c in stats["centers"])  # per-center days only when asked
    assert stats["days"] == [{"day": DAY1, "checkins": 3}, {"day": DAY2, "checkins": 1}]
    # A sub-node of A narrows it further.
    stats = admin.get(STATS, query_string={"org_id": tree.a1, "from": DAY1, "to": DAY2}).json
    assert [(c["center_id"], c["checkins"]) for c in stats["centers"]] == [(a2, 1)]
    # B, or the street above A, are not visible to A's admin.
    for org in (tree.b, tree.street, tree.district):
        assert_error(admin.get(STATS, query_string={"org_id": org, "from": DAY1, "to": DAY2}), 404, "not_found")
    # A center admin of A may read A's figures; a plain member may not.
    center_admin = login_as("center_admin", tree.a)
    assert center_admin.get(STATS, query_string={"org_id": tree.a, "from": DAY1, "to": DAY2}).json["total"] == 4
    assert_error(login_as(None).get(STATS, query_string={"org_id": tree.a, "from": DAY1, "to": DAY2}),
                 404, "not_found")


def test_the_range_is_inclusive_and_can_be_empty(street_admin, tree, two_days):
    one_day = street_admin.get(STATS, query_string={"org_id": tree.street, "from": DAY2, "to": DAY2}).json
    assert one_day["total"] == 2 and one_day["days"] == [{"day": DAY2, "checkins": 2}]
    assert len(one_day["centers"]) == 2
    empty = street_admin.get(STATS, query_string={"org_id": tree.street, "from": "2026-12-01",
                                                  "to": "2026-12-31"}).json
    assert (empty["total"], empty["centers"], empty["days"]) == (0, [], [])


def test_deleted_centers_keep_their_history(admin, street_admin, tree, two_days):
    a1, _, _ = two_days
    assert admin.delete(f"{CENTERS}/{a1}").status_code == 204
    stats = street_admin.get(STATS, query_string={"org_id": tree.street, "from": DAY1, "to": DAY2}).json
    assert stats["total"] == 6


def test_stats_query_count_does_not_grow_with_centers_or_days(street_admin, tree, make_center, count_queries):
    centers = []

    def add(n_centers, n_days):
        while len(centers) < n_centers:
            centers.append(make_center(name=f"中心{len(centers)}").id)
        for center_id in centers:
            for day in range(n_days):
                for purpose in ("visit", "study"):
                    db.session.merge(CheckinDailyCount(center_id=center_id, purpose=purpose, count=2,
                                                       day=dt.date(2026, 11, 1) + dt.timedelta(days=day)))
        db.session.commit()

    def counted(days):
        query = {"org_id": tree.street, "from": "2026-11-01", "to": "2026-11-30"}
        with count_queries() as q:
            response = street_admin.get(STATS, query_string=query)
        assert response.status_code == 200
        assert response.json["total"] == len(centers) * days * 4
        assert len(response.json["centers"]) == len(centers) and len(response.json["days"]) == days
        return q.count

    add(2, 2)
    few = counted(2)
    add(12, 20)
    many = counted(20)
    assert few == many
