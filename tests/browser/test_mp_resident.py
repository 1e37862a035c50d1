"""The resident's pages of the stand-in, in Chromium against the real API:
verifying a badge by scanning its image, scanning plates, asking for help and
rating it (点单 → 评单), and the notices tab."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.notices.services import notify
from app.tasks.models import Participation
from tests.badges.helpers import approved_plate, assign, business_zone, make_post
from tests.browser.conftest import HERE

AT = {"lat": HERE["latitude"], "lng": HERE["longitude"]}  # the phone's place, GCJ-02


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def resident(login):
    return login("resident-browser")


def top(page):
    page.evaluate("window.scrollTo(0, 0)")
    return page


def open_phone(pages, api, path):
    return pages.phone(api=api, openid="resident-browser", path=path)


def scan_image(page, png):
    """The scan tab's sheet, then the album: the image is decoded in the page."""
    expect(page.locator("[data-menu]").first).to_be_visible()  # home has rendered
    page.click("#tabs a[data-tab='/scan']")
    expect(page.locator("[data-sheet=扫一扫]")).to_be_visible()
    page.set_input_files("[data-scan-file]", str(png))


# ---- badges and plates ---------------------------------------------------------------

def test_a_resident_verifies_a_members_badge_by_scanning_its_image(pages, shot, member, admin, resident,
                                                                   tmp_path):
    chen = member(name="陈小文", phone="13800138000")
    badge = chen.get("/api/v1/me/badge.png")
    assert badge.status_code == 200, badge.get_data(as_text=True)
    png = tmp_path / "badge.png"
    png.write_bytes(badge.data)

    page = open_phone(pages, resident, "/mp/#/")
    expect(page.locator("#title")).to_have_text("党建红")
    scan_image(page, png)
    verdict = page.locator("[data-verify]")
    expect(verdict).to_have_attribute("data-verify", "valid")
    expect(verdict).to_contain_text("身份有效")
    expect(page.locator("[data-name]")).to_have_text("陈*文")
    expect(page.locator("#view")).to_contain_text("丰泽社区第一党支部")
    expect(page.locator("#view")).to_contain_text("正式党员")
    expect(page.locator("#view")).not_to_contain_text("陈小文")
    expect(page.locator("#view")).not_to_contain_text("13800138000")
    shot(page, "mp-verify-valid")

    revoked = admin.post(f"/api/v1/members/{chen.identity['id']}/revoke", json={"reason": "组织关系转出"})
    assert revoked.status_code == 200, revoked.json
    page.click("[data-scan-again]")
    expect(page.locator("[data-sheet=扫一扫]")).to_be_visible()
    page.set_input_files("[data-scan-file]", str(png))
    verdict = page.locator("[data-verify]")
    expect(verdict).to_have_attribute("data-verify", "invalid")
    expect(verdict).to_have_attribute("data-reason", "identity_revoked")
    expect(verdict).to_contain_text("身份已撤销")
    expect(page.locator("[data-name]")).to_have_count(0)
    shot(page, "mp-verify-revoked")


def test_a_picture_without_a_code_of_ours_is_refused_on_the_scan_page(pages, resident, tmp_path):
    from tests.grid.helpers import image_bytes

    png = tmp_path / "plain.png"
    png.write_bytes(image_bytes("PNG", size=(120, 120)))
    page = open_phone(pages, resident, "/mp/#/")
    scan_image(page, png)
    expect(page.get_by_role("status").filter(has_text="没有识别到二维码")).to_be_visible()
    page.fill("[data-scan-text]", "https://example.com/nothing")
    page.click("[data-sheet=扫一扫] button.primary")
    expect(page.get_by_role("alert")).to_contain_text("无法识别的二维码")


