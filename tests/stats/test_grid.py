"""GET /stats/grid: the figures a district publishes, for any subtree and period."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, select

from app.common.db import UtcDateTime
from app.extensions import db
from app.stats.sql import seconds_between
from tests.conftest import assert_error
from tests.grid import conftest
from tests.grid.conftest import INSIDE_B, SQUARE_A2, T0
from tests.grid.helpers import acted, reported

H = dt.timedelta(hours=1)
# the grid tests' fixtures (their conftest is not this directory's)
(categories, clock, grid, grid_b, leader, leader_b, make_grid, make_leader,
 resident) = (conftest.categories, conftest.clock, conftest.grid, conftest.grid_b, conftest.leader, conftest.leader_b,
             conftest.make_grid, conftest.make_leader, conftest.resident)
STATS = "/api/v1/stats/grid"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def day(t: dt.datetime) -> dt.date:
    """The Shanghai day of a time."""
    return t.astimezone(SHANGHAI).date()


def stats(api, org_id: int, first: dt.date | None = None, last: dt.date | None = None):
    """The figures for the local days first..last (both included; T0's day and 30 days on by default)."""
    first, last = first or day(T0), last or day(T0 + 30 * 24 * H)
    response = api.get(STATS, query_string={"org_id": org_id, "from": first.isoformat(), "to": last.isoformat()})
    assert response.status_code == 200, response.json
    return response.json


def close(admin, leader, eid, travel, *, accept_at, resolve_at, verify_at):
    travel(accept_at)
    acted(admin, eid, "accept")
    acted(admin, eid, "handle_self")
    travel(resolve_at)
    acted(admin, eid, "resolve")
    travel(verify_at)
    return acted(leader, eid, "verify_ok")


@pytest.fixture
def figures(admin, leader, grid, make_grid, tree, admin_b, leader_b, resident, travel):
    """Events of known fate, all reported at T0 (B's too), closed or not later."""
    make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    in_time = reported(leader, category="facilities")["id"]
    late = reported(leader, category="sanitation", urgency="urgent")["id"]
    rejected = reported(leader, category="facilities", title="误报")["id"]
    escalated = reported(leader, category="safety")["id"]
    reworked = reported(leader, category="facilities", title="返工")["id"]
    unverified = reported(resident, category="dispute")["id"]
    elsewhere = reported(leader_b, location=INSIDE_B)["id"]
    acted(admin, rejected, "reject", reason="误报")
    acted(admin, escalated, "escalate", reason="需要街道")
    # in time: 3 h from report to close
    close(admin, leader, in_time, travel, accept_at=T0 + H, resolve_at=T0 + 2 * H, verify_at=T0 + 3 * H)
    # late: urgent, accepted after 4 h (1 h allowed); 6 h to close
    close(admin, leader, late, travel, accept_at=T0 + 4 * H, resolve_at=T0 + 5 * H, verify_at=T0 + 6 * H)
    # reworked once, every step in time; closed 10 h after the report
    travel(T0 + 7 * H)
    acted(admin, reworked, "accept")
    acted(admin, reworked, "handle_self")
    acted(admin, reworked, "resolve")
    acted(leader, reworked, "verify_fail", reason="没修好")
    travel(T0 + 8 * H)
    acted(admin, reworked, "take")
    acted(admin, reworked, "resolve")
    travel(T0 + 10 * H)
    acted(leader, reworked, "verify_ok")
    return {"in_time": in_time, "late": late, "rejected": rejected, "escalated": escalated,
            "reworked": reworked, "unverified": unverified, "elsewhere": elsewhere}


def test_counts_of_a_community(figures, admin, tree):
    result = stats(admin, tree.a)
    assert result["org_id"] == tree.a
    assert result["grids"] == 2 and result["grid_party_groups"] == 2
    assert result["events_by_state"] == {"closed": 3, "rejected": 1, "reported": 1, "unverified": 1}
    assert result["events_by_category"] == {"facilities": 3, "sanitation": 1, "safety": 1, "dispute": 1}
    assert result["closed_in_time"] == 2 and result["closed_late"] == 1
    assert result["average_seconds_to_close"] == round((3 + 6 + 10) / 3 * 3600)
    assert result["rework"] == 1 and result["escalations"] == 1


def test_counts_per_subtree(figures, street_admin, district_admin, admin_b, tree):
    street = stats(street_admin, tree.street)
    assert street["grids"] == 3 and street["grid_party_groups"] == 3
    assert street["events_by_state"] == {"closed": 3, "rejected": 1, "reported": 2, "unverified": 1}
    assert street["events_by_category"]["facilities"] == 4
    assert stats(district_admin, tree.district)["events_by_state"] == street["events_by_state"]
    b = stats(admin_b, tree.b)
    assert b["grids"] == 1 and b["events_by_state"] == {"reported": 1}
    assert b["closed_in_time"] == b["closed_late"] == b["rework"] == b["escalations"] == 0
    assert b["average_seconds_to_close"] is None
    branch = stats(street_admin, tree.a1)
    assert branch["grids"] == 0 and branch["events_by_state"] == {}


def test_escalations_count_every_step_up(figures, admin, street_admin, tree):
    acted(street_admin, figures["escalated"], "escalate", reason="需要区级")
    assert stats(admin, tree.a)["escalations"] == 2


def test_the_period(figures, admin, leader, tree, travel):
    travel(T0 + 10 * 24 * H)
    reported(leader, category="other")
    assert sum(stats(admin, tree.a)["events_by_state"].values()) == 7
    before = stats(admin, tree.a, day(T0), day(T0 + 24 * H))
    assert sum(before["events_by_state"].values()) == 6 and "other" not in before["events_by_category"]
    after = stats(admin, tree.a, day(T0 + 9 * 24 * H), day(T0 + 11 * 24 * H))
    assert after["events_by_state"] == {"reported": 1} and after["grids"] == 2
    # one day is a period of its own; the day before holds nothing
    assert sum(stats(admin, tree.a, day(T0), day(T0))["events_by_state"].values()) == 6
    assert stats(admin, tree.a, day(T0 - 24 * H), day(T0 - 24 * H))["events_by_state"] == {}


def test_empty_community(admin, tree):
    result = stats(admin, tree.a)
    assert result == {"org_id": tree.a, "from": "2026-11-26", "to": "2026-12-26",
                      "grids": 0, "grid_party_groups": 0, "events_by_state": {}, "events_by_category": {},
                      "closed_in_time": 0, "closed_late": 0, "average_seconds_to_close": None,
                      "rework": 0, "escalations": 0}


def test_who_may_read(admin, admin_b, leader, resident, tree):
    query = {"org_id": tree.a, "from": day(T0).isoformat(), "to": day(T0).isoformat()}
    for api in (admin_b, leader, resident):
        assert_error(api.get(STATS, query_string=query), 404, "not_found")
    assert_error(admin.get(STATS, query_string={**query, "org_id": tree.street}), 404, "not_found")
    assert_error(admin.get(STATS, query_string={"from": query["from"]}), 422, "validation_failed")
    assert_error(admin.get(STATS, query_string={**query, "from": "yesterday"}), 422, "validation_failed")


def test_seconds_between_is_computed_by_the_database(app):
    # the expression behind average_seconds_to_close, on SQLite (julianday) and PostgreSQL (epoch)
    start = dt.datetime(2026, 11, 26, 15, 59, 30, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=2, hours=3, seconds=90.5)
    value = db.session.scalar(select(seconds_between(bindparam("s", start, type_=UtcDateTime),
                                                     bindparam("e", end, type_=UtcDateTime))))
    assert value == pytest.approx((end - start).total_seconds(), abs=0.01)
