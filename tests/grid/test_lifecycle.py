"""Grid events through their whole life: every path of the state machine, who
may take each action (403), which actions a state allows (409), and what the
timeline keeps."""
from __future__ import annotations

import datetime as dt

import pytest

from app.common.geo import wgs84_to_gcj02
from tests.conftest import assert_error
from tests.grid.conftest import INSIDE, INSIDE_A2, INSIDE_B, OUTSIDE, SQUARE_A2, T0
from tests.grid.helpers import (
    EVENTS,
    act,
    acted,
    event_body,
    report,
    reported,
    upload_id,
)


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def timeline(api, event_id: int) -> dict:
    response = api.get(f"{EVENTS}/{event_id}/timeline")
    assert response.status_code == 200, response.json
    return response.json


def actions_of(api, event_id: int) -> list[str]:
    return [t["action"] for t in timeline(api, event_id)["transitions"]]


def allowed(api, event_id: int) -> list[str]:
    response = api.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.json
    return response.json["allowed_actions"]


def refused(response, status: int, code: str, allowed_actions: list[str]) -> None:
    error = assert_error(response, status, code)
    assert error["details"]["allowed_actions"] == allowed_actions, error


@pytest.fixture
def handler(login):
    return login("o-handler")


@pytest.fixture
def accepted(admin, leader, grid):
    """An event reported by the grid leader and accepted by the community admin."""
    event = reported(leader)
    acted(admin, event["id"], "accept")
    return event["id"]


# ---- the main path ---------------------------------------------------------------------

