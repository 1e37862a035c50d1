"""The console's operations, in Chromium against the real API: volunteer
service (a resident's help request becomes a task, volunteers serve, the
dashboard counts it), grid events (reported with a photo, dispatched on the
board, resolved, shown with timeline and photo), and the dashboard's XLSX
export. The admin's steps are driven in the console; everyone else's go
through the API, as their phones would."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from PIL import Image
from playwright.sync_api import expect

from app.checkin.models import CheckinDailyCount
from app.common.db import LOCAL_TZ
from app.extensions import db
from app.grid.categories import ensure_default_categories

HERE = {"lat": 21.858, "lng": 111.962}  # inside SQUARE (丰泽社区, GCJ-02)
SQUARE = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                              [111.959, 21.861], [111.959, 21.855]]]}


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.json


def figure(page, key: str) -> str:
    return page.locator(f"[data-figure={key}] .value").inner_text()


def cells(page, label: str) -> list[list[str]]:
    """The body rows of the table named ``label``, as the page shows them."""
    locator = page.locator(f"table[aria-label='{label}']")
    expect(locator).to_be_visible()
    return locator.evaluate(
        "t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent.trim()))")


def workbook(download):
    with open(download.path(), "rb") as file:  # (the saved file has no extension for openpyxl to trust)
        return load_workbook(io.BytesIO(file.read()))


def local_input(moment: dt.datetime) -> str:
    """A value for <input type=datetime-local> in the browser's zone (Asia/Shanghai)."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


