"""The issue's journeys across both faces, every person on their own page:
residents, members and leaders on the stand-in (375×667), staff in the
console (1366×768). Only what the journey is not about (the tree, roles,
roster entries, volunteer registration) is set up through the API."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from app.grid.categories import ensure_default_categories
from tests.browser.conftest import HERE

AT = {"lat": HERE["latitude"], "lng": HERE["longitude"]}


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.json


def local_input(moment: dt.datetime) -> str:
    """<input type=datetime-local> in the browser's zone (Asia/Shanghai)."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def admin(login_as, tree):
    return login_as("org_admin", tree.a, openid="journey-admin")


@pytest.fixture
def center(admin, tree):
    """丰泽社区's center where the phones are: how the resident's page finds the community."""
    return ok(admin.post("/api/v1/centers", json={"org_id": tree.a, "name": "丰泽社区党群服务中心",
                                                  "address": "丰泽路 1 号", "location": AT}), 201)


def test_help_asked_dispatched_served_rated_and_counted(pages, shot, admin, member, login, center, tree):
    resident = login("journey-resident")
    volunteers = [member(name="李志红", phone="13912340001", openid="journey-vol-1"),
                  member(name="王建国", phone="13912340002", openid="journey-vol-2")]
    for api in volunteers:
        ok(api.put("/api/v1/me/volunteer", json={"community_id": tree.a, "skills": ["跑腿"]}), 201)

    # The console's dashboard before: nothing served yet.
    console = pages.console(api=admin, path="/admin/#/")
    expect(console.locator("[data-figure=person_times] .value")).to_have_text("0")
    expect(console.locator("[data-figure=hours] .value")).to_have_text("0")

    # 点单: the resident asks on the phone.
    phone = pages.phone(api=resident, openid="journey-resident", path="/mp/#/")
    phone.click("[data-menu='#/help-requests/new']")
    expect(phone.locator("#help-community")).to_contain_text("丰泽社区")
    phone.select_option("#help-category", "errands")
    phone.fill("#help-description", "腿脚不便，请人帮忙买药和买菜")
    phone.fill("#help-address", "丰泽路 12 号 3 栋 502")
    phone.fill("#help-phone", "13800138111")
    phone.click("[data-help-form] button[type=submit]")
    expect(phone.locator("[data-request] [data-state]")).to_have_text("待社区受理")

    # 派单: the admin turns it into a task in the console and publishes it.
    console.click("#nav >> text=群众求助")
    row = console.locator("table[aria-label=求助列表] tbody tr", has_text="买药")
    row.get_by_role("button", name="转为任务").click()
    form = console.locator("form.card")
    expect(form.locator("[name=description]")).to_have_value("腿脚不便，请人帮忙买药和买菜")
    now = dt.datetime.now(dt.UTC)
    form.locator("[name=title]").fill("帮张阿姨买药买菜")
    form.locator("[name=starts_at]").fill(local_input(now + dt.timedelta(minutes=30)))
    form.locator("[name=ends_at]").fill(local_input(now + dt.timedelta(hours=3)))
    form.locator("[name=places]").fill("2")
    form.get_by_role("button", name="创建并发布").click()
    expect(console.locator("h2 .tag")).to_have_text("已发布")
    task_id = int(console.url.rsplit("id=", 1)[1])

    # 接单: two members accept on their phones, check in and out on site.
    # (The first check-in starts the task: both accept before either arrives.)
    phones = [pages.phone(api=api, openid=openid, path=f"/mp/#/volunteer/task?id={task_id}")
              for api, openid in zip(volunteers, ("journey-vol-1", "journey-vol-2"), strict=False)]
    for mine in phones:
        expect(mine.locator("#view")).to_contain_text("帮张阿姨买药买菜")
        mine.click("[data-accept=place]")
        expect(mine.locator("[data-participation=accepted]")).to_contain_text("已接单")
    for mine in phones:
        mine.click("[data-attend=check-in]")
        expect(mine.locator("[data-participation=checked_in]")).to_contain_text("已签到")
        mine.click("[data-attend=check-out]")
        expect(mine.locator("[data-participation=checked_out]")).to_contain_text("已签退")

    # The organizer records the real time on site (1.5 h each) in the console.
    console.reload()
    people = console.locator("table[aria-label=参与志愿者] tbody tr")
    expect(people).to_have_count(2)
    served_from, served_to = now - dt.timedelta(hours=2), now - dt.timedelta(minutes=30)
    for index in range(2):
        people.nth(index).locator("[data-action=set-times]").click()
        dialog = console.locator("dialog[open]")
        dialog.locator("[name=checked_in_at]").fill(local_input(served_from))
        dialog.locator("[name=checked_out_at]").fill(local_input(served_to))
        dialog.get_by_role("button", name="确定").click()
        expect(console.locator("dialog[open]")).to_have_count(0)
        expect(people.nth(index)).to_contain_text("1.50")

    # 评单: the resident confirms and rates both on the phone.
    phone.reload()
    served = phone.locator("[data-participation]")
    expect(served).to_have_count(2)
    for index, stars in enumerate(("5", "4")):
        card = served.nth(index)
        card.locator(f"[data-star='{stars}']").click()
        card.locator("button[type=submit]").click()
        expect(served.nth(index)).to_contain_text("已确认")
    shot(phone, "journey-help-rated")

    # The task is completed in the console; the dashboard counts the service.
    console.reload()
    expect(console.locator("table[aria-label=参与志愿者] tbody tr", has_text="已确认")).to_have_count(2)
    console.once("dialog", lambda d: d.accept())
    console.get_by_role("button", name="完成").click()
    expect(console.locator("h2 .tag")).to_have_text("已完成")
    console.click("#nav >> text=数据看板")
    expect(console.locator("[data-figure=person_times] .value")).to_have_text("2")
    expect(console.locator("[data-figure=hours] .value")).to_have_text("3")
    shot(console, "journey-dashboard")
    assert [v.get("/api/v1/me/volunteer-record").json["person_times"] for v in volunteers] == [1, 1]