def test_a_resident_scans_a_post_plate_sees_who_is_on_duty_and_rates_it(pages, shot, admin, member, resident,
                                                                        tree, tmp_path):
    post = make_post(admin, tree.a, name="丰泽社区党员示范岗", service_items=["政策咨询", "代办证明"])
    on_duty = member(name="林海燕", phone="13800138001")
    assign(admin, post["id"], on_duty.identity["id"])
    plate = admin.get(f"/api/v1/posts/{post['id']}/plate.png")
    assert plate.status_code == 200
    png = tmp_path / "plate.png"
    png.write_bytes(plate.data)
    from tests.badges.helpers import decode_png

    duty = on_duty.post("/api/v1/plates/duty", json={"code": decode_png(plate.data)})
    assert duty.status_code == 200 and duty.json["on_duty"], duty.json

    page = open_phone(pages, resident, "/mp/#/")
    scan_image(page, png)
    expect(page.locator("[data-post]")).to_contain_text("丰泽社区党员示范岗")
    expect(page.locator("[data-post]")).to_contain_text("政策咨询")
    expect(page.locator("[data-on-duty]")).to_contain_text("林*燕")
    page.click("[data-rate-post] [data-star='4']")
    page.fill("[data-rate-post] input[name=comment]", "解答很耐心")
    shot(page, "mp-plate-post")
    page.click("[data-rate-post] button[type=submit]")
    expect(page.locator("[data-rated]")).to_be_visible()
    ratings = admin.get(f"/api/v1/posts/{post['id']}/ratings").json
    assert [(r["score"], r["comment"]) for r in ratings["items"]] == [(4, "解答很耐心")]

    # the same day again: the API's refusal, in Chinese, on the page
    page.reload()
    page.click("[data-rate-post] [data-star='5']")
    page.click("[data-rate-post] button[type=submit]")
    expect(page.locator("[data-rate-post] [role=alert]")).to_contain_text("今天")


def test_a_resident_scans_a_merchant_plate_leaves_feedback_and_sees_a_revoked_one(
        pages, shot, member, login_as, resident, tree, tmp_path):
    zone = business_zone(tree.street)
    zone_admin = login_as("org_admin", zone)
    owner = member(name="陈小文", phone="13800138002")
    plate, code = approved_plate(owner, zone_admin, zone)

    # the link is pasted, as a printed plate's QR gives it
    page = open_phone(pages, resident, "/mp/#/scan")
    page.fill("[data-scan-text]", code)
    page.click("[data-sheet=扫一扫] button.primary")
    expect(page.locator("[data-plate]")).to_have_attribute("data-plate", "valid")
    expect(page.locator("[data-merchant]")).to_contain_text("老陈杂货铺")
    expect(page.locator("[data-merchant]")).to_contain_text("陈*文")
    page.click("[data-feedback] [data-star='5']")
    page.fill("[data-feedback] textarea", "价格公道，服务热情")
    shot(page, "mp-plate-merchant")
    page.click("[data-feedback] button[type=submit]")
    expect(page.locator("[data-sent]")).to_be_visible()
    feedback = zone_admin.get(f"/api/v1/merchant-plates/{plate['id']}/feedback").json["items"]
    assert [(f["score"], f["comment"]) for f in feedback] == [(5, "价格公道，服务热情")]

    revoked = zone_admin.post(f"/api/v1/merchant-plates/{plate['id']}/revoke", json={"reason": "停业"})
    assert revoked.status_code == 200, revoked.json
    page.reload()
    expect(page.locator("[data-plate]")).to_have_attribute("data-plate", "invalid")
    expect(page.locator("[data-plate]")).to_contain_text("已撤销")
    expect(page.locator("[data-feedback]")).to_have_count(0)
    shot(page, "mp-plate-merchant-revoked")


# ---- 点单 → 评单 ---------------------------------------------------------------------

@pytest.fixture
def center(admin, tree):
    """丰泽社区's service center where the phone is: how the page finds the resident's community."""
    response = admin.post("/api/v1/centers", json={"org_id": tree.a, "name": "丰泽社区党群服务中心",
                                                   "address": "丰泽路 1 号", "location": AT})
    assert response.status_code == 201, response.json
    return response.json


