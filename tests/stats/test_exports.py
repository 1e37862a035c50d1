"""The statistics as XLSX: the same figures as the JSON answers, Chinese
headers, the same permission check and the same validation."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.checkin.models import CheckinDailyCount
from app.extensions import db
from app.grid.categories import ensure_default_categories
from tests.conftest import assert_error

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
SQUARE = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                              [111.959, 21.861], [111.959, 21.855]]]}


def around_today(org_id: int) -> dict:
    """Yesterday to tomorrow, Shanghai days (these tests run on the real clock)."""
    today = dt.datetime.now(SHANGHAI).date()
    return {"org_id": org_id, "from": (today - dt.timedelta(days=1)).isoformat(),
            "to": (today + dt.timedelta(days=1)).isoformat()}


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))


def rows(book, sheet):
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


@pytest.fixture
def centers(admin, tree):
    made = []
    for name in ("丰泽社区党群服务中心", "丰泽二站"):
        response = admin.post("/api/v1/centers", json={"org_id": tree.a, "name": name,
                                                       "location": {"lat": 21.858, "lng": 111.962}})
        assert response.status_code == 201, response.json
        made.append(response.json["id"])
    counts = [(made[0], dt.date(2026, 11, 26), "visit", 3), (made[0], dt.date(2026, 11, 26), "meeting", 2),
              (made[1], dt.date(2026, 11, 27), "visit", 4), (made[1], dt.date(2026, 12, 5), "visit", 9)]
    for center_id, day, purpose, count in counts:
        db.session.add(CheckinDailyCount(center_id=center_id, day=day, purpose=purpose, count=count))
    db.session.commit()
    return made


def test_checkins_workbook_holds_the_json_figures(admin, tree, centers):
    query = {"org_id": tree.a, "from": "2026-11-26", "to": "2026-11-30"}
    answer = admin.get("/api/v1/stats/checkins", query_string=query).json
    book = workbook(admin.get("/api/v1/stats/checkins.xlsx", query_string=query))
    assert book.sheetnames == ["按日", "按阵地"]
    days = rows(book, "按日")
    assert days[0] == ["日期", "签到人次"]
    assert [(r[0].date(), r[1]) for r in days[1:-1]] == [(dt.date(2026, 11, 26), 5), (dt.date(2026, 11, 27), 4)]
    assert days[-1] == ["合计", answer["total"]] == ["合计", 9]
    assert rows(book, "按阵地") == [["阵地", "签到人次"], ["丰泽社区党群服务中心", 5], ["丰泽二站", 4]]
    assert [c["checkins"] for c in answer["centers"]] == [5, 4]
    assert book.properties.title == "丰泽社区阵地签到统计（2026-11-26至2026-11-30）"
    disposition = admin.get("/api/v1/stats/checkins.xlsx", query_string=query).headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition  # the Chinese name survives


def test_volunteers_workbook(admin, tree, login):
    start = dt.datetime(2030, 1, 1, 1, 0, tzinfo=dt.UTC)
    resident = login("resident-x")
    response = resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "errands", "description": "买菜", "contact_phone": "13800138001",
        "window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=2)).isoformat()})
    assert response.status_code == 201, response.json
    volunteer = login("vol-x")
    assert volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
    period = around_today(tree.street)
    # community A's admin cannot read the street above it
    assert_error(admin.get("/api/v1/stats/volunteers.xlsx", query_string=period), 404, "not_found")
    period["org_id"] = tree.a
    answer = admin.get("/api/v1/stats/volunteers", query_string=period).json
    book = workbook(admin.get("/api/v1/stats/volunteers.xlsx", query_string=period))
    assert book.sheetnames == ["志愿服务", "求助单", "任务"]
    figures = dict(rows(book, "志愿服务")[1:])
    assert rows(book, "志愿服务")[0] == ["指标", "数值"]
    assert figures["注册志愿者"] == answer["volunteers"]["total"] == 1
    assert figures["服务人次"] == answer["person_times"] == 0
    assert figures["服务时长（小时）"] == answer["hours"] == 0
    assert figures["平均评分"] is None
    assert dict(rows(book, "求助单")[1:])["待审核"] == answer["requests_by_state"]["submitted"] == 1


def test_grid_workbook(admin, tree, login):
    ensure_default_categories()
    grid = admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "第一网格", "households": 10,
                                             "boundary": SQUARE})
    assert grid.status_code == 201, grid.json
    for title in ("路灯坏了", "井盖松动"):
        response = admin.post("/api/v1/grid-events", json={
            "category": "facilities", "title": title, "location": {"lat": 21.858, "lng": 111.962}})
        assert response.status_code == 201, response.json
    period = around_today(tree.a)
    answer = admin.get("/api/v1/stats/grid", query_string=period).json
    book = workbook(admin.get("/api/v1/stats/grid.xlsx", query_string=period))
    assert book.sheetnames == ["按状态", "按类别", "概况"]
    by_state = rows(book, "按状态")
    assert by_state[0] == ["状态", "事件数"]
    assert dict(by_state[1:])["已上报"] == answer["events_by_state"]["reported"] == 2
    assert sum(r[1] for r in by_state[1:]) == 2
    assert rows(book, "按类别") == [["类别", "事件数"], ["设施损坏", 2]]
    overview = dict(rows(book, "概况")[1:])
    assert overview["网格"] == 1 and overview["按时结案率"] is None


def test_badges_workbook(admin, tree):
    query = {"org_id": tree.a, **PERIOD}
    answer = admin.get("/api/v1/stats/badges", query_string=query).json
    book = workbook(admin.get("/api/v1/stats/badges.xlsx", query_string=query))
    assert book.properties.title == "丰泽社区亮身份统计（2026-11-01至2026-11-30）"
    figures = dict(rows(book, "亮身份")[1:])
    assert figures["示范岗"] == answer["posts"] == 0
    assert figures["商户牌（待审核）"] == answer["merchant_plates"]["pending"]
    assert len(figures) == 11


@pytest.mark.parametrize("name", ["checkins", "volunteers", "grid", "badges"])
def test_every_export_refuses_what_the_json_refuses(name, client, login, login_as, tree):
    dates = PERIOD
    path = f"/api/v1/stats/{name}.xlsx"
    assert_error(client.get(path, query_string={"org_id": tree.a, **dates}), 401, "unauthorized")
    # no role: the subtree is not visible
    assert_error(login("nobody").get(path, query_string={"org_id": tree.a, **dates}), 404, "not_found")
    # another community's admin: not their subtree
    other = login_as("org_admin", tree.b)
    assert_error(other.get(path, query_string={"org_id": tree.a, **dates}), 404, "not_found")
    # a leader sees the node but may not read statistics
    leader = login_as("grid_leader", tree.a)
    assert_error(leader.get(path, query_string={"org_id": tree.a, **dates}), 403, "forbidden")
    admin = login_as("org_admin", tree.a)
    assert_error(admin.get(path, query_string={**dates}), 422, "validation_failed")
    assert_error(admin.get(path, query_string={"org_id": "x", **dates}), 422, "validation_failed")
    assert_error(admin.get(path, query_string={"org_id": 2**31 + 5, **dates}), 422, "validation_failed")
    backwards = {"from": dates["to"], "to": dates["from"]}
    assert_error(admin.get(path, query_string={"org_id": tree.a, **backwards}), 422, "validation_failed")
    assert_error(admin.get(path, query_string={"org_id": tree.a, "from": "yesterday", "to": dates["to"]}),
                 422, "validation_failed")


@pytest.mark.parametrize("name", ["checkins", "volunteers", "grid", "badges"])
def test_every_export_is_bounded_to_366_days(name, admin, tree):
    path = f"/api/v1/stats/{name}.xlsx"
    longest = {"org_id": tree.a, "from": "2025-01-01", "to": "2026-01-01"}  # 366 days, both ends counted
    workbook(admin.get(path, query_string=longest))
    response = admin.get(path, query_string={**longest, "to": "2026-01-02"})
    assert set(assert_error(response, 422, "validation_failed")["details"]["fields"]) == {"to"}


def test_the_exports_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    path = spec["paths"]["/api/v1/stats/{name}.xlsx"]
    operation = path["get"]
    assert XLSX in operation["responses"]["200"]["content"]
    assert {"403", "404", "422"} <= set(operation["responses"])
    (name,) = [p for p in path["parameters"] if p["in"] == "path"]
    assert sorted(name["schema"]["enum"]) == ["badges", "checkins", "grid", "volunteers"]


def test_an_unknown_export_is_not_found(admin, tree):
    assert_error(admin.get("/api/v1/stats/members.xlsx", query_string={"org_id": tree.a}), 404, "not_found")


@pytest.mark.parametrize("name", ["checkins", "volunteers", "grid", "badges"])
def test_every_export_reads_days_not_times(name, admin, tree):
    # one period for all: whole days; a time with its offset is refused, naming the field
    query = {"org_id": tree.a, "from": "2026-11-01T00:00:00+08:00", "to": PERIOD["to"]}
    response = admin.get(f"/api/v1/stats/{name}.xlsx", query_string=query)
    assert set(assert_error(response, 422, "validation_failed")["details"]["fields"]) == {"from"}
