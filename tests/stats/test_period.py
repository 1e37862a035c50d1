"""The one period of every statistic and export: org_id, from, to as
Shanghai days (both included, at most 366), the same 422s naming the
field, the same echo, and the UTC bounds of the days."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app.badges.models import PlateScan
from app.checkin.models import CheckinDailyCount
from app.extensions import db
from app.stats.period import Period
from tests.conftest import assert_error

NAMES = ["checkins", "volunteers", "grid", "badges"]
PATHS = [f"/api/v1/stats/{name}" for name in NAMES] + [f"/api/v1/stats/{name}.xlsx" for name in NAMES]
UTC = dt.UTC


@pytest.fixture
def admin(login_as, tree):
    return login_as("org_admin", tree.a)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("query, field", [
    ({"from": "2026-11-01", "to": "2026-11-30"}, "org_id"),
    ({"org_id": "A", "from": "2026-11-01", "to": "2026-11-30"}, "org_id"),
    ({"from": "26/11/2026", "to": "2026-11-30"}, "from"),
    ({"from": "2026-11-01", "to": "2026-13-01"}, "to"),
    ({"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-30"}, "from"),
    ({"from": "2026-11-30", "to": "2026-11-29"}, "to"),
    ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),  # 367 days
    ({"from": "2025-01-01"}, "from"),  # to defaults to today: more than 366 days
])
def test_a_bad_period_is_422_naming_the_field(path, query, field, admin, tree):
    query = {"org_id": tree.a, **query} if "org_id" not in query and field != "org_id" else query
    error = assert_error(admin.get(path, query_string=query), 422, "validation_failed")
    assert list(error["details"]["fields"]) == [field], error


@pytest.mark.parametrize("path", PATHS)
def test_366_days_counting_both_ends_is_the_longest_period(path, admin, tree):
    response = admin.get(path, query_string={"org_id": tree.a, "from": "2026-01-01", "to": "2027-01-01"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("name", NAMES)
def test_every_answer_echoes_the_period(name, admin, tree):
    query = {"org_id": tree.a, "from": "2026-11-01", "to": "2026-11-30"}
    answer = admin.get(f"/api/v1/stats/{name}", query_string=query).json
    assert {key: answer[key] for key in query} == query


@pytest.mark.parametrize("name", NAMES)
def test_the_default_is_the_30_days_ending_today_in_shanghai(name, login_as, tree):
    # 17:30 UTC is already the next day in Shanghai
    with time_machine.travel(dt.datetime(2026, 11, 26, 17, 30, tzinfo=UTC), tick=False):
        admin = login_as("org_admin", tree.a)
        answer = admin.get(f"/api/v1/stats/{name}", query_string={"org_id": tree.a}).json
        assert (answer["from"], answer["to"]) == ("2026-10-29", "2026-11-27")
        only_from = admin.get(f"/api/v1/stats/{name}", query_string={"org_id": tree.a, "from": "2026-11-20"}).json
        assert (only_from["from"], only_from["to"]) == ("2026-11-20", "2026-11-27")
        only_to = admin.get(f"/api/v1/stats/{name}", query_string={"org_id": tree.a, "to": "2026-11-10"}).json
        assert (only_to["from"], only_to["to"]) == ("2026-10-12", "2026-11-10")


def test_the_utc_bounds_of_shanghai_days():
    period = Period(1, dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    assert period.days == 2
    assert period.utc_bounds() == (dt.datetime(2026, 11, 25, 16, tzinfo=UTC), dt.datetime(2026, 11, 27, 16, tzinfo=UTC))


def test_both_ends_are_included_for_days_and_for_times(admin, tree, make_center_row):
    first, last = dt.date(2026, 1, 1), dt.date(2027, 1, 1)  # 366 days
    center_id = make_center_row()
    for day in (first - dt.timedelta(days=1), first, last, last + dt.timedelta(days=1)):
        db.session.add(CheckinDailyCount(center_id=center_id, day=day, purpose="visit", count=1))
    # scans at the first and the last instant of the period (Shanghai), and just outside
    start = dt.datetime(2025, 12, 31, 16, tzinfo=UTC)
    end = dt.datetime(2027, 1, 1, 16, tzinfo=UTC)
    tick = dt.timedelta(microseconds=1)
    for at in (start - tick, start, end - tick, end):
        db.session.add(PlateScan(kind="post", org_id=tree.a, user_id=admin.user_id, scanned_at=at))
    db.session.commit()
    query = {"org_id": tree.a, "from": first.isoformat(), "to": last.isoformat()}
    assert admin.get("/api/v1/stats/checkins", query_string=query).json["total"] == 2
    assert admin.get("/api/v1/stats/badges", query_string=query).json["post_plate_scans"] == 2


@pytest.fixture
def make_center_row(admin, tree):
    def make() -> int:
        response = admin.post("/api/v1/centers", json={"org_id": tree.a, "name": "丰泽社区党群服务中心",
                                                       "location": {"lat": 21.858, "lng": 111.962}})
        assert response.status_code == 201, response.json
        return response.json["id"]

    return make