def png_bytes() -> bytes:
    image = Image.new("RGB", (160, 120), (200, 30, 30))
    for x in range(40, 120):
        for y in range(30, 90):
            image.putpixel((x, y), (255, 220, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def admin(login_as, tree):
    return login_as("org_admin", tree.a, openid="console-admin-a")


@pytest.fixture
def volunteers(member, tree):
    made = []
    for n, name in enumerate(("李志红", "王建国"), start=1):
        api = member(name=name, phone=f"1391234000{n}", branch_id=tree.a1, openid=f"vol-member-{n}")
        ok(api.put("/api/v1/me/volunteer", json={"community_id": tree.a, "skills": ["跑腿"]}), 201)
        made.append(api)
    return made


def test_a_help_request_becomes_a_task_and_the_dashboard_counts_the_service(
        pages, shot, admin, volunteers, login, tree):
    resident = login("resident-asks")
    now = dt.datetime.now(dt.UTC)
    start, end = now + dt.timedelta(minutes=30), now + dt.timedelta(hours=2, minutes=30)
    request = ok(resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "errands", "description": "腿脚不便，请人帮忙买药和买菜",
        "address": "丰泽路 12 号 3 栋 502", "location": HERE, "contact_phone": "13800138111",
        "window_start": start.isoformat(), "window_end": end.isoformat()}), 201)

    # before: the dashboard's figures
    page = pages.console(api=admin, path="/admin/#/")
    expect(page.locator("#nav a.active")).to_have_text("数据看板")
    expect(page.locator("[data-figure=person_times] .value")).to_have_text("0")
    assert figure(page, "hours") == "0"
    assert figure(page, "volunteers") == "2"

    # the admin reviews the request and turns it into a task, published
    page.click("#nav >> text=群众求助")
    row = page.locator("table[aria-label=求助列表] tbody tr", has_text="买药")
    expect(row).to_contain_text("待审核")
    expect(row).to_contain_text("138****8111")
    shot(page, "console-help-requests")
    row.get_by_role("button", name="转为任务").click()
    expect(page.locator("h2")).to_have_text("由求助生成任务")
    form = page.locator("form.card")
    expect(form.locator("[name=description]")).to_have_value("腿脚不便，请人帮忙买药和买菜")
    expect(form.locator("[name=address]")).to_have_value("丰泽路 12 号 3 栋 502")
    expect(form.locator("[name=category]")).to_have_value("errands")
    assert form.locator("[name=starts_at]").input_value() == local_input(start)
    form.locator("[name=title]").fill("帮张阿姨买药买菜")
    form.locator("[name=places]").fill("2")
    shot(page, "console-task-from-request")
    form.get_by_role("button", name="创建并发布").click()
    expect(page.locator("h2")).to_contain_text("帮张阿姨买药买菜")
    expect(page.locator("h2 .tag")).to_have_text("已发布")
    task_id = int(page.url.rsplit("id=", 1)[1])
    task = ok(admin.get(f"/api/v1/tasks/{task_id}"))
    assert (task["help_request_id"], task["places"], task["state"]) == (request["id"], 2, "published")
    assert ok(resident.get(f"/api/v1/help-requests/{request['id']}"))["state"] == "dispatched"
    # the on-site code shows as a QR image
    code = page.locator("#task-code img")
    expect(code).to_have_attribute("data-qr-text", re.compile(r"^https://.+/q/"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=code.element_handle())

    # two members accept, and check in and out with the organizer's code (their phones)
    for volunteer in volunteers:
        ok(volunteer.post(f"/api/v1/tasks/{task_id}/accept", json={}), 201)
    for volunteer in volunteers:
        qr_text = ok(admin.get(f"/api/v1/tasks/{task_id}/code"))["qr_text"]
        ok(volunteer.post(f"/api/v1/tasks/{task_id}/check-in", json={"code": qr_text}))
        ok(volunteer.post(f"/api/v1/tasks/{task_id}/check-out", json={"code": qr_text}))

    # the admin records the real service time (1.5 h each): the resident confirms, not the admin
    page.reload()
    people = page.locator("table[aria-label=参与志愿者] tbody tr")
    expect(people).to_have_count(2)
    expect(people.first).to_contain_text("已签退")
    expect(people.first).to_contain_text("待群众确认")
    assert page.locator("[data-action=confirm]").count() == 0
    served_from, served_to = now - dt.timedelta(hours=2), now - dt.timedelta(minutes=30)
    for index in range(2):
        page.locator("table[aria-label=参与志愿者] tbody tr").nth(index).locator("[data-action=set-times]").click()
        dialog = page.locator("dialog[open]")
        dialog.locator("[name=checked_in_at]").fill(local_input(served_from))
        dialog.locator("[name=checked_out_at]").fill(local_input(served_to))
        dialog.get_by_role("button", name="确定").click()
        expect(page.locator("dialog[open]")).to_have_count(0)
        expect(page.locator("table[aria-label=参与志愿者] tbody tr").nth(index)).to_contain_text("1.50")
    shot(page, "console-task-participants")

    # the resident confirms and rates each (their phone)
    for participation in ok(admin.get(f"/api/v1/tasks/{task_id}/participants"))["items"]:
        ok(resident.post(f"/api/v1/participations/{participation['id']}/confirm",
                         json={"score": 5, "comment": "很耐心"}))
    page.reload()
    expect(page.locator("table[aria-label=参与志愿者] tbody tr", has_text="已确认")).to_have_count(2)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="完成").click()
    expect(page.locator("h2 .tag")).to_have_text("已完成")
    assert ok(resident.get(f"/api/v1/help-requests/{request['id']}"))["state"] == "closed"

    # after: two person-times and three hours on the dashboard. A task counts
    # on its starting day, in Shanghai: the period runs to that day (30 minutes
    # ahead, it is tomorrow from 23:30 on).
    start_day = start.astimezone(LOCAL_TZ).date()
    page.goto(page.url.split("#", 1)[0] + f"#/?from={start_day - dt.timedelta(days=29)}&to={start_day}")
    expect(page.locator("[data-figure=person_times] .value")).to_have_text("2")
    assert figure(page, "hours") == "3"
    rows = dict(cells(page, "志愿服务"))
    assert rows["服务人次"] == "2" and rows["服务时长（小时）"] == "3" and rows["平均评分"] == "5"
    assert dict(cells(page, "任务"))["已完成"] == "1"
    shot(page, "console-dashboard-after-service")


