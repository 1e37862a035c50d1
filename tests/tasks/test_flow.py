"""The whole 点单 → 派单 → 接单 → check-in/out → 评单 flow through HTTP."""
from __future__ import annotations

import datetime as dt

import time_machine

HERE = {"lat": 21.8580, "lng": 111.9620}
T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)  # 09:00 in Yangjiang


def iso(t):
    return t.isoformat()


def test_resident_orders_community_dispatches_member_accepts_resident_rates(login, login_as, member, tree):
    with time_machine.travel(T0, tick=False) as clock:
        resident = login("o-resident")
        admin = login_as("org_admin", tree.a)
        volunteer = member()
        start, end = T0 + dt.timedelta(hours=4), T0 + dt.timedelta(hours=6)
        # 点单
        request = resident.post("/api/v1/help-requests", json={
            "community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
            "location": HERE, "window_start": iso(start), "window_end": iso(end),
            "contact_phone": "13900001111"})
        assert request.status_code == 201, request.json
        assert request.json["contact_phone"] == "139****1111"
        # 派单
        task = admin.post("/api/v1/tasks", json={
            "help_request_id": request.json["id"], "title": "陪诊", "starts_at": iso(start),
            "ends_at": iso(end), "places": 1})
        assert task.status_code == 201, task.json
        task_id = task.json["id"]
        assert admin.post(f"/api/v1/tasks/{task_id}/publish", json={}).status_code == 200
        # 接单
        assert volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
        accepted = volunteer.post(f"/api/v1/tasks/{task_id}/accept", json={})
        assert accepted.status_code == 201, accepted.json
        seen = volunteer.get(f"/api/v1/help-requests/{request.json['id']}")
        assert seen.json["contact_phone"] == "13900001111"
        # on the day
        clock.move_to(start + dt.timedelta(minutes=5))
        for api in (resident, admin, volunteer):
            api.refresh()
        assert volunteer.post(f"/api/v1/tasks/{task_id}/check-in", json={"location": HERE}).status_code == 200
        clock.move_to(start + dt.timedelta(hours=1, minutes=35))
        for api in (resident, admin, volunteer):
            api.refresh()
        out = volunteer.post(f"/api/v1/tasks/{task_id}/check-out", json={"location": HERE})
        assert out.status_code == 200, out.json
        # 评单
        confirmed = resident.post(f"/api/v1/participations/{out.json['id']}/confirm",
                                  json={"score": 5, "comment": "非常耐心"})
        assert confirmed.status_code == 200, confirmed.json
        record = volunteer.get("/api/v1/me/volunteer-record").json
        assert record["total_hours"] == 1.5
        assert record["person_times"] == 1
        stats = admin.get("/api/v1/stats/volunteers", query_string={
            "org_id": tree.a, "from": (T0 - dt.timedelta(days=1)).date().isoformat(),
            "to": (T0 + dt.timedelta(days=1)).date().isoformat()})
        assert stats.status_code == 200, stats.json
        assert stats.json["hours"] == 1.5 and stats.json["person_times"] == 1