def test_report_dispatch_handle_resolve_verify_close(admin, leader, grid, handler, tree):
    photo = upload_id(leader)
    response = leader.post(EVENTS, json=event_body(photo_ids=[photo]))
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(f"{EVENTS}/{response.json['event']['id']}")
    assert response.json["possible_duplicates"] == []
    event = response.json["event"]
    eid = event["id"]
    assert event["state"] == "reported" and event["reporter_role"] == "grid_leader"
    assert event["grid_id"] == grid.id and event["community"]["id"] == tree.a
    assert event["owner"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    assert event["location"] == {**INSIDE, "coord_system": "gcj02"}
    assert event["step"] == "accept" and event["light"] == "green"
    assert event["rework_count"] == 0 and event["escalations"] == 0 and event["closed_at"] is None
    assert [p["stage"] for p in event["photos"]] == ["report"]

    assert allowed(admin, eid) == ["accept", "reject", "duplicate", "escalate"]
    assert allowed(leader, eid) == []
    assert acted(admin, eid, "accept", note="已受理")["state"] == "accepted"
    assert allowed(admin, eid) == ["handle_self", "dispatch", "escalate"]
    dispatched = acted(admin, eid, "dispatch", to_user_id=handler.user_id, note="请物业处理")
    assert dispatched["state"] == "dispatched" and dispatched["assignee_user_id"] == handler.user_id
    assert allowed(handler, eid) == ["take", "return"]
    assert acted(handler, eid, "take")["state"] == "in_progress"
    assert allowed(handler, eid) == ["extend", "resolve"]
    fix = upload_id(handler)
    resolved = acted(handler, eid, "resolve", note="已更换灯泡", photo_ids=[fix])
    assert resolved["state"] == "resolved" and resolved["step"] == "verify"
    assert [(p["upload_id"], p["stage"]) for p in resolved["photos"]] == [(photo, "report"), (fix, "resolve")]
    assert allowed(leader, eid) == ["verify_ok", "verify_fail"]
    closed = acted(leader, eid, "verify_ok", note="已核查")
    assert closed["state"] == "closed" and at(closed["closed_at"]) == T0
    assert closed["step"] is None and closed["deadline_at"] is None and closed["light"] is None

    transitions = timeline(admin, eid)["transitions"]
    assert [(t["action"], t["actor_role"], t["from_state"], t["to_state"]) for t in transitions] == [
        ("report", "grid_leader", None, "reported"),
        ("accept", "org_admin", "reported", "accepted"),
        ("dispatch", "org_admin", "accepted", "dispatched"),
        ("take", "handler", "dispatched", "in_progress"),
        ("resolve", "handler", "in_progress", "resolved"),
        ("verify_ok", "grid_leader", "resolved", "closed"),
    ]
    assert [t["actor_id"] for t in transitions] == [leader.user_id, admin.user_id, admin.user_id,
                                                    handler.user_id, handler.user_id, leader.user_id]
    assert [t["note"] for t in transitions] == ["", "已受理", "请物业处理", "", "已更换灯泡", "已核查"]
    assert [(t["step"], t["in_time"]) for t in transitions] == [
        (None, None), ("accept", True), (None, None), (None, None), ("handle", True), ("verify", True)]
    assert transitions[2]["data"] == {"to_org_id": None, "to_user_id": handler.user_id}
    assert all(at(t["created_at"]) == T0 for t in transitions)

    # closed: nothing more, except the reporter's reopen
    refused(act(admin, eid, "accept"), 409, "action_not_allowed", [])
    refused(act(leader, eid, "escalate", reason="x"), 409, "action_not_allowed", ["reopen"])


def test_handle_self_path(admin, leader, accepted):
    assert acted(admin, accepted, "handle_self")["state"] == "in_progress"
    assert acted(admin, accepted, "resolve", note="社区自行处理")["state"] == "resolved"
    # the owner verifies too
    assert acted(admin, accepted, "verify_ok")["state"] == "closed"
    assert actions_of(leader, accepted) == ["report", "accept", "handle_self", "resolve", "verify_ok"]


# ---- reject and duplicate ------------------------------------------------------------------

def test_reject_needs_a_reason_and_ends_the_event(admin, leader, grid):
    eid = reported(leader)["id"]
    error = assert_error(act(admin, eid, "reject"), 422, "validation_failed")
    assert "reason" in error["details"]["fields"]
    rejected = acted(admin, eid, "reject", reason="不属于网格事件")
    assert rejected["state"] == "rejected" and rejected["closed_at"] is not None
    assert rejected["step"] is None and rejected["light"] is None
    transitions = timeline(leader, eid)["transitions"]
    assert transitions[-1]["data"] == {"reason": "不属于网格事件"}
    assert (transitions[-1]["step"], transitions[-1]["in_time"]) == ("accept", True)
    for action in ("accept", "reopen", "escalate", "confirm"):
        refused(act(admin, eid, action, reason="x"), 409, "action_not_allowed", [])
    assert len(timeline(leader, eid)["transitions"]) == 2


def test_duplicate_of_another_event_of_the_community(admin, leader, grid, admin_b, leader_b):
    first = reported(leader)["id"]
    second = reported(leader, title="路灯还是不亮")["id"]
    elsewhere = reported(leader_b, location=INSIDE_B)["id"]
    assert_error(act(admin, second, "duplicate"), 422, "validation_failed")
    for target in (second, elsewhere, 999_999):
        assert_error(act(admin, second, "duplicate", duplicate_of=target), 422, "invalid_duplicate")
    assert actions_of(admin, second) == ["report"]  # the refusals stored nothing
    marked = acted(admin, second, "duplicate", duplicate_of=first)
    assert marked["state"] == "duplicate" and marked["duplicate_of_id"] == first
    assert timeline(admin, second)["transitions"][-1]["data"] == {"duplicate_of": first}
    # the other community's admin cannot mark theirs as a duplicate of ours either
    assert_error(act(admin_b, elsewhere, "duplicate", duplicate_of=first), 422, "invalid_duplicate")
    refused(act(admin, second, "accept"), 409, "action_not_allowed", [])


# ---- dispatch, return, take ------------------------------------------------------------------

def test_dispatch_return_dispatch_take(admin, accepted, handler, login, login_as, tree):
    assert_error(act(admin, accepted, "dispatch"), 422, "validation_failed")
    assert_error(act(admin, accepted, "dispatch", to_user_id=handler.user_id, to_org_id=tree.a1),
                 422, "validation_failed")
    assert_error(act(admin, accepted, "dispatch", to_user_id=999_999), 422, "validation_failed")
    assert_error(act(admin, accepted, "dispatch", to_org_id=999_999), 422, "validation_failed")
    outsider = login("o-outsider")
    assert_error(handler.get(f"{EVENTS}/{accepted}"), 404, "not_found")

    acted(admin, accepted, "dispatch", to_user_id=handler.user_id)
    # only the handler takes or returns it
    refused(act(admin, accepted, "take"), 403, "forbidden", ["escalate"])
    refused(act(admin, accepted, "return", reason="x"), 403, "forbidden", ["escalate"])
    assert_error(act(outsider, accepted, "take"), 404, "not_found")
    assert_error(act(handler, accepted, "return"), 422, "validation_failed")
    returned = acted(handler, accepted, "return", reason="不属于我的职责")
    assert returned["state"] == "accepted"
    assert returned["assignee_user_id"] is None and returned["assignee_org_id"] is None
    assert_error(handler.get(f"{EVENTS}/{accepted}"), 404, "not_found")  # no longer theirs

    branch_admin = login_as("org_admin", tree.a1)
    again = acted(admin, accepted, "dispatch", to_org_id=tree.a1)
    assert again["assignee_org_id"] == tree.a1 and again["assignee_user_id"] is None
    assert_error(act(handler, accepted, "take"), 404, "not_found")
    assert allowed(branch_admin, accepted) == ["take", "return"]
    taken = acted(branch_admin, accepted, "take")
    assert taken["state"] == "in_progress"
    transitions = timeline(admin, accepted)["transitions"]
    assert [(t["action"], t["to_state"]) for t in transitions] == [
        ("report", "reported"), ("accept", "accepted"), ("dispatch", "dispatched"),
        ("return", "accepted"), ("dispatch", "dispatched"), ("take", "in_progress")]
    assert transitions[3]["data"] == {"reason": "不属于我的职责"}
    assert transitions[4]["data"] == {"to_org_id": tree.a1, "to_user_id": None}
    assert transitions[5]["actor_role"] == "org_admin"


# ---- extensions ---------------------------------------------------------------------------------

def test_extension_request_and_approval_change_the_deadline(admin, leader, accepted, handler):
    acted(admin, accepted, "dispatch", to_user_id=handler.user_id)
    event = acted(handler, accepted, "take")
    deadline = at(event["deadline_at"])
    assert deadline == T0 + dt.timedelta(hours=120)
    assert_error(act(handler, accepted, "extend"), 422, "validation_failed")
    assert_error(act(handler, accepted, "extend", hours=0.1), 422, "validation_failed")
    refused(act(admin, accepted, "extend", hours=24), 403, "forbidden", ["approve_extension", "escalate"])
    assert_error(act(admin, accepted, "approve_extension"), 409, "no_pending_extension")

    requested = acted(handler, accepted, "extend", hours=24, note="需要采购配件")
    assert requested["state"] == "in_progress" and requested["pending_extension_hours"] == 24
    assert at(requested["deadline_at"]) == deadline  # not yet
    refused(act(handler, accepted, "approve_extension"), 403, "forbidden", ["extend", "resolve"])
    refused(act(leader, accepted, "approve_extension"), 403, "forbidden", [])
    approved = acted(admin, accepted, "approve_extension")
    assert at(approved["deadline_at"]) == deadline + dt.timedelta(hours=24)
    assert approved["pending_extension_hours"] is None and approved["state"] == "in_progress"
    assert_error(act(admin, accepted, "approve_extension"), 409, "no_pending_extension")
    transitions = timeline(admin, accepted)["transitions"]
    assert [(t["action"], t["from_state"], t["to_state"]) for t in transitions[-2:]] == [
        ("extend", "in_progress", "in_progress"), ("approve_extension", "in_progress", "in_progress")]
    assert transitions[-2]["data"] == {"hours": 24.0} and transitions[-2]["note"] == "需要采购配件"
    assert transitions[-1]["data"]["hours"] == 24.0
    assert at(transitions[-1]["data"]["deadline_at"]) == deadline + dt.timedelta(hours=24)


# ---- resolving with photos ----------------------------------------------------------------------

def test_resolve_with_photos(admin, leader, grid, handler, login):
    first = reported(leader)["id"]
    second = reported(leader, category="sanitation", title="垃圾堆积")["id"]
    for eid in (first, second):
        acted(admin, eid, "accept")
        acted(admin, eid, "dispatch", to_user_id=handler.user_id)
        acted(handler, eid, "take")
    mine = [upload_id(handler), upload_id(handler)]
    theirs = upload_id(login("o-someone-else"))
    assert_error(act(handler, first, "resolve", photo_ids=[upload_id(handler) for _ in range(10)]),
                 422, "too_many_photos")
    error = assert_error(act(handler, first, "resolve", photo_ids=[mine[0], theirs]), 422, "upload_not_usable")
    assert error["details"]["upload_id"] == theirs
    # the refusal changed nothing and claimed nothing
    event = handler.get(f"{EVENTS}/{first}").json
    assert event["state"] == "in_progress" and event["photos"] == []
    assert actions_of(handler, first)[-1] == "take"
    resolved = acted(handler, first, "resolve", note="已清理", photo_ids=mine)
    assert [(p["upload_id"], p["stage"]) for p in resolved["photos"]] == [(mine[0], "resolve"), (mine[1], "resolve")]
    assert handler.get(resolved["photos"][0]["url"]).mimetype == "image/jpeg"
    assert leader.get(resolved["photos"][1]["url"]).status_code == 200
    # a photo attached once cannot be attached again
    assert_error(act(handler, second, "resolve", photo_ids=[mine[1]]), 422, "upload_not_usable")
    assert handler.get(f"{EVENTS}/{second}").json["state"] == "in_progress"


# ---- verification failing: rework ---------------------------------------------------------------

def test_verify_fail_sends_it_back_for_rework(admin, leader, accepted, handler):
    acted(admin, accepted, "dispatch", to_user_id=handler.user_id)
    for round_ in (1, 2):
        acted(handler, accepted, "take")
        acted(handler, accepted, "resolve", note=f"第 {round_} 次处理")
        if round_ == 1:
            assert_error(act(leader, accepted, "verify_fail"), 422, "validation_failed")
            refused(act(handler, accepted, "verify_fail", reason="x"), 403, "forbidden", [])
        failed = acted(leader, accepted, "verify_fail", reason="灯还是不亮")
        assert failed["state"] == "dispatched" and failed["rework_count"] == round_
        assert failed["assignee_user_id"] == handler.user_id and failed["step"] == "handle"
    acted(handler, accepted, "take")
    acted(handler, accepted, "resolve")
    closed = acted(leader, accepted, "verify_ok")
    assert closed["state"] == "closed" and closed["rework_count"] == 2
    transitions = timeline(admin, accepted)["transitions"]
    fails = [t for t in transitions if t["action"] == "verify_fail"]
    assert [(t["from_state"], t["to_state"], t["data"]) for t in fails] == [
        ("resolved", "dispatched", {"reason": "灯还是不亮"})] * 2


def test_verify_fail_after_handling_it_yourself(admin, leader, accepted):
    acted(admin, accepted, "handle_self")
    acted(admin, accepted, "resolve")
    failed = acted(leader, accepted, "verify_fail", reason="没处理好")
    assert failed["state"] == "dispatched" and failed["assignee_org_id"] == failed["owner"]["id"]
    assert allowed(admin, accepted) == ["take", "return", "escalate"]
    assert acted(admin, accepted, "take")["state"] == "in_progress"


# ---- reopening -----------------------------------------------------------------------------------

def _close(admin, leader, eid):
    acted(admin, eid, "handle_self")
    acted(admin, eid, "resolve")
    return acted(leader, eid, "verify_ok")


def test_reopen_by_the_reporter_within_7_days(admin, leader, accepted, travel):
    _close(admin, leader, accepted)
    later = travel(days=7)  # exactly 7 days: still allowed
    refused(act(admin, accepted, "reopen"), 403, "forbidden", [])
    reopened = acted(leader, accepted, "reopen", note="又坏了")
    assert reopened["state"] == "accepted" and reopened["closed_at"] is None
    assert reopened["step"] == "handle" and at(reopened["deadline_at"]) == later + dt.timedelta(hours=120)
    assert reopened["assignee_user_id"] is None and reopened["assignee_org_id"] is None
    assert timeline(admin, accepted)["transitions"][-1]["actor_role"] == "reporter"
    # and it runs again
    assert acted(admin, accepted, "handle_self")["state"] == "in_progress"


def test_reopen_after_7_days_is_refused(admin, leader, accepted, travel):
    _close(admin, leader, accepted)
    travel(T0 + dt.timedelta(days=7, seconds=1))
    error = assert_error(act(leader, accepted, "reopen"), 409, "reopen_expired")
    assert error["details"]["days"] == 7
    assert leader.get(f"{EVENTS}/{accepted}").json["state"] == "closed"


# ---- escalation --------------------------------------------------------------------------------------

def test_escalation_community_street_district(admin, leader, grid, street_admin, district_admin, tree):
    eid = reported(leader)["id"]
    assert_error(act(admin, eid, "escalate"), 422, "validation_failed")
    up = acted(admin, eid, "escalate", reason="需要街道协调")
    assert up["state"] == "reported" and up["escalations"] == 1
    assert up["owner"] == {"id": tree.street, "kind": "street", "name": "南恩街道"}
    # the community no longer owns it: it sees it, but cannot act on it
    refused(act(admin, eid, "accept"), 403, "forbidden", [])
    refused(act(admin, eid, "escalate", reason="再上报"), 403, "forbidden", [])
    # the street can now act
    assert allowed(street_admin, eid) == ["accept", "reject", "duplicate", "escalate"]
    assert acted(street_admin, eid, "accept")["state"] == "accepted"
    top = acted(street_admin, eid, "escalate", reason="需要区级部门")
    assert top["owner"]["id"] == tree.district and top["escalations"] == 2 and top["state"] == "accepted"
    refused(act(street_admin, eid, "dispatch", to_org_id=tree.unit), 403, "forbidden", [])
    error = assert_error(act(district_admin, eid, "escalate", reason="还要更高"), 409, "no_higher_level")
    assert error["details"] == {}
    assert acted(district_admin, eid, "dispatch", to_org_id=tree.unit)["state"] == "dispatched"
    ups = [t for t in timeline(admin, eid)["transitions"] if t["action"] == "escalate"]
    assert [(t["from_state"], t["to_state"], t["data"]) for t in ups] == [
        ("reported", "reported", {"reason": "需要街道协调", "from_org_id": tree.a, "to_org_id": tree.street}),
        ("accepted", "accepted", {"reason": "需要区级部门", "from_org_id": tree.street,
                                  "to_org_id": tree.district}),
    ]
    assert [t["actor_role"] for t in ups] == ["org_admin", "org_admin"]


@pytest.mark.parametrize("state_path", [[], ["accept"], ["accept", "handle_self"],
                                        ["accept", "handle_self", "resolve"]])
def test_escalate_from_any_open_state(admin, leader, grid, state_path, tree):
    eid = reported(leader)["id"]
    for action in state_path:
        acted(admin, eid, action)
    before = admin.get(f"{EVENTS}/{eid}").json["state"]
    up = acted(admin, eid, "escalate", reason="升级")
    assert up["state"] == before and up["owner"]["id"] == tree.street


# ---- unverified reports ------------------------------------------------------------------------------

def test_resident_report_is_unverified_until_a_leader_confirms(admin, leader, grid, resident):
    eid = reported(resident)["id"]
    event = resident.get(f"{EVENTS}/{eid}").json
    assert event["state"] == "unverified" and event["reporter_role"] == "resident"
    assert event["allowed_actions"] == []
    refused(act(resident, eid, "confirm"), 403, "forbidden", [])
    refused(act(resident, eid, "accept"), 409, "action_not_allowed", [])  # not yet: unverified
    assert allowed(leader, eid) == ["confirm"]
    assert allowed(admin, eid) == ["confirm", "reject", "duplicate", "escalate"]
    confirmed = acted(leader, eid, "confirm", note="现场确认")
    assert confirmed["state"] == "reported"
    refused(act(resident, eid, "accept"), 403, "forbidden", [])  # a resident never accepts
    assert acted(admin, eid, "accept")["state"] == "accepted"
    transitions = timeline(resident, eid)["transitions"]
    assert [(t["action"], t["actor_role"], t["from_state"], t["to_state"]) for t in transitions] == [
        ("report", "resident", None, "unverified"), ("confirm", "grid_leader", "unverified", "reported"),
        ("accept", "org_admin", "reported", "accepted")]


def test_member_report_is_unverified(member, leader, grid):
    party_member = member()
    event = reported(party_member)
    assert event["state"] == "unverified" and event["reporter_role"] == "member"


def test_admin_may_reject_an_unverified_report(admin, grid, resident):
    eid = reported(resident)["id"]
    assert acted(admin, eid, "reject", reason="重复提交")["state"] == "rejected"


def test_leader_of_another_grid_cannot_confirm(admin, leader, grid, make_grid, make_leader, tree,
                                              resident, leader_b):
    other_grid = make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    other_leader = make_leader(admin, other_grid.id)
    eid = reported(resident)["id"]
    # they cannot see it at all...
    assert_error(act(other_leader, eid, "confirm"), 404, "not_found")
    assert_error(act(leader_b, eid, "confirm"), 404, "not_found")
    # ... nor follow it, even once they reported in this community ...
    own = reported(resident, location=INSIDE_A2)
    reported(other_leader, location=INSIDE_A2, category="sanitation")
    assert_error(other_leader.post(f"{EVENTS}/{eid}/follow", json={}), 404, "not_found")
    # ... and what they see in this grid (their own report there) they still may not confirm
    theirs = reported(other_leader, title="路灯又坏了")
    assert theirs["grid_id"] == grid.id and theirs["state"] == "unverified"
    refused(act(other_leader, theirs["id"], "confirm"), 403, "forbidden", [])
    assert acted(leader, eid, "confirm")["state"] == "reported"
    # their own grid's reports are theirs to confirm
    assert own["grid_id"] == other_grid.id
    assert acted(other_leader, own["id"], "confirm")["state"] == "reported"


def test_building_and_lane_leaders_confirm_and_verify(admin, grid, make_leader, resident):
    building = make_leader(admin, grid.id, "building_leader", buildings=["1 栋"])
    lane = make_leader(admin, grid.id, "lane_leader", lanes=["一巷"])
    eid = reported(resident)["id"]
    assert acted(building, eid, "confirm")["state"] == "reported"
    acted(admin, eid, "accept")
    acted(admin, eid, "handle_self")
    acted(admin, eid, "resolve")
    assert acted(lane, eid, "verify_ok")["state"] == "closed"
    roles = [t["actor_role"] for t in timeline(admin, eid)["transitions"]]
    assert roles == ["resident", "building_leader", "org_admin", "org_admin", "org_admin", "lane_leader"]


# ---- which grid ------------------------------------------------------------------------------

def test_grid_from_location_else_from_the_reporter(admin, leader, grid, make_grid, make_leader, tree, resident):
    assert_error(report(resident, location=OUTSIDE), 422, "no_grid")
    assert_error(report(admin, location=OUTSIDE), 422, "no_grid")
    own = reported(leader, location=OUTSIDE)
    assert own["grid_id"] == grid.id and own["state"] == "reported"
    assert own["location"]["lat"] == OUTSIDE["lat"]
    # a leader reporting in another grid is just a resident there
    other = make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    there = reported(leader, location=INSIDE_A2)
    assert there["grid_id"] == other.id and there["state"] == "unverified"
    assert there["reporter_role"] == "resident"
    # a leader of two grids outside both: which one? none
    make_leader(admin, other.id, openid="o-grid-leader")
    assert_error(report(leader, location=OUTSIDE), 422, "no_grid")
    assert len(leader.get(f"{EVENTS}?mine=true").json["items"]) == 2


def test_wgs84_location_is_converted(leader, grid):
    gcj = wgs84_to_gcj02(INSIDE["lat"], INSIDE["lng"])
    wgs = {"lat": INSIDE["lat"] - (gcj.lat - INSIDE["lat"]), "lng": INSIDE["lng"] - (gcj.lng - INSIDE["lng"]),
           "coord_system": "wgs84", "accuracy": 30}
    event = reported(leader, location=wgs)
    assert event["grid_id"] == grid.id
    assert abs(event["location"]["lat"] - INSIDE["lat"]) < 1e-4
    assert abs(event["location"]["lng"] - INSIDE["lng"]) < 1e-4
    assert event["location"]["coord_system"] == "gcj02"


@pytest.mark.parametrize("change, field", [
    ({"description": "x" * 2001}, "description"),
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"urgency": "very"}, "urgency"),
    ({"location": {"lat": 91, "lng": 111.9}}, "location"),
    ({"location": None}, "location"),
    ({"photo_ids": ["a"]}, "photo_ids"),
    ({"category": None}, "category"),
])
def test_report_input_is_checked(leader, grid, change, field):
    error = assert_error(leader.post(EVENTS, json=event_body(**change)), 422, "validation_failed")
    assert field in error["details"]["fields"]
    assert leader.get(EVENTS).json["items"] == []


