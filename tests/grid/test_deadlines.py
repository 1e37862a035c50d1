"""Step deadlines on a controlled clock: the default limits, the traffic light,
overdue events, "finished in time" frozen per step, limits changed as data."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.grid.conftest import T0
from tests.grid.helpers import EVENTS, acted, ids, reported

H = dt.timedelta(hours=1)


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def event_of(api, eid: int) -> dict:
    response = api.get(f"{EVENTS}/{eid}")
    assert response.status_code == 200, response.json
    return response.json


def steps(api, eid: int) -> list[tuple]:
    transitions = api.get(f"{EVENTS}/{eid}/timeline").json["transitions"]
    return [(t["action"], t["step"], t["in_time"]) for t in transitions if t["step"]]


def test_default_limits_normal(admin, leader, grid, travel):
    event = reported(leader, urgency="normal")
    assert event["step"] == "accept" and at(event["deadline_at"]) == T0 + 24 * H
    eid = event["id"]
    accepted_at = travel(hours=3)
    accepted = acted(admin, eid, "accept")
    assert accepted["step"] == "handle" and at(accepted["deadline_at"]) == accepted_at + 5 * 24 * H
    acted(admin, eid, "handle_self")  # still the handle step
    assert at(event_of(admin, eid)["deadline_at"]) == accepted_at + 5 * 24 * H
    resolved_at = travel(hours=10)
    resolved = acted(admin, eid, "resolve")
    assert resolved["step"] == "verify" and at(resolved["deadline_at"]) == resolved_at + 48 * H


def test_default_limits_urgent(admin, leader, grid, travel):
    event = reported(leader, urgency="urgent")
    assert event["urgency"] == "urgent" and at(event["deadline_at"]) == T0 + H
    accepted_at = travel(minutes=30)
    accepted = acted(admin, event["id"], "accept")
    assert at(accepted["deadline_at"]) == accepted_at + 24 * H


def test_unverified_reports_run_the_accept_clock_from_the_report(leader, grid, resident, travel):
    event = reported(resident)
    assert event["state"] == "unverified" and at(event["deadline_at"]) == T0 + 24 * H
    travel(hours=2)
    confirmed = acted(leader, event["id"], "confirm")
    assert confirmed["step"] == "accept" and at(confirmed["deadline_at"]) == T0 + 24 * H


@pytest.mark.parametrize("share, light", [(0.0, "green"), (0.79, "green"), (0.8, "yellow"), (0.9, "yellow"),
                                          (1.0, "yellow"), (1.01, "red"), (3.0, "red")])
def test_traffic_light_of_the_accept_step(leader, grid, travel, share, light):
    eid = reported(leader)["id"]
    travel(T0 + 24 * H * share)
    assert event_of(leader, eid)["light"] == light
    assert [e["light"] for e in leader.get(EVENTS).json["items"]] == [light]


@pytest.mark.parametrize("share, light", [(0.79, "green"), (0.9, "yellow"), (1.01, "red")])
def test_traffic_light_of_the_handle_step(admin, leader, grid, travel, share, light):
    eid = reported(leader)["id"]
    accepted_at = travel(hours=20)  # the accept step was yellow by now: the handle step starts afresh
    acted(admin, eid, "accept")
    assert event_of(admin, eid)["light"] == "green"
    travel(accepted_at + 120 * H * share)
    assert event_of(admin, eid)["light"] == light


def test_traffic_light_with_an_extension(admin, accepted_urgent, handler, travel):
    eid, accepted_at = accepted_urgent  # handle step: 24 h
    travel(accepted_at + 23 * H)
    assert event_of(admin, eid)["light"] == "yellow"
    acted(handler, eid, "extend", hours=24)
    acted(admin, eid, "approve_extension")  # now 23 h of 48
    assert event_of(admin, eid)["light"] == "green"
    travel(accepted_at + 49 * H)
    assert event_of(admin, eid)["light"] == "red"


@pytest.fixture
def handler(login):
    return login("o-handler")


@pytest.fixture
def accepted_urgent(admin, leader, grid, handler):
    """An urgent event, accepted at T0 and taken by the handler."""
    eid = reported(leader, urgency="urgent")["id"]
    acted(admin, eid, "accept")
    acted(admin, eid, "dispatch", to_user_id=handler.user_id)
    acted(handler, eid, "take")
    return eid, T0


def test_no_light_once_closed_or_rejected(admin, leader, grid, travel):
    closed, rejected = reported(leader)["id"], reported(leader, title="重复")["id"]
    acted(admin, rejected, "reject", reason="重复")
    for action in ("accept", "handle_self", "resolve", "verify_ok"):
        acted(admin, closed, action)
    travel(days=20)  # (refresh tokens live 30 days)
    for eid in (closed, rejected):
        event = event_of(admin, eid)
        assert event["light"] is None and event["deadline_at"] is None


def test_overdue_filter(admin, leader, grid, travel):
    urgent = reported(leader, urgency="urgent", title="燃气泄漏", category="safety")["id"]
    normal = reported(leader, title="路灯")["id"]
    done = reported(leader, urgency="urgent", title="已处理")["id"]
    acted(admin, done, "reject", reason="误报")
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == []
    travel(T0 + H)  # exactly at the deadline: not yet overdue
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == []
    travel(T0 + H + dt.timedelta(seconds=1))
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == [urgent]
    assert event_of(admin, urgent)["light"] == "red"
    travel(T0 + 25 * H)
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == [normal, urgent]
    assert ids(admin.get(f"{EVENTS}?overdue=false")) == [done, normal, urgent]
    # accepting starts the handle step: no longer overdue
    acted(admin, urgent, "accept")
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == [normal]
    assert ids(leader.get(f"{EVENTS}?overdue=true&category=safety")) == []


def test_in_time_is_frozen_per_step(admin, leader, grid, travel):
    eid = reported(leader, urgency="urgent")["id"]  # accept 1 h, handle 24 h, verify 24 h
    travel(T0 + 2 * H)
    acted(admin, eid, "accept")  # late
    acted(admin, eid, "handle_self")
    travel(T0 + 20 * H)
    acted(admin, eid, "resolve")  # in time (18 h of 24)
    travel(T0 + 30 * H)
    acted(leader, eid, "verify_ok")  # in time (10 h of 24)
    expected = [("accept", "accept", False), ("resolve", "handle", True), ("verify_ok", "verify", True)]
    assert steps(admin, eid) == expected
    # frozen: time passing changes nothing
    travel(days=20)  # (refresh tokens live 30 days)
    assert steps(admin, eid) == expected


def test_in_time_true_then_false(admin, leader, grid, travel):
    eid = reported(leader)["id"]  # normal: accept 24 h, handle 120 h, verify 48 h
    travel(T0 + 24 * H)  # exactly at the deadline counts as in time
    acted(admin, eid, "accept")
    acted(admin, eid, "handle_self")
    travel(T0 + 24 * H + 121 * H)
    acted(admin, eid, "resolve")  # an hour late
    travel(hours=49)
    acted(leader, eid, "verify_fail", reason="没修好")  # verify late too
    assert steps(admin, eid) == [("accept", "accept", True), ("resolve", "handle", False),
                                 ("verify_fail", "verify", False)]
    rework = event_of(admin, eid)
    assert rework["step"] == "handle" and rework["light"] == "green"


def test_reject_and_duplicate_finish_the_accept_step(admin, leader, grid, travel):
    first, second = reported(leader)["id"], reported(leader)["id"]
    travel(hours=30)
    acted(admin, first, "reject", reason="不受理")
    acted(admin, second, "duplicate", duplicate_of=first)
    assert steps(admin, first) == [("reject", "accept", False)]
    assert steps(admin, second) == [("duplicate", "accept", False)]


def test_changed_limits_apply_to_new_events(admin, leader, grid, district_admin, travel):
    before = reported(leader)
    assert at(before["deadline_at"]) == T0 + 24 * H
    limits = {"accept_hours": 2, "handle_hours": 10, "verify_hours": 4}
    assert district_admin.put("/api/v1/grid-time-limits/facilities/normal", json=limits).status_code == 200
    # the running step keeps the deadline it started with
    assert at(event_of(leader, before["id"])["deadline_at"]) == T0 + 24 * H
    now = travel(hours=1)
    after = reported(leader)
    assert at(after["deadline_at"]) == now + 2 * H
    assert at(acted(admin, after["id"], "accept")["deadline_at"]) == now + 10 * H
    # other categories and urgencies keep the defaults
    assert at(reported(leader, category="sanitation")["deadline_at"]) == now + 24 * H
    assert at(reported(leader, urgency="urgent")["deadline_at"]) == now + H
    # and the light follows the new limit: 1.5 h of 2 h is 75 %
    travel(now + 1.5 * H)
    assert event_of(leader, reported_id := after["id"])["light"] == "green"  # handle step: 0.5 of 10 h
    newer = reported(leader)
    travel(now + 1.5 * H + 1.7 * H)
    assert event_of(leader, newer["id"])["light"] == "yellow"  # 85 % of 2 h
    assert event_of(leader, reported_id)["light"] == "green"