def test_the_tasks_list_and_a_rejected_request(pages, shot, admin, login, tree):
    resident = login("resident-rejected")
    now = dt.datetime.now(dt.UTC)
    request = ok(resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "repairs", "description": "修理自家空调",
        "contact_phone": "13800138222", "window_start": (now + dt.timedelta(days=1)).isoformat(),
        "window_end": (now + dt.timedelta(days=1, hours=2)).isoformat()}), 201)
    page = pages.console(api=admin, path="/admin/#/help-requests")
    page.locator("tr", has_text="修理自家空调").get_by_role("button", name="驳回").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_role("button", name="驳回").click()  # the reason is required
    expect(page.locator("dialog[open]")).to_have_count(1)
    dialog.locator("[name=reason]").fill("属于家电维修商业服务，请联系厂家售后")
    dialog.get_by_role("button", name="驳回").click()
    expect(page.locator("table[aria-label=求助列表]")).to_have_count(0)
    expect(page.locator(".empty")).to_have_text("没有待审核的求助")
    answer = ok(resident.get(f"/api/v1/help-requests/{request['id']}"))
    assert answer["state"] == "rejected" and answer["reject_reason"].startswith("属于家电维修")

    # a task of the community's own, from the form: a draft, then published from its page
    page.click("#nav >> text=志愿任务")
    page.get_by_role("link", name="新建任务").click()
    form = page.locator("form.card")
    form.locator("[name=title]").fill("周末清洁家园")
    form.locator("[name=lat]").fill(str(HERE["lat"]))
    form.locator("[name=lng]").fill(str(HERE["lng"]))
    form.locator("[name=ends_at]").fill(form.locator("[name=starts_at]").input_value()[:11] + "00:00")
    form.get_by_role("button", name="保存为草稿").click()
    expect(form.locator("[role=alert]")).to_be_visible()  # ends before it starts: the API's message
    assert "结束" in form.locator("[role=alert]").inner_text()
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    form.locator("[name=starts_at]").fill(local_input(tomorrow))
    form.locator("[name=ends_at]").fill(local_input(tomorrow + dt.timedelta(hours=3)))
    form.get_by_role("button", name="保存为草稿").click()
    expect(page.locator("h2 .tag")).to_have_text("草稿")
    page.locator("[data-action=publish]").click()
    expect(page.locator("h2 .tag")).to_have_text("已发布")
    # edit it: more places
    page.locator("[data-action=edit]").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("[name=title]")).to_have_value("周末清洁家园")
    dialog.locator("[name=places]").fill("8")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator(".figure", has_text="名额")).to_contain_text("0 / 8")
    page.click("#nav >> text=志愿任务")
    expect(page.locator("table[aria-label=任务列表] tbody tr", has_text="周末清洁家园")).to_contain_text("已发布")
    shot(page, "console-tasks")
    page.select_option("select[name=state]", "cancelled")
    expect(page.locator(".empty")).to_have_text("没有符合条件的任务")


@pytest.fixture
def grid_setup(admin, login, login_as, tree):
    ensure_default_categories()
    grid = ok(admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "丰泽第一网格",
                                                "households": 320, "boundary": SQUARE}), 201)
    leader = login("building-leader-3")
    ok(admin.post(f"/api/v1/grids/{grid['id']}/leaders",
                  json={"user_id": leader.user_id, "role": "building_leader", "buildings": ["3栋"]}), 201)
    company = ok(admin.post("/api/v1/orgs", json={"parent_id": tree.a, "kind": "property_company",
                                                  "name": "丰泽物业公司"}), 201)
    handler = login_as("org_admin", company["id"], openid="property-handler")
    return grid, leader, company, handler


