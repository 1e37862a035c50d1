"""The member pages of the stand-in, in Chromium against the real API: binding
to the roster through the phone-number sheet, checking in by scanning a
screenshot of the center's screen, the badge and its renewal, the dual
report, and volunteering (accept, waitlist, withdraw, on-site check-in)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.conftest import HERE

CENTER = {"lat": HERE["latitude"], "lng": HERE["longitude"]}
# 2 km north of the center (a degree of latitude is ~111.2 km).
FAR = {"latitude": HERE["latitude"] + 2000 / 111_195, "longitude": HERE["longitude"]}


def roster_entry(name: str, phone: str, branch_id: int) -> None:
    """A roster line, as an import would leave it (the member fixture's way)."""
    from app.members import phones
    from app.members.models import RosterEntry

    db.session.add(RosterEntry(branch_id=branch_id, name=name, phone_encrypted=phones.encrypt(phone),
                               phone_hash=phones.lookup_hash(phone), phone_masked=phones.mask(phone),
                               join_date=dt.date(2012, 7, 1), member_status="full"))
    db.session.commit()


@pytest.fixture
def screen(admin, tree):
    """A center of community A at HERE with a registered screen: (center, display path)."""
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
        "location": CENTER, "radius_m": 200, "rotation_seconds": 300})
    assert center.status_code == 201, center.json
    device = admin.post(f"/api/v1/centers/{center.json['id']}/display-devices", json={"name": "大厅屏"})
    assert device.status_code == 201, device.json
    return center.json, f"/display/centers/{center.json['id']}?device_token={device.json['device_token']}"


def screenshot_of_screen(pages, path: str, tmp_path) -> str:
    """What a phone camera sees: a screenshot of the center's screen page."""
    display = pages.blank()
    display.goto(pages.url + path)
    expect(display.locator("#code svg")).to_be_visible()
    file = tmp_path / "screen.png"
    display.screenshot(path=str(file))
    return str(file)


def scan_file(page, png: str) -> None:
    """In the open scan sheet: pick the photo from the album (jsQR decodes it)."""
    sheet = page.locator("[data-sheet='扫一扫']")
    expect(sheet).to_be_visible()
    sheet.locator("[data-scan-file]").set_input_files(png)
    expect(sheet).to_have_count(0)


def bind_in_page(page, name: str, phone: str) -> None:
    page.fill("[data-binding-form] input[name=name]", name)
    page.click("[data-bind]")
    sheet = page.locator("[data-sheet='授权手机号']")
    sheet.locator("input[name=phone]").fill(phone)
    sheet.get_by_role("button", name="允许").click()


# ---- binding and checking in -------------------------------------------------------

def test_a_member_binds_then_checks_in_by_scanning_the_screen(pages, shot, login, tree, screen, tmp_path):
    roster_entry("李红梅", "13800138111", tree.a1)
    user = login("member-li")
    page = pages.phone(api=user, openid="member-li")
    expect(page.locator("[data-menu='#/member/scan-checkin']")).to_have_count(0)  # not a member yet
    page.click("[data-menu='#/member/bind']")
    expect(page.locator("#title")).to_have_text("党员身份")
    shot(page, "mp-member-bind-form")
    bind_in_page(page, "李红梅", "13800138111")
    expect(page.locator("[data-bound]")).to_have_text("绑定成功，您已是认证党员")
    expect(page.locator("[data-identity=active]")).to_contain_text("丰泽社区第一党支部")
    expect(page.locator("[data-identity=active]")).to_contain_text("138****8111")
    shot(page, "mp-member-bound")
    assert user.get("/api/v1/me/identity").json["status"] == "active"

    center, display = screen
    png = screenshot_of_screen(pages, display, tmp_path)

    # The home menu's 签到 opens the scanner; the photo of the screen checks in.
    page.click("#tabs [data-tab='/']")
    expect(page.locator("[data-menu='#/member/bind']")).to_have_text("☆我的党员身份")
    for entry in ("#/member/badge", "#/member/checkins", "#/member/report", "#/volunteer/tasks"):
        expect(page.locator(f"[data-menu='{entry}']")).to_be_visible()
    shot(page, "mp-member-home")
    page.click("[data-menu='#/member/scan-checkin']")
    scan_file(page, png)
    expect(page.locator("#title")).to_have_text("扫码签到")
    expect(page.locator("[data-center]")).to_have_text("丰泽社区党群服务中心")
    page.select_option("select[name=purpose]", "study")
    page.click("[data-entry]")
    result = page.locator("[data-status=ok]")
    expect(result).to_contain_text("签到成功")
    expect(result).to_contain_text("丰泽社区党群服务中心")
    expect(result).to_contain_text("学习")
    expect(result).to_contain_text(re.compile(r"签到时间 \S+ \d\d:\d\d"))
    expect(page.locator("[data-exit]")).to_be_visible()
    shot(page, "mp-member-checkin-ok")
    mine = user.get("/api/v1/me/checkins").json["items"]
    assert [(c["center_id"], c["purpose"]) for c in mine] == [(center["id"], "study")]

    # The scan tab routes the same code here again: already checked in today.
    page.click("#tabs [data-tab='/scan']")
    scan_file(page, png)
    page.click("[data-entry]")
    expect(page.locator("[data-status=already_checked_in]")).to_contain_text("今日已签到")
    shot(page, "mp-member-checkin-again")
    assert len(user.get("/api/v1/me/checkins").json["items"]) == 1

    # 2 km away: refused, with the distance in words.
    away = pages.phone(api=user, openid="member-li", location=FAR, path="/mp/#/scan")
    scan_file(away, png)
    away.click("[data-entry]")
    refused = away.locator("[data-error=out_of_range]")
    expect(refused).to_contain_text(re.compile(r"您距离服务中心 (19|20)\d\d 米，签到需在 200 米以内"))
    expect(refused.locator("[data-facts]")).to_contain_text("允许范围 200 米")
    shot(away, "mp-member-checkin-far")
    assert len(user.get("/api/v1/me/checkins").json["items"]) == 1