def test_a_resident_asks_for_help_and_confirms_and_rates_the_volunteers(pages, shot, resident, admin, member,
                                                                      center, tree):
    page = open_phone(pages, resident, "/mp/#/")
    page.click("[data-menu='#/help-requests/new']")
    expect(page.locator("#title")).to_have_text("我要求助")
    expect(page.locator("[data-located]")).to_have_attribute("data-located", "true")
    expect(page.locator("#help-community")).to_contain_text("丰泽社区")
    page.select_option("#help-category", "medical_escort")
    page.fill("#help-description", "陪老人去市人民医院复诊")
    page.fill("#help-address", "丰泽路 8 号 3 栋 201")
    page.fill("#help-phone", "13900001111")
    shot(page, "mp-help-new")
    page.click("[data-help-form] button[type=submit]")
    expect(page.locator("#title")).to_have_text("求助详情")
    expect(page.locator("[data-request] [data-state]")).to_have_text("待社区受理")
    expect(page.locator("[data-request]")).to_contain_text("139****1111")
    shot(page, "mp-help-submitted")

    mine = resident.get("/api/v1/help-requests", query_string={"mine": "true"}).json["items"]
    assert len(mine) == 1
    request = mine[0]
    assert (request["category"], request["address"]) == ("medical_escort", "丰泽路 8 号 3 栋 201")
    assert (request["location"]["lat"], request["location"]["lng"]) == (AT["lat"], AT["lng"])
    assert request["community"]["id"] == tree.a

    # the community dispatches it (派单); two members accept and serve (接单)
    start, end = now() + dt.timedelta(minutes=30), now() + dt.timedelta(hours=2)
    task = admin.post("/api/v1/tasks", json={"help_request_id": request["id"], "title": "陪诊",
                                             "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                                             "places": 2})
    assert task.status_code == 201, task.json
    assert admin.post(f"/api/v1/tasks/{task.json['id']}/publish", json={}).status_code == 200
    volunteers = [member(name="陈小文", phone="13700000001"), member(name="王五", phone="13700000002")]
    for api in volunteers:
        assert api.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
        assert api.post(f"/api/v1/tasks/{task.json['id']}/accept", json={}).status_code == 201
    page.reload()
    expect(page.locator("[data-task]")).to_contain_text("陪诊")
    expect(page.locator("[data-participation]")).to_have_count(2)
    expect(page.locator("[data-participation]").first).to_contain_text("已接单")
    for api in volunteers:
        for step in ("check-in", "check-out"):
            done = api.post(f"/api/v1/tasks/{task.json['id']}/{step}", json={"location": AT})
            assert done.status_code == 200, done.json

    # 评单 on the page
    page.reload()
    expect(page.locator("[data-participation] [data-rate]")).to_have_count(2)
    first, second = page.locator("[data-participation]").all()
    expect(first).to_contain_text("党员志愿者 陈*文")
    expect(first).to_contain_text("待您确认")
    expect(second).to_contain_text("党员志愿者 王*")
    first.locator("button[type=submit]").click()  # no stars yet
    expect(first.get_by_role("alert")).to_contain_text("请先点星星打分")
    first.locator("[data-star='5']").click()
    first.locator("input[name=comment]").fill("非常耐心")
    shot(top(page), "mp-help-rate")
    first.locator("button[type=submit]").click()
    expect(page.locator("[data-participation]").first).to_contain_text("已确认")
    second = page.locator("[data-participation]").nth(1)
    second.locator("[data-star='4']").click()
    second.locator("button[type=submit]").click()
    expect(page.locator("[data-participation]").nth(1)).to_contain_text("已确认")
    expect(page.locator(".steps li.done")).to_have_count(4)
    shot(top(page), "mp-help-rated")

    db.session.expire_all()
    rated = db.session.scalars(db.select(Participation).order_by(Participation.id)).all()
    assert [(p.state, p.score, p.comment) for p in rated] == [("confirmed", 5, "非常耐心"), ("confirmed", 4, "")]
    assert volunteers[0].get("/api/v1/me/volunteer-record").json["person_times"] == 1


def test_a_resident_withdraws_a_request_and_sees_why_a_bad_one_is_refused(pages, shot, resident, center):
    page = open_phone(pages, resident, "/mp/#/help-requests/new")
    expect(page.locator("#help-community")).to_contain_text("丰泽社区")
    page.fill("#help-description", "帮忙修水管")
    page.fill("#help-phone", "12345")
    page.click("[data-help-form] button[type=submit]")
    expect(page.locator("[data-help-form] [role=alert]")).to_be_visible()  # the API's message
    page.fill("#help-phone", "13900001111")
    page.fill("#help-end", page.input_value("#help-start"))
    page.click("[data-help-form] button[type=submit]")
    expect(page.locator("[data-help-form] [role=alert]")).to_contain_text("结束时间必须晚于开始时间")
    assert resident.get("/api/v1/help-requests", query_string={"mine": "true"}).json["items"] == []

    page.fill("#help-end", "2099-01-01T12:00")
    page.click("[data-help-form] button[type=submit]")
    expect(page.locator("#title")).to_have_text("求助详情")
    page.click("[data-cancel]")
    page.click("[data-confirm]")
    expect(page.locator("[data-request] [data-state]")).to_have_text("已取消")
    expect(page.locator("[data-cancel]")).to_have_count(0)
    page.click("text=返回我的求助")
    expect(page.locator("[data-request]")).to_have_count(1)
    expect(page.locator("[data-request] [data-state]")).to_have_text("已取消")
    shot(page, "mp-help-list")


def test_without_a_community_nearby_the_page_says_so(pages, resident):
    page = open_phone(pages, resident, "/mp/#/help-requests/new")
    expect(page.get_by_role("alert")).to_contain_text("附近没有找到社区服务中心")
    expect(page.locator("[data-help-form] button[type=submit]")).to_be_disabled()


# ---- notices ---------------------------------------------------------------------------

def test_notices_unread_count_list_and_mark_read(pages, shot, resident, admin, center, tree):
    asked = resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "repairs", "description": "修水管", "location": AT,
        "window_start": (now() + dt.timedelta(hours=1)).isoformat(),
        "window_end": (now() + dt.timedelta(hours=3)).isoformat(), "contact_phone": "13900001111"})
    assert asked.status_code == 201, asked.json
    rejected = admin.post(f"/api/v1/help-requests/{asked.json['id']}/reject", json={"reason": "请联系物业处理"})
    assert rejected.status_code == 200, rejected.json
    notify([resident.user_id], "task_cancelled", task_id=99, title="清洁家园", reason="暴雨")
    db.session.commit()

    page = open_phone(pages, resident, "/mp/#/")
    expect(page.locator("#unread")).to_have_text("2")
    page.click("#tabs a[data-tab='/notices']")
    expect(page.locator("#title")).to_have_text("消息")
    notices = page.locator("[data-notice]")
    expect(notices).to_have_count(2)
    expect(notices.first).to_contain_text("志愿任务“清洁家园”已取消：暴雨")
    expect(notices.nth(1)).to_contain_text("社区未受理您的求助：请联系物业处理")
    expect(page.locator("[data-unread]")).to_have_count(2)
    shot(page, "mp-notices")
    page.click("[data-read-all]")
    expect(page.locator("#unread")).to_be_hidden()
    expect(page.locator("[data-unread]")).to_have_count(0)
    expect(page.locator("[data-read-all]")).to_have_count(0)
    assert resident.get("/api/v1/me/notices/unread").json["unread"] == 0
    shot(page, "mp-notices-read")
    # a notice links to what it is about
    page.click("[data-kind=help_request_rejected]")
    expect(page.locator("#title")).to_have_text("求助详情")
    expect(page.locator("[data-request]")).to_contain_text("请联系物业处理")


def test_no_notices_is_said_plainly(pages, resident):
    page = open_phone(pages, resident, "/mp/#/notices")
    expect(page.locator("#view .empty")).to_have_text("暂无消息")
    expect(page.locator("#unread")).to_be_hidden()