def test_an_event_is_dispatched_on_the_board_resolved_and_shown_with_its_photo(
        pages, shot, admin, grid_setup):
    _, leader, company, handler = grid_setup
    photo = ok(leader.post("/api/v1/uploads", data={"file": (io.BytesIO(png_bytes()), "lamp.png", "image/png")},
                           content_type="multipart/form-data"), 201)
    event = ok(leader.post("/api/v1/grid-events", json={
        "category": "facilities", "title": "3栋楼道灯不亮", "description": "三楼到五楼的灯都坏了，晚上很黑",
        "location": HERE, "urgency": "urgent", "photo_ids": [photo["id"]]}), 201)["event"]
    other = ok(leader.post("/api/v1/grid-events", json={
        "category": "sanitation", "title": "垃圾桶满溢", "location": HERE}), 201)["event"]
    assert event["state"] == "reported"

    page = pages.console(api=admin, path="/admin/#/grid")
    reported = page.locator(".column[data-state=reported]")
    expect(reported.locator(".event-card")).to_have_count(2)
    # the urgent event's step is shorter: its light is no later than the other's, so it comes first
    expect(reported.locator(".event-card").first).to_have_attribute("data-event-id", str(event["id"]))
    expect(reported.locator(".event-card").first.locator("[data-light]")).to_have_attribute("data-light", "green")
    shot(page, "console-grid-board")

    # accept and dispatch from the board
    reported.locator(f"[data-event-id='{event['id']}']").click()
    quick = page.locator("dialog.event-quick")
    expect(quick.locator("[data-action]")).to_have_count(4)  # accept, reject, duplicate, escalate
    quick.locator("[data-action=accept]").click()
    page.locator("dialog[open] form").get_by_role("button", name="受理").click()
    accepted = page.locator(f".column[data-state=accepted] [data-event-id='{event['id']}']")
    expect(accepted).to_be_visible()
    accepted.click()
    page.locator("dialog.event-quick [data-action=dispatch]").click()
    form = page.locator("dialog[open] form")
    expect(form.locator("[name=to_org_id] option", has_text="丰泽物业公司")).to_have_count(1)
    form.locator("[name=to_org_id]").select_option(label="　丰泽物业公司（物业公司）")
    form.locator("[name=note]").fill("请物业今天内更换灯泡")
    shot(page, "console-grid-dispatch")
    form.get_by_role("button", name="派遣").click()
    expect(page.locator(f".column[data-state=dispatched] [data-event-id='{event['id']}']")).to_be_visible()
    assert ok(admin.get(f"/api/v1/grid-events/{event['id']}"))["assignee_org_id"] == company["id"]

    # the handler takes and resolves it (their phone)
    ok(handler.post(f"/api/v1/grid-events/{event['id']}/transitions", json={"action": "take"}))
    ok(handler.post(f"/api/v1/grid-events/{event['id']}/transitions",
                    json={"action": "resolve", "note": "已更换 3 盏 LED 灯"}))

    # the event's page: timeline, photo, and the admin verifies it
    page.get_by_role("button", name="刷新").click()
    resolved = page.locator(f".column[data-state=resolved] [data-event-id='{event['id']}']")
    expect(resolved).to_be_visible()
    resolved.click()
    page.get_by_role("link", name="查看详情、照片与时间线").click()
    expect(page.locator("h2")).to_contain_text("3栋楼道灯不亮")
    timeline = page.locator("ul.timeline > li")
    expect(timeline).to_have_count(5)
    assert [timeline.nth(i).get_attribute("data-action") for i in range(5)] == \
        ["report", "accept", "dispatch", "take", "resolve"]
    expect(timeline.nth(0)).to_contain_text("楼栋长")
    expect(timeline.nth(2)).to_contain_text("请物业今天内更换灯泡")
    expect(timeline.nth(2)).to_contain_text("派给丰泽物业公司")
    expect(page.locator("table.details")).to_contain_text("丰泽物业公司")
    expect(timeline.nth(4)).to_contain_text("已更换 3 盏 LED 灯")
    image = page.locator(f".photos img[data-upload-id='{photo['id']}']")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("img => img.complete && img.naturalWidth === 160", arg=image.element_handle())
    # not checked by WeChat yet: the admin sees it, marked
    expect(page.locator(f"figure[data-check-state=pending]:has(img[data-upload-id='{photo['id']}'])")) \
        .to_contain_text("审核中")
    page.locator("form input[name=body]").fill("居民反映已经亮了")
    page.locator("form").get_by_role("button", name="评论").click()
    expect(page.locator("ul.timeline > li.comment")).to_contain_text("居民反映已经亮了")
    shot(page, "console-grid-event")
    page.locator("[data-action=verify_ok]").click()
    page.locator("dialog[open] form").get_by_role("button", name="核查通过").click()
    expect(page.locator("h2 .tag")).to_have_text("已结案")
    expect(page.locator("#event-actions")).to_contain_text("没有您可执行的操作")
    assert ok(admin.get(f"/api/v1/grid-events/{other['id']}"))["state"] == "reported"