def test_checking_out_scans_the_code_again(pages, shot, member, screen, tmp_path):
    user = member(openid="member-out")
    png = screenshot_of_screen(pages, screen[1], tmp_path)
    page = pages.phone(api=user, path="/mp/#/scan")
    scan_file(page, png)
    page.click("[data-entry]")
    expect(page.locator("[data-status=ok]")).to_be_visible()
    page.click("[data-exit]")
    scan_file(page, png)
    out = page.locator("[data-status=checked_out]")
    expect(out).to_contain_text("签退成功")
    expect(out).to_contain_text("停留 0 分钟")
    shot(page, "mp-member-checkout")
    # My check-ins: the visit with its exit.
    page.goto(pages.url + "/mp/#/member/checkins")
    row = page.locator("[data-checkin]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("丰泽社区党群服务中心")
    expect(row).to_contain_text("签退")


def test_a_non_member_scan_and_a_foreign_code_are_refused_in_words(pages, login, screen, tmp_path):
    png = screenshot_of_screen(pages, screen[1], tmp_path)
    page = pages.phone(api=login("resident-scan"), path="/mp/#/scan")
    scan_file(page, png)
    page.click("[data-entry]")
    expect(page.locator("[data-error=not_a_member]")).to_contain_text("此操作仅限已认证的党员")
    expect(page.get_by_role("link", name="去绑定党员身份")).to_be_visible()
    page.goto(pages.url + "/mp/#/checkin?code=" + "https%3A%2F%2Fexample.com%2Fhello")
    expect(page.get_by_role("alert")).to_contain_text("这不是服务中心的签到码")


def test_my_checkins_pages_with_load_more(pages, member, screen):
    from app.checkin.models import Checkin

    user = member(openid="member-many")
    center = screen[0]
    identity_id = user.identity["id"]
    start = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    for day in range(12):
        at = start + dt.timedelta(days=day)
        db.session.add(Checkin(center_id=center["id"], user_id=user.user_id, identity_id=identity_id,
                               purpose="visit", window_key=at.date().isoformat(), local_day=at.date(),
                               checked_in_at=at, received_at=at, offline=False, exit_offline=False))
    db.session.commit()
    page = pages.phone(api=user, path="/mp/#/member/checkins")
    rows = page.locator("[data-checkin]")
    expect(rows).to_have_count(10)
    page.click("[data-more]")
    expect(rows).to_have_count(12)
    expect(page.locator("[data-more]")).to_be_hidden()


def test_a_binding_without_a_roster_match_waits_and_shows_the_refusal(pages, shot, login, tree, admin):
    roster_entry("王建国", "13800138222", tree.a1)
    user = login("member-wang")
    page = pages.phone(api=user, path="/mp/#/member/bind")
    bind_in_page(page, "王健国", "13800138222")  # one character off the roster
    expect(page.locator("[data-pending]")).to_have_text("已提交，等待党支部管理员审核")
    card = page.locator("[data-request=pending]")
    expect(card).to_contain_text("待审核")
    expect(card).to_contain_text("姓名与党员名单不一致")
    expect(card).to_contain_text("丰泽社区第一党支部")
    shot(page, "mp-member-bind-pending")

    request = user.get("/api/v1/me/member-binding").json
    refused = admin.post(f"/api/v1/binding-requests/{request['id']}/reject", json={"reason": "姓名与名单不符，请核对"})
    assert refused.status_code == 200, refused.json
    page.reload()
    card = page.locator("[data-request=rejected]")
    expect(card).to_contain_text("未通过")
    expect(card.get_by_role("alert")).to_have_text("申请未通过：姓名与名单不符，请核对")
    expect(page.locator("[data-binding-form]")).to_be_visible()  # binding again is offered
    shot(page, "mp-member-bind-rejected")

    # Binding again with the right name: at once.
    bind_in_page(page, "王建国", "13800138222")
    expect(page.locator("[data-bound]")).to_be_visible()


def test_a_phone_on_no_roster_asks_for_the_branch(pages, login, tree):
    page = pages.phone(api=login("member-nobody"), path="/mp/#/member/bind")
    bind_in_page(page, "赵六", "13800138333")
    expect(page.locator("[data-error=branch_required]")).to_contain_text("名单中没有该手机号")
    page.select_option("select[name=branch_id]", label="丰泽社区第二党支部（丰泽社区）")  # from the directory
    page.click("[data-bind]")
    sheet = page.locator("[data-sheet='授权手机号']")
    sheet.locator("input[name=phone]").fill("13800138333")
    sheet.get_by_role("button", name="允许").click()
    expect(page.locator("[data-request=pending]")).to_contain_text("党员名单中没有该手机号")
    expect(page.locator("[data-request=pending]")).to_contain_text("丰泽社区第二党支部")


# ---- the badge -----------------------------------------------------------------------

def test_the_badge_shows_its_qr_and_renews_itself_before_it_expires(pages, shot, member, login, app):
    user = member(name="陈小文", openid="member-badge")
    # Someone verified it once: the page lists it.
    verifier = login("resident-verifier")
    code = user.get("/api/v1/me/badge").json["qr_text"]
    assert verifier.post("/api/v1/badges/verify", json={"code": code}).json["valid"] is True

    page = pages.phone(api=user, path="/mp/#/")
    expect(page.locator("[data-menu='#/member/badge']")).to_be_visible()
    page.clock.install()  # the browser's clock only; the server keeps real time
    images = []
    page.on("request", lambda request: request.url.endswith("/me/badge.png") and images.append(request.url))
    page.click("[data-menu='#/member/badge']")
    qr = page.locator("[data-badge-qr]")
    expect(qr).to_have_attribute("src", re.compile("^blob:"))
    expect(page.locator("[data-badge-name]")).to_have_text("陈*文")
    expect(page.locator(".badge-card")).to_contain_text("丰泽社区第一党支部")
    expect(page.locator("[data-countdown]")).to_contain_text(re.compile(r"^(60|59|58) 秒后自动更新"))
    expect(page.locator("[data-shown-row]")).to_have_count(1)
    expect(page.locator("[data-shown-row]")).to_contain_text(f"查验人 #{verifier.user_id}")
    assert page.evaluate("document.querySelector('[data-badge-qr]').naturalWidth") > 100
    shot(page, "mp-member-badge")
    first = qr.get_attribute("src")
    expires = dt.datetime.fromisoformat(qr.get_attribute("data-expires-at"))
    ttl = app.config["BADGE_TTL"]

    page.clock.run_for(1000 * (ttl - 15))  # well before the end: the same code, counting down
    expect(page.locator("[data-countdown]")).to_contain_text(re.compile(r"^1[0-6] 秒后自动更新"))
    assert qr.get_attribute("src") == first and len(images) == 1

    page.clock.run_for(1000 * 11)  # 5 s before it expires: a new code
    expect(qr).not_to_have_attribute("src", first)
    assert len(images) == 2
    renewed = dt.datetime.fromisoformat(qr.get_attribute("data-expires-at"))
    assert renewed >= expires
    expect(page.locator("[data-countdown]")).to_contain_text("秒后自动更新")


def test_a_suspended_member_sees_why_there_is_no_badge(pages, member, admin):
    user = member(openid="member-suspended")
    assert admin.post(f"/api/v1/members/{user.identity['id']}/suspend", json={"reason": "组织处理"}).status_code == 200
    page = pages.phone(api=user, path="/mp/#/member/badge")
    expect(page.locator("[data-error=identity_inactive]")).to_contain_text("您的党员身份当前为")
    expect(page.locator(".badge-card")).to_be_hidden()


# ---- volunteering --------------------------------------------------------------------

def publish_task(admin, tree, *, starts_in: dt.timedelta, title="清理楼道杂物", places=1, **fields) -> dict:
    starts = dt.datetime.now(dt.UTC) + starts_in
    body = {"community_id": tree.a, "title": title, "category": "community_service",
            "description": "清理 3 栋楼道堆放的杂物", "address": "丰泽路 3 栋", "location": CENTER,
            "radius_m": 300, "starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=2)).isoformat(),
            "places": places, **fields}
    task = admin.post("/api/v1/tasks", json=body)
    assert task.status_code == 201, task.json
    published = admin.post(f"/api/v1/tasks/{task.json['id']}/publish", json={})
    assert published.status_code == 200, published.json
    return published.json


def volunteer(api, community_id: int) -> None:
    response = api.put("/api/v1/me/volunteer", json={"community_id": community_id, "skills": [], "availability": ""})
    assert response.status_code in (200, 201), response.json


def test_accept_the_waitlist_and_withdraw(pages, shot, member, admin, tree):
    task = publish_task(admin, tree, starts_in=dt.timedelta(days=1), members_only=True)
    first = member(name="陈小文", phone="13800138401", openid="member-first")
    second = member(name="林志强", phone="13800138402", openid="member-second")
    volunteer(second, tree.a)

    # The first finds it near them, is told to register, registers and accepts.
    page = pages.phone(api=first, path="/mp/#/")
    page.click("[data-menu='#/volunteer/tasks']")
    item = page.locator(f"[data-task='{task['id']}']")
    expect(item).to_contain_text("清理楼道杂物")
    expect(item).to_contain_text("剩余 1/1 个名额")
    expect(item).to_contain_text("0 米")
    expect(item).to_contain_text("仅限党员")
    shot(page, "mp-volunteer-nearby")
    item.click()
    page.click("[data-accept=place]")
    expect(page.locator("[data-error=not_a_volunteer]")).to_contain_text("请先注册成为志愿者")
    page.get_by_role("link", name="注册志愿者").click()
    expect(page.locator("#title")).to_have_text("志愿者登记")
    page.select_option("[data-community]", label="丰泽社区（南恩街道）")  # found through the task near the phone
    page.fill("input[name=skills]", "维修，搬运")
    shot(page, "mp-volunteer-profile")
    page.click("[data-volunteer-submit]")
    expect(page.locator("#title")).to_have_text("任务详情")
    assert first.get("/api/v1/me/volunteer").json["skills"] == ["搬运", "维修"]
    page.click("[data-accept=place]")
    expect(page.locator("[data-participation=accepted]")).to_contain_text("已接单")
    expect(page.locator("[data-places]")).to_contain_text("共 1 个，已接 1，剩余 0")
    expect(page.locator("[data-hint]")).to_contain_text("任务开始前 1 小时起可以签到")
    expect(page.locator("[data-attend]")).to_have_count(0)
    shot(page, "mp-volunteer-accepted")

    # The second finds it full and joins the waitlist.
    other = pages.phone(api=second, path=f"/mp/#/volunteer/task?id={task['id']}")
    other.click("[data-accept=waitlist]")
    expect(other.locator("[data-participation=waitlisted]")).to_contain_text("候补中")
    expect(other.locator("[data-waitlist]")).to_contain_text("按候补先后顺序自动补位")
    expect(other.locator("[data-waitlist]")).to_contain_text("候补第 1 位")
    shot(other, "mp-volunteer-waitlisted")

    # The first withdraws: the place goes to the second.
    page.click("[data-withdraw]")
    expect(page.locator("[data-participation=withdrawn]")).to_contain_text("已退出")
    expect(page.locator("[data-accept=waitlist]")).to_be_visible()  # full again, for them
    assert [p["state"] for p in second.get("/api/v1/me/tasks").json["items"]] == ["accepted"]
    other.reload()
    expect(other.locator("[data-participation=accepted]")).to_be_visible()

    # My tasks lists it with its state.
    page.goto(pages.url + "/mp/#/volunteer/mine")
    expect(page.locator(f"[data-my-task='{task['id']}']")).to_contain_text("已退出")


def test_a_full_task_offers_the_waitlist_after_refusing(pages, member, admin, tree):
    task = publish_task(admin, tree, starts_in=dt.timedelta(days=1), places=1)
    holder = member(phone="13800138411", openid="member-holder")
    volunteer(holder, tree.a)
    late = member(phone="13800138412", openid="member-late")
    volunteer(late, tree.a)
    page = pages.phone(api=late, path=f"/mp/#/volunteer/task?id={task['id']}")
    expect(page.locator("[data-accept=place]")).to_be_visible()
    assert holder.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201  # meanwhile
    page.click("[data-accept=place]")
    refused = page.locator("[data-error=task_full]")
    expect(refused).to_contain_text("该任务名额已满")
    refused.locator("[data-accept=waitlist]").click()
    expect(page.locator("[data-participation=waitlisted]")).to_be_visible()


def test_on_site_check_in_by_the_organizers_code_and_by_position(pages, shot, member, admin, tree):
    task = publish_task(admin, tree, starts_in=dt.timedelta(minutes=30), title="社区义诊志愿服务")
    user = member(openid="member-onsite")
    volunteer(user, tree.a)
    assert user.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201

    # The organizer's code, scanned with the scan tab (pasted link), opens /task-code.
    code = admin.get(f"/api/v1/tasks/{task['id']}/code").json["qr_text"]
    page = pages.phone(api=user, path="/mp/#/scan")
    sheet = page.locator("[data-sheet='扫一扫']")
    sheet.locator("[data-scan-text]").fill(code)
    sheet.get_by_role("button", name="识别").click()
    expect(page.locator("#title")).to_have_text("任务签到")
    expect(page.locator("#view")).to_contain_text("社区义诊志愿服务")
    shot(page, "mp-volunteer-task-code")
    page.click("[data-attend=check-in]")
    expect(page.locator("#title")).to_have_text("任务详情")
    expect(page.locator("[data-participation=checked_in]")).to_contain_text("已签到")
    assert user.get("/api/v1/me/tasks").json["items"][0]["state"] == "checked_in"

    # Out by position; 2 km away it is refused with the distance.
    away = pages.phone(api=user, location=FAR, path=f"/mp/#/volunteer/task?id={task['id']}")
    away.click("[data-attend=check-out]")
    expect(away.locator("[data-error=out_of_range]")).to_contain_text(
        re.compile(r"您距离任务地点 (19|20)\d\d 米，需在 300 米以内"))
    page.reload()
    page.click("[data-attend=check-out]")
    expect(page.locator("[data-participation=checked_out]")).to_contain_text("已签退")
    shot(page, "mp-volunteer-checked-out")

    # A code of another task is not taken for this one.
    other = publish_task(admin, tree, starts_in=dt.timedelta(minutes=40), title="另一个任务")
    other_code = admin.get(f"/api/v1/tasks/{other['id']}/code").json["qr_text"]
    page.goto(pages.url + "/mp/#/task-code?code=" + other_code)
    expect(page.locator("#view [role=status]")).to_contain_text("您没有接这个任务")


def test_my_volunteer_record_shows_hours_ratings_and_the_ledger(pages, shot, member, admin, tree):
    user = member(openid="member-hours")
    volunteer(user, tree.a)
    task = publish_task(admin, tree, starts_in=dt.timedelta(minutes=30), title="敬老院陪伴")
    assert user.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    here = {**CENTER, "coord_system": "gcj02"}
    for step in ("check-in", "check-out"):
        response = user.post(f"/api/v1/tasks/{task['id']}/{step}", json={"location": here})
        assert response.status_code == 200, response.json
    participation = user.get("/api/v1/me/tasks").json["items"][0]["id"]
    confirmed = admin.post(f"/api/v1/participations/{participation}/confirm", json={"score": 5, "comment": "很耐心"})
    assert confirmed.status_code == 200, confirmed.json
    corrected = admin.post(f"/api/v1/participations/{participation}/corrections",
                           json={"hours": 2, "reason": "签到晚于实际到场"})
    assert corrected.status_code == 201, corrected.json

    page = pages.phone(api=user, path="/mp/#/volunteer/record")
    expect(page.locator("[data-hours]")).to_have_text("2")
    expect(page.locator("[data-person-times]")).to_have_text("1")
    expect(page.locator("#view")).to_contain_text("评分（1 次）")
    rows = page.locator("[data-ledger]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("敬老院陪伴（更正）")
    expect(rows.first).to_contain_text("+2 小时")
    expect(rows.first).to_contain_text("签到晚于实际到场")
    expect(rows.last).to_contain_text("0 小时")
    shot(page, "mp-volunteer-record")

    # the certificate of that service, downloaded as a PDF
    with page.expect_download() as info:
        page.click("[data-certificate]")
    expect(page.locator("[data-certificate-issued]")).to_contain_text("1 次服务，共 2 小时")
    assert info.value.suggested_filename.startswith("ZY") and info.value.suggested_filename.endswith(".pdf")
    shot(page, "mp-volunteer-certificate")


# ---- dual report -----------------------------------------------------------------------

def test_report_to_the_residence_community_declined_then_confirmed(pages, shot, member, admin, tree, screen):
    user = member(openid="member-report")
    page = pages.phone(api=user, path="/mp/#/")
    page.click("[data-menu='#/member/report']")
    expect(page.locator("#view")).to_contain_text("您还没有向居住地社区报到")
    # 丰泽社区 is offered: its service center is near the phone.
    page.select_option("[data-community]", label="丰泽社区（南恩街道）")
    page.click("[data-report-submit]")
    expect(page.locator("[data-report=pending]")).to_contain_text("待社区确认")
    expect(page.locator("[data-report=pending]")).to_contain_text("丰泽社区")
    shot(page, "mp-member-report-pending")

    report = user.get("/api/v1/me/community-report").json
    declined = admin.post(f"/api/v1/member-reports/{report['id']}/decline", json={"reason": "不在本社区居住"})
    assert declined.status_code == 200
    page.reload()
    expect(page.locator("[data-report=declined]")).to_contain_text("未通过")
    shot(page, "mp-member-report-declined")

    page.select_option("[data-community]", label="丰泽社区（南恩街道）")
    page.click("[data-report-submit]")
    expect(page.locator("[data-report=pending]")).to_be_visible()
    expect(page.locator("[data-report=declined]")).to_have_count(0)
    report = user.get("/api/v1/me/community-report").json
    assert admin.post(f"/api/v1/member-reports/{report['id']}/confirm", json={}).status_code == 200
    page.reload()
    expect(page.locator("[data-report=confirmed]")).to_contain_text("已确认")
    shot(page, "mp-member-report-confirmed")

    # Another community by its number: the confirmed one stays until that is confirmed.
    page.select_option("[data-community]", value="other")
    page.fill("input[name=community_number]", str(tree.b))
    page.click("[data-report-submit]")
    expect(page.locator("[data-report=confirmed]")).to_contain_text("丰泽社区")
    expect(page.locator("[data-report=sent]")).to_contain_text("新江社区")


def test_a_report_to_what_is_not_a_community_is_refused(pages, member, tree):
    page = pages.phone(api=member(openid="member-report-bad"), path="/mp/#/member/report")
    page.select_option("[data-community]", value="other")
    page.fill("input[name=community_number]", str(tree.a1))
    page.click("[data-report-submit]")
    expect(page.locator("[data-error=not_a_community]")).to_contain_text("只能向社区报到")


def test_a_member_closes_the_account_after_reading_what_goes_and_what_stays(pages, shot, member):
    api = member(name="陈小文", phone="13900002222", openid="member-leaving")
    page = pages.phone(api=api, openid="member-leaving", path="/mp/#/mine")
    page.click("[data-close-account]")
    expect(page.locator("#title")).to_have_text("注销账号")
    expect(page.get_by_text("注销后将删除")).to_be_visible()
    expect(page.get_by_text("志愿服务记录与时长", exact=False)).to_be_visible()
    confirm = page.get_by_role("button", name="确认注销")
    expect(confirm).to_be_disabled()  # not before ticking that one understands
    shot(page, "mp-close-account")
    page.get_by_label("我已了解，注销后无法恢复").check()
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("账号已注销")
    shot(page, "mp-account-closed")
    assert api.get("/api/v1/me").status_code == 401
    assert page.evaluate("localStorage.getItem('mp.session')") is None
