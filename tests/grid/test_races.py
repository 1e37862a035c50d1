"""Concurrent actions on one grid event, as real simultaneous requests against a
live threaded server (SQLite and PostgreSQL alike): exactly one wins, the
others get a clean 409, and the timeline never forks."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from tests.conftest import fire
from tests.grid.conftest import INSIDE
from tests.grid.helpers import EVENTS, acted, reported, upload_id

ROUNDS = 3


def timeline(api, event_id: int) -> list[dict]:
    response = api.get(f"{EVENTS}/{event_id}/timeline")
    assert response.status_code == 200, response.json
    return response.json["transitions"]


def at_once(live_url: str, event_id: int, *calls) -> list:
    """``calls``: (api, action, extra body) — all sent together."""
    url = f"{live_url}{EVENTS}/{event_id}/transitions"
    return fire([(url, {"action": action, **extra}, api.headers) for api, action, extra in calls])


def one_winner(responses, losing_codes: set[str]):
    """The one 200 among ``responses``; every other one a 409 with one of ``losing_codes``."""
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, [(r.status_code, r.text) for r in responses]
    losers = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 409 for r in losers), [(r.status_code, r.text) for r in losers]
    codes = {r.json()["error"]["code"] for r in losers}
    assert codes <= losing_codes, codes
    return next(r for r in responses if r.status_code == 200)


@pytest.fixture
def admin2(login_as, tree):
    """A second admin of community A (both own the community's events)."""
    return login_as("org_admin", tree.a)


@pytest.fixture
def handler(login):
    return login("o-handler")


def test_accept_and_reject_at_once_one_wins_and_the_timeline_does_not_fork(
        live_url, admin, admin2, leader, grid):
    for _ in range(ROUNDS):
        eid = reported(leader)["id"]
        accept, reject = at_once(live_url, eid, (admin, "accept", {}),
                                 (admin2, "reject", {"reason": "不属于网格事件"}))
        winner = one_winner([accept, reject], {"state_changed", "action_not_allowed"})
        state = winner.json()["state"]
        assert state in ("accepted", "rejected")
        transitions = timeline(admin, eid)
        assert [t["action"] for t in transitions] == ["report", "accept" if state == "accepted" else "reject"]
        assert transitions[-1]["from_state"] == "reported" and transitions[-1]["to_state"] == state
        stored = admin.get(f"{EVENTS}/{eid}").json
        assert stored["state"] == state
        # the loser's work is not half-done: a rejected event is closed, an accepted one is handled
        assert (stored["closed_at"] is not None) == (state == "rejected")
        assert stored["step"] == ("handle" if state == "accepted" else None)


def test_five_escalations_at_once_move_it_up_one_level(live_url, admin, leader, grid, login_as, tree):
    admins = [admin, *(login_as("org_admin", tree.a) for _ in range(4))]
    eid = reported(leader)["id"]
    responses = at_once(live_url, eid, *((api, "escalate", {"reason": "需要街道协调"}) for api in admins))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, [(r.status_code, r.text) for r in responses]
    # the others were claimed against the owner they read (409 state_changed), or
    # read after the winner committed, when the community no longer owned it (403)
    losers = {(r.status_code, r.json()["error"]["code"]) for r in responses if r.status_code != 200}
    assert losers <= {(409, "state_changed"), (403, "forbidden")}, losers
    ups = [t for t in timeline(admin, eid) if t["action"] == "escalate"]
    assert [(t["data"]["from_org_id"], t["data"]["to_org_id"]) for t in ups] == [(tree.a, tree.street)]
    stored = admin.get(f"{EVENTS}/{eid}").json
    assert stored["owner"]["id"] == tree.street and stored["escalations"] == 1


def test_five_street_admins_escalating_at_once_do_not_skip_the_street(
        live_url, leader, grid, login_as, tree, admin):
    """Street admins may escalate from the community and from the street alike:
    only the owner as read decides, so concurrent ones never go on to the district."""
    street = [login_as("org_admin", tree.street) for _ in range(5)]
    eid = reported(leader)["id"]
    responses = at_once(live_url, eid, *((api, "escalate", {"reason": "升级"}) for api in street))
    ups = [t for t in timeline(admin, eid) if t["action"] == "escalate"]
    # every escalation that won names the owner it moved the event from
    hops = [(t["data"]["from_org_id"], t["data"]["to_org_id"]) for t in ups]
    assert hops[0] == (tree.a, tree.street)
    assert hops in ([(tree.a, tree.street)], [(tree.a, tree.street), (tree.street, tree.district)])
    assert Counter(r.status_code for r in responses)[200] == len(hops)
    # the others lost the claim (409), or read it after a winner committed: then
    # they escalate from the owner they read (street -> district), or it is at
    # the district already (409 no_higher_level) or out of their reach (403)
    assert {r.json()["error"]["code"] for r in responses if r.status_code != 200} <= {
        "state_changed", "no_higher_level", "forbidden"}
    assert admin.get(f"{EVENTS}/{eid}").json["escalations"] == len(hops)


def test_two_resolves_at_once_attach_only_the_winners_photos(live_url, admin, leader, grid, handler):
    eid = reported(leader)["id"]
    acted(admin, eid, "accept")
    acted(admin, eid, "dispatch", to_user_id=handler.user_id)
    acted(handler, eid, "take")
    first, second = upload_id(handler), upload_id(handler)
    responses = at_once(live_url, eid, (handler, "resolve", {"photo_ids": [first], "note": "一"}),
                        (handler, "resolve", {"photo_ids": [second], "note": "二"}))
    winner = one_winner(responses, {"state_changed", "action_not_allowed"})
    won_photo = first if winner is responses[0] else second
    lost_photo = second if won_photo == first else first
    assert [(p["upload_id"], p["stage"]) for p in winner.json()["photos"]] == [(won_photo, "resolve")]
    resolves = [t for t in timeline(admin, eid) if t["action"] == "resolve"]
    assert len(resolves) == 1 and resolves[0]["note"] == ("一" if won_photo == first else "二")
    stored = admin.get(f"{EVENTS}/{eid}").json
    assert stored["state"] == "resolved"
    assert [p["upload_id"] for p in stored["photos"]] == [won_photo]
    # the loser's photo was not claimed: it can still go with a report
    fresh = handler.post(EVENTS, json={"category": "other", "title": "再报", "location": INSIDE,
                                       "photo_ids": [lost_photo]})
    assert fresh.status_code == 201, fresh.json


def test_verify_ok_and_verify_fail_at_once(live_url, admin, leader, grid, handler):
    for _ in range(ROUNDS):
        eid = reported(leader)["id"]
        acted(admin, eid, "accept")
        acted(admin, eid, "dispatch", to_user_id=handler.user_id)
        acted(handler, eid, "take")
        acted(handler, eid, "resolve")
        responses = at_once(live_url, eid, (leader, "verify_ok", {}),
                            (admin, "verify_fail", {"reason": "没修好"}))
        winner = one_winner(responses, {"state_changed", "action_not_allowed"})
        state = winner.json()["state"]
        verdicts = [t for t in timeline(admin, eid) if t["action"] in ("verify_ok", "verify_fail")]
        assert len(verdicts) == 1 and verdicts[0]["to_state"] == state
        stored = admin.get(f"{EVENTS}/{eid}").json
        assert stored["state"] == state
        assert stored["rework_count"] == (1 if state == "dispatched" else 0)


def test_two_approvals_of_one_extension_extend_the_deadline_once(
        live_url, admin, admin2, leader, grid, handler):
    eid = reported(leader)["id"]
    acted(admin, eid, "accept")
    acted(admin, eid, "dispatch", to_user_id=handler.user_id)
    deadline = dt.datetime.fromisoformat(acted(handler, eid, "take")["deadline_at"])
    acted(handler, eid, "extend", hours=24)
    responses = at_once(live_url, eid, (admin, "approve_extension", {}), (admin2, "approve_extension", {}))
    # the loser was claimed against the request it read, or read it already approved
    one_winner(responses, {"state_changed", "no_pending_extension"})
    approvals = [t for t in timeline(admin, eid) if t["action"] == "approve_extension"]
    assert len(approvals) == 1
    stored = admin.get(f"{EVENTS}/{eid}").json
    assert dt.datetime.fromisoformat(stored["deadline_at"]) == deadline + dt.timedelta(hours=24)
    assert stored["pending_extension_hours"] is None


# ---- upserts: a concurrent insert of the same key is a change, never a 500 ----------------

def test_the_same_new_category_put_at_once(live_url, login_as, tree, resident):
    admins = [login_as("district_admin", tree.district) for _ in range(6)]
    url = f"{live_url}/api/v1/grid-event-categories/flooding"
    responses = fire([(url, {"name": f"内涝积水{i}"}, api.headers) for i, api in enumerate(admins)], "put")
    assert [r.status_code for r in responses] == [200] * len(admins), [r.text for r in responses]
    rows = [c for c in resident.get("/api/v1/grid-event-categories").json["items"] if c["code"] == "flooding"]
    assert len(rows) == 1 and rows[0]["name"] in {f"内涝积水{i}" for i in range(len(admins))}


def test_the_same_new_time_limit_put_at_once(live_url, login_as, tree, resident):
    admins = [login_as("district_admin", tree.district) for _ in range(6)]
    url = f"{live_url}/api/v1/grid-time-limits/safety/urgent"
    bodies = [{"accept_hours": 1 + i, "handle_hours": 48, "verify_hours": 12} for i in range(len(admins))]
    responses = fire([(url, body, api.headers) for body, api in zip(bodies, admins, strict=False)], "put")
    assert [r.status_code for r in responses] == [200] * len(admins), [r.text for r in responses]
    rows = [r for r in resident.get("/api/v1/grid-time-limits").json["items"]
            if (r["category"], r["urgency"]) == ("safety", "urgent")]
    assert len(rows) == 1 and not rows[0]["default"] and rows[0]["accept_hours"] in {1 + i for i in range(6)}


def test_the_same_leader_assigned_at_once(live_url, admin, grid, login):
    someone = login("o-new-leader")
    url = f"{live_url}/api/v1/grids/{grid.id}/leaders"
    responses = fire([(url, {"user_id": someone.user_id, "role": "building_leader", "buildings": [f"{i} 栋"]},
                       admin.headers) for i in range(6)])
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    leaders = admin.get(f"/api/v1/grids/{grid.id}/leaders").json["items"]
    assert [(x["user_id"], x["role"]) for x in leaders] == [(someone.user_id, "building_leader")]


def test_following_twice_at_once_is_one_voice(live_url, admin, leader, grid):
    eid = reported(admin)["id"]
    url = f"{live_url}{EVENTS}/{eid}/follow"
    responses = fire([(url, {"note": "我也是"}, leader.headers) for _ in range(5)])
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert admin.get(f"{EVENTS}/{eid}").json["followers"] == 1