def test_description_of_2000_characters(leader, grid):
    assert reported(leader, description="长" * 2000)["description"] == "长" * 2000


def test_a_retried_report_creates_one_event(leader, grid):
    headers = {"Idempotency-Key": "report-1"}
    first = leader.post(EVENTS, json=event_body(), headers=headers)
    again = leader.post(EVENTS, json=event_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["event"]["id"] == first.json["event"]["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(leader.get(EVENTS).json["items"]) == 1


# ---- the rest of the surface ----------------------------------------------------------------------

def test_comments_join_the_timeline(admin, leader, grid, resident, admin_b):
    eid = reported(leader)["id"]
    first = admin.post(f"{EVENTS}/{eid}/comments", json={"body": "明天派人去看"})
    assert first.status_code == 201, first.json
    assert first.headers["Location"].endswith(f"{EVENTS}/{eid}/timeline")
    assert leader.post(f"{EVENTS}/{eid}/comments", json={"body": "好的"}).status_code == 201
    assert_error(admin.post(f"{EVENTS}/{eid}/comments", json={"body": ""}), 422, "validation_failed")
    assert_error(resident.post(f"{EVENTS}/{eid}/comments", json={"body": "路过"}), 404, "not_found")
    assert_error(admin_b.post(f"{EVENTS}/{eid}/comments", json={"body": "路过"}), 404, "not_found")
    comments = timeline(leader, eid)["comments"]
    assert [(c["user_id"], c["body"]) for c in comments] == [(admin.user_id, "明天派人去看"),
                                                            (leader.user_id, "好的")]


def test_unknown_events_and_actions(admin, leader, grid, admin_b):
    eid = reported(leader)["id"]
    for response in (admin.get(f"{EVENTS}/999999"), act(admin, 999_999, "accept"),
                     admin.get(f"{EVENTS}/999999/timeline"), admin_b.get(f"{EVENTS}/{eid}"),
                     act(admin_b, eid, "accept"), admin_b.get(f"{EVENTS}/{eid}/timeline")):
        assert_error(response, 404, "not_found")
    error = assert_error(act(admin, eid, "fly"), 422, "validation_failed")
    assert "action" in error["details"]["fields"]


def test_wrong_state_lists_what_is_allowed(admin, leader, grid):
    eid = reported(leader)["id"]
    error = assert_error(act(admin, eid, "resolve"), 409, "action_not_allowed")
    assert error["details"]["allowed_actions"] == ["accept", "reject", "duplicate", "escalate"]
    assert error["details"]["state"] == "reported" and error["details"]["action"] == "resolve"
    refused(act(leader, eid, "take"), 409, "action_not_allowed", [])


# ---- who owns a report, who reports straight through, who approves extensions ------------------

def test_a_category_handled_by_the_street_is_owned_by_the_street_from_the_start(
        admin, leader, grid, street_admin, tree):
    event = reported(leader, category="illegal_construction", title="违章搭建")
    assert event["owner"]["id"] == tree.street
    assert event["community"]["id"] == tree.a
    # the community cannot accept it; the street can
    refused_code = act(admin, event["id"], "accept")
    assert refused_code.status_code == 403
    assert acted(street_admin, event["id"], "accept")["state"] == "accepted"


def test_a_community_admin_reports_straight_to_reported(admin, grid):
    event = reported(admin)
    assert event["state"] == "reported" and event["reporter_role"] == "org_admin"


def test_the_dispatcher_approves_an_extension(admin, leader, grid, login, tree):
    from app.orgs.services import grant_role

    dispatcher = login("o-dispatcher")
    grant_role(None, tree.a, dispatcher.user_id, "org_admin")
    handler = login("o-handler")
    eid = reported(leader)["id"]
    acted(dispatcher, eid, "accept")
    acted(dispatcher, eid, "dispatch", to_user_id=handler.user_id)
    acted(handler, eid, "take")
    before = acted(handler, eid, "extend", hours=24)
    assert before["pending_extension_hours"] == 24
    # the reporter (a leader) may not approve; the dispatcher may
    assert act(leader, eid, "approve_extension").status_code == 403
    after = acted(dispatcher, eid, "approve_extension")
    assert at(after["deadline_at"]) - at(before["deadline_at"]) == dt.timedelta(hours=24)
    assert after["pending_extension_hours"] is None


def test_possible_duplicates_never_show_another_communitys_events(leader_b, grid_b, tree):
    from app.common.db import utcnow
    from app.common.geo import Point
    from app.grid.reporting import possible_duplicates

    theirs = reported(leader_b, location=INSIDE_B)
    here = Point(INSIDE_B["lat"] + 0.0002, INSIDE_B["lng"])  # about 22 m away
    assert [e.id for e in possible_duplicates("facilities", here, utcnow(), tree.b)] == [theirs["id"]]
    assert possible_duplicates("facilities", here, utcnow(), tree.a) == []