def test_a_badge_verified_then_revoked_in_the_console_shows_invalid(pages, shot, admin, member, login,
                                                                    tmp_path):
    chen = member(name="陈小文", phone="13800138000", openid="journey-chen")
    # The member shows the badge on their phone; the image is what the resident's camera sees.
    shown = pages.phone(api=chen, openid="journey-chen", path="/mp/#/")
    shown.click("[data-menu='#/member/badge']")
    badge = shown.locator("img[data-badge-qr]")
    page_wait_loaded(shown, badge)
    png = tmp_path / "badge.png"
    badge.screenshot(path=str(png))

    resident = login("journey-checker")
    phone = pages.phone(api=resident, openid="journey-checker", path="/mp/#/")
    expect(phone.locator("[data-menu]").first).to_be_visible()
    phone.click("#tabs a[data-tab='/scan']")
    phone.set_input_files("[data-scan-file]", str(png))
    expect(phone.locator("[data-verify]")).to_have_attribute("data-verify", "valid")
    expect(phone.locator("[data-name]")).to_have_text("陈*文")

    # The admin revokes the identity in the console, with a reason.
    console = pages.console(api=admin, path="/admin/#/org/members")
    row = console.locator("tr", has_text="陈小文")
    row.get_by_role("button", name="撤销").click()
    dialog = console.locator("dialog")
    dialog.locator("textarea[name=reason]").fill("组织关系转出")
    dialog.locator("[data-ok]").click()
    expect(row).to_contain_text("已撤销")

    # The same badge image, scanned again, is invalid.
    phone.click("[data-scan-again]")
    phone.set_input_files("[data-scan-file]", str(png))
    verdict = phone.locator("[data-verify]")
    expect(verdict).to_have_attribute("data-verify", "invalid")
    expect(verdict).to_contain_text("身份已撤销")
    shot(phone, "journey-badge-revoked")


def page_wait_loaded(page, image) -> None:
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=image.element_handle())


