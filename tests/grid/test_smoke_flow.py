from tests.grid.conftest import INSIDE


def act(api, event_id, action, **extra):
    return api.post(f"/api/v1/grid-events/{event_id}/transitions", json={"action": action, **extra})


def test_report_to_close(admin, leader, grid):
    reported = leader.post("/api/v1/grid-events", json={
        "category": "facilities", "title": "路灯不亮", "description": "丰泽路 3 号路灯坏了",
        "location": INSIDE, "urgency": "normal"})
    assert reported.status_code == 201, reported.json
    event = reported.json["event"]
    assert event["state"] == "reported" and event["grid_id"] == grid.id and event["light"] == "green"
    eid = event["id"]
    for who, action, extra, state in [(admin, "accept", {}, "accepted"),
                                      (admin, "handle_self", {}, "in_progress"),
                                      (admin, "resolve", {"note": "已更换灯泡"}, "resolved"),
                                      (leader, "verify_ok", {}, "closed")]:
        response = act(who, eid, action, **extra)
        assert response.status_code == 200, (action, response.json)
        assert response.json["state"] == state
    timeline = admin.get(f"/api/v1/grid-events/{eid}/timeline").json
    assert [t["action"] for t in timeline["transitions"]] == ["report", "accept", "handle_self",
                                                             "resolve", "verify_ok"]
    assert all(t["in_time"] in (True, None) for t in timeline["transitions"])
    wrong = act(admin, eid, "accept")
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "action_not_allowed"