def test_a_refused_action_shows_the_apis_message(pages, admin, grid_setup):
    _, leader, _, _ = grid_setup
    event = ok(leader.post("/api/v1/grid-events", json={
        "category": "safety", "title": "井盖松动", "location": HERE}), 201)["event"]
    page = pages.console(api=admin, path=f"/admin/#/grid-event?id={event['id']}")
    page.locator("[data-action=accept]").click()
    # meanwhile the event is rejected elsewhere
    ok(admin.post(f"/api/v1/grid-events/{event['id']}/transitions",
                  json={"action": "reject", "reason": "已由城管处理"}))
    page.locator("dialog[open] form").get_by_role("button", name="受理").click()
    expect(page.locator("dialog[open] [role=alert]")).to_have_text(
        "事件当前为“不予受理”状态，不能执行“受理”。请刷新页面查看最新状态。")


def test_the_dashboard_exports_its_tables_to_xlsx(pages, shot, admin, volunteers, grid_setup, tree):
    _, leader, _, _ = grid_setup
    for title, category in (("楼道堆放杂物", "safety"), ("路灯损坏", "facilities"), ("污水外溢", "sanitation")):
        ok(leader.post("/api/v1/grid-events", json={"category": category, "title": title, "location": HERE}), 201)
    center = ok(admin.post("/api/v1/centers", json={"org_id": tree.a, "name": "丰泽社区党群服务中心",
                                                    "location": HERE}), 201)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    for days_ago, count in ((0, 7), (2, 4)):
        db.session.add(CheckinDailyCount(center_id=center["id"], day=today - dt.timedelta(days=days_ago),
                                         purpose="visit", count=count))
    db.session.commit()

    page = pages.console(api=admin, path="/admin/#/dashboard")
    expect(page.locator("[data-figure=checkins] .value")).to_have_text("11")
    expect(page.locator("[data-figure=events] .value")).to_have_text("3")
    page.wait_for_function("() => document.querySelectorAll('.chart canvas').length === 5")
    shot(page, "console-dashboard")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366  # nothing overflows

    by_state = cells(page, "事件按状态")
    with page.expect_download() as info:
        page.locator("[data-export=grid]").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "网格事件统计" in download.suggested_filename
    book = workbook(download)
    sheet = [list(r) for r in book["按状态"].iter_rows(values_only=True)]
    assert sheet[0] == ["状态", "事件数"]
    assert [[label, str(count)] for label, count in sheet[1:]] == by_state
    assert dict(by_state)["已上报"] == "3"
    categories = [list(r) for r in book["按类别"].iter_rows(values_only=True)][1:]
    assert [[label, str(count)] for label, count in categories] == cells(page, "事件按类别")

    days = cells(page, "每日签到")
    with page.expect_download() as info:
        page.locator("[data-export=checkins]").click()
    book = workbook(info.value)
    sheet = [list(r) for r in book["按日"].iter_rows(values_only=True)]
    assert sheet[0] == ["日期", "签到人次"]
    shown = [[day.date().isoformat() if isinstance(day, dt.datetime) else day, str(n)] for day, n in sheet[1:]]
    assert shown == days == [[(today - dt.timedelta(days=2)).isoformat(), "4"], [today.isoformat(), "7"],
                             ["合计", "11"]]
    assert [list(r) for r in book["按阵地"].iter_rows(values_only=True)] == [
        ["阵地", "签到人次"], ["丰泽社区党群服务中心", 11]]

    volunteer_rows = cells(page, "志愿服务")
    with page.expect_download() as info:
        page.locator("[data-export=volunteers]").click()
    book = workbook(info.value)
    sheet = [list(r) for r in book["志愿服务"].iter_rows(values_only=True)][1:]
    assert [[label, "—" if value is None else str(value)] for label, value in sheet] == volunteer_rows
    assert dict(volunteer_rows)["注册志愿者"] == "2"

    # a narrower period: yesterday to today leaves out the day two days ago
    page.fill("input[name=from]", (today - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="查询").click()
    expect(page.locator("[data-figure=checkins] .value")).to_have_text("7")


def test_the_organizer_confirms_a_community_task_and_handles_corrections(pages, shot, admin, volunteers, tree):
    now = dt.datetime.now(dt.UTC)
    task = ok(admin.post("/api/v1/tasks", json={
        "community_id": tree.a, "title": "社区义诊引导", "category": "community_service", "location": HERE,
        "starts_at": (now + dt.timedelta(minutes=30)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=3)).isoformat(), "places": 2}), 201)
    ok(admin.post(f"/api/v1/tasks/{task['id']}/publish", json={}))
    for volunteer in volunteers:
        ok(volunteer.post(f"/api/v1/tasks/{task['id']}/accept", json={}), 201)
    for volunteer in volunteers:  # (the first check-in starts the task: no more acceptances)
        qr_text = ok(admin.get(f"/api/v1/tasks/{task['id']}/code"))["qr_text"]
        ok(volunteer.post(f"/api/v1/tasks/{task['id']}/check-in", json={"code": qr_text}))
        ok(volunteer.post(f"/api/v1/tasks/{task['id']}/check-out", json={"code": qr_text}))

    # no help request: the organizer confirms and rates, in the console
    page = pages.console(api=admin, path=f"/admin/#/task?id={task['id']}")
    expect(page.locator("[data-action=confirm]")).to_have_count(2)
    for _ in range(2):
        page.locator("[data-action=confirm]").first.click()
        dialog = page.locator("dialog[open]")
        dialog.locator("[name=score]").select_option("4")
        dialog.locator("[name=comment]").fill("引导有序")
        dialog.get_by_role("button", name="确定").click()
        expect(page.locator("dialog[open]")).to_have_count(0)
    rows = page.locator("table[aria-label=参与志愿者] tbody tr")
    expect(rows.filter(has_text="已确认")).to_have_count(2)
    expect(rows.first).to_contain_text("★★★★")

    # the volunteers ask for corrections (their phones); one is applied, one declined
    participations = {p["user_id"]: p["id"] for p in ok(admin.get(f"/api/v1/tasks/{task['id']}/participants"))["items"]}
    first, second = volunteers
    ok(first.post(f"/api/v1/participations/{participations[first.user_id]}/correction-requests",
                  json={"hours": 2.5, "reason": "提前一小时到场布置"}), 201)
    ok(second.post(f"/api/v1/participations/{participations[second.user_id]}/correction-requests",
                   json={"hours": 6, "reason": "多算了"}), 201)
    page.reload()
    requests = page.locator("h3:has-text('时长更正申请') + .table-wrap tbody tr")
    expect(requests).to_have_count(2)
    requests.filter(has_text="提前一小时").get_by_role("button", name="采纳").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("[name=hours]")).to_have_value("2.5")
    dialog.get_by_role("button", name="采纳").click()
    expect(requests.filter(has_text="提前一小时")).to_contain_text("已采纳")
    requests.filter(has_text="多算了").get_by_role("button", name="驳回").click()
    expect(requests.filter(has_text="多算了")).to_contain_text("已驳回")
    shot(page, "console-task-corrections")
    assert ok(first.get("/api/v1/me/volunteer-record"))["total_hours"] == 2.5
    assert ok(second.get("/api/v1/me/volunteer-record"))["total_hours"] < 1