def _photo(path) -> None:
    image = Image.new("RGB", (320, 240), (40, 90, 160))
    for x in range(100, 220):
        for y in range(60, 180):
            image.putpixel((x, y), (250, 220, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())


def test_an_event_reported_dispatched_resolved_and_followed(pages, shot, admin, login, login_as, tree,
                                                           tmp_path):
    ensure_default_categories()
    lng, lat = AT["lng"], AT["lat"]
    square = [[lng - .003, lat - .003], [lng + .003, lat - .003], [lng + .003, lat + .003],
              [lng - .003, lat + .003], [lng - .003, lat - .003]]
    grid = ok(admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "丰泽第一网格",
                                                "households": 320,
                                                "boundary": {"type": "Polygon", "coordinates": [square]}}), 201)
    leader = login("journey-building-leader")
    ok(admin.post(f"/api/v1/grids/{grid['id']}/leaders",
                  json={"user_id": leader.user_id, "role": "building_leader", "buildings": ["3 栋"]}), 201)
    company = ok(admin.post("/api/v1/orgs", json={"parent_id": tree.a, "kind": "property_company",
                                                  "name": "丰泽物业公司"}), 201)
    handler = login_as("org_admin", company["id"], openid="journey-handler")

    # The building leader reports on the phone, with a photo from the album and the phone's place.
    photo = tmp_path / "lamp.jpg"
    _photo(photo)
    phone = pages.phone(api=leader, openid="journey-building-leader", path="/mp/#/")
    phone.click("[data-menu='#/grid-events/new']")
    expect(phone.locator("[data-located]")).to_have_attribute("data-located", "true")
    phone.select_option("#event-category", "facilities")
    phone.fill("#event-title", "3 栋楼道灯不亮")
    phone.fill("#event-description", "3 栋 2 单元一到三楼的楼道灯都不亮")
    phone.set_input_files("[data-photos]", str(photo))
    expect(phone.locator(".photo-picker")).to_have_attribute("data-uploaded", "1")
    phone.click("[data-event-form] button[type=submit]")
    expect(phone.locator("[data-event] [data-state]")).to_have_text("已上报")
    event_id = int(re.search(r"id=(\d+)", phone.url).group(1))

    # The community accepts and dispatches it on the console's board.
    console = pages.console(api=admin, path="/admin/#/grid")
    console.locator(f".column[data-state=reported] [data-event-id='{event_id}']").click()
    console.locator("dialog.event-quick [data-action=accept]").click()
    console.locator("dialog[open] form").get_by_role("button", name="受理").click()
    console.locator(f".column[data-state=accepted] [data-event-id='{event_id}']").click()
    console.locator("dialog.event-quick [data-action=dispatch]").click()
    form = console.locator("dialog[open] form")
    form.locator("[name=to_org_id]").select_option(label="　丰泽物业公司（物业公司）")
    form.locator("[name=note]").fill("请物业今天内更换灯泡")
    form.get_by_role("button", name="派遣").click()
    expect(console.locator(f".column[data-state=dispatched] [data-event-id='{event_id}']")).to_be_visible()

    # The property company's staff take and resolve it in their console.
    theirs = pages.console(api=handler, path=f"/admin/#/grid-event?id={event_id}")
    theirs.locator("[data-action=take]").click()
    theirs.locator("dialog[open] form").get_by_role("button", name="接手处置").click()
    expect(theirs.locator("[data-action=resolve]")).to_be_visible()
    theirs.locator("[data-action=resolve]").click()
    theirs.locator("dialog[open] form [name=note]").fill("已更换 3 盏 LED 灯")
    theirs.locator("dialog[open] form").get_by_role("button", name="办结").click()
    expect(theirs.locator("h2 .tag")).to_have_text("已处置")

    # The leader follows it on the phone: the timeline has every step.
    phone.reload()
    expect(phone.locator("[data-event] [data-state]")).to_have_text("待核查")
    steps = phone.locator("[data-timeline] [data-step]")
    expect(steps).to_have_count(5)
    assert [steps.nth(i).get_attribute("data-step") for i in range(5)] == [
        "report", "accept", "dispatch", "take", "resolve"]
    expect(phone.locator("[data-step=dispatch]")).to_contain_text("请物业今天内更换灯泡")
    expect(phone.locator("[data-step=resolve]")).to_contain_text("已更换 3 盏 LED 灯")
    shot(phone, "journey-event-timeline")
