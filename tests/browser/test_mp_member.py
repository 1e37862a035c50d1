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
    start = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.timezone.utc)
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
    page.fill("input[name=branch_id]", str(tree.a2))
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
    expires = dt.datetime.fromisoformat(qr.get_attribute("data-expires-at").replace("Z", "+00:00"))
    ttl = app.config["BADGE_TTL"]

    page.clock.run_for(1000 * (ttl - 15))  # well before the end: the same code, counting down
    expect(page.locator("[data-countdown]")).to_contain_text(re.compile(r"^1[3-6] 秒后自动更新"))
    assert qr.get_attribute("src") == first and len(images) == 1

    page.clock.run_for(1000 * 11)  # 5 s before it expires: a new code
    expect(qr).not_to_have_attribute("src", first)
    assert len(images) == 2
    renewed = dt.datetime.fromisoformat(qr.get_attribute("data-expires-at").replace("Z", "+00:00"))
    assert renewed >= expires
    expect(page.locator("[data-countdown]")).to_contain_text("秒后自动更新")


def test_a_suspended_member_sees_why_there_is_no_badge(pages, member, admin):
    user = member(openid="member-suspended")
    assert admin.post(f"/api/v1/members/{user.identity['id']}/suspend", json={"reason": "组织处理"}).status_code == 200
    page = pages.phone(api=user, path="/mp/#/member/badge")
    expect(page.locator("[data-error=identity_inactive]")).to_contain_text("您的党员身份当前为")
    expect(page.locator(".badge-card")).to_be_hidden()
