"""The console's org and centers areas, driven in Chromium as an admin would."""
from __future__ import annotations

import re

from playwright.sync_api import expect

ROSTER_BAD = ("姓名,手机号,支部,入党日期,党员状态\n"
              "王芳,13900001111,丰泽社区第一党支部,2015-07-01,正式党员\n"
              "李强,1390000,丰泽社区第一党支部,2018-03-12,预备党员\n"
              "赵敏,13900003333,不存在的支部,2030-01-01,正式党员\n")
ROSTER_GOOD = ("姓名,手机号,支部,入党日期,党员状态\n"
               "王芳,13900001111,丰泽社区第一党支部,2015-07-01,正式党员\n"
               "李强,13900002222,丰泽社区第二党支部,2018-03-12,预备党员\n")


def test_the_tree_shows_the_scopes_subtree(pages, shot, admin, tree):
    page = pages.console(api=admin, path="/admin/#/org")
    expect(page.locator(".tree")).to_contain_text("丰泽社区第一党支部")
    expect(page.locator(".tree")).to_contain_text("丰泽社区第二党支部")
    expect(page.locator(".tree")).not_to_contain_text("新江社区")  # community B is not in scope
    page.click(f"[data-org='{tree.a1}']")
    expect(page.locator("[data-org-detail] h3")).to_have_text("丰泽社区第一党支部")
    shot(page, "console-org-tree")


def test_importing_a_csv_roster_shows_each_bad_row_then_imports(pages, shot, admin, tree, tmp_path):
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(ROSTER_BAD, encoding="utf-8")
    good.write_text(ROSTER_GOOD, encoding="utf-8")
    page = pages.console(api=admin, path=f"/admin/#/org/roster?org={tree.a}")
    expect(page.get_by_text("花名册中还没有党员")).to_be_visible()
    page.set_input_files("[data-roster-file]", str(bad))
    page.click("[data-roster-upload]")
    errors = page.locator("[data-roster-errors] tbody tr")
    expect(page.get_by_role("alert")).to_contain_text("未导入任何数据")
    expect(errors.filter(has_text="第 3 行")).to_contain_text("不是大陆手机号")
    expect(errors.filter(has_text="第 4 行").filter(has_text="支部")).to_contain_text("本组织下没有这个支部")
    expect(errors.filter(has_text="第 4 行").filter(has_text="入党日期")).to_contain_text("晚于今天")
    shot(page, "console-roster-errors")

    page.set_input_files("[data-roster-file]", str(good))
    page.click("[data-roster-upload]")
    expect(page.get_by_role("status").filter(has_text="导入成功")).to_contain_text("新增 2 人")
    expect(page.locator("table")).to_contain_text("李强")
    expect(page.locator("table")).to_contain_text("139****2222")
    shot(page, "console-roster-imported")


def test_approving_a_binding_request_issues_the_identity(pages, shot, admin, login, wx, tree):
    applicant = login("binding-applicant")
    response = applicant.post("/api/v1/me/member-binding", json={
        "name": "周婷", "phone_code": wx.phone_code("13700007777"), "branch_id": tree.a1})
    assert response.status_code == 202, response.json
    page = pages.console(api=admin, path=f"/admin/#/org/bindings?org={tree.a}")
    row = page.locator("tr", has_text="周婷")
    expect(row).to_contain_text("手机号不在花名册中")
    row.get_by_role("button", name="通过").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text("该手机号不在花名册中")
    dialog.locator("input[name=join_date]").fill("2012-07-01")
    shot(page, "console-binding-approve")
    dialog.locator("[data-ok]").click()
    expect(page.get_by_text("没有待审核的绑定申请")).to_be_visible()
    assert applicant.get("/api/v1/me/identity").json["status"] == "active"


def test_revoking_an_identity_asks_for_a_reason(pages, shot, admin, member, tree):
    bound = member("陈小文", "13800138000", tree.a1)
    page = pages.console(api=admin, path=f"/admin/#/org/members?org={tree.a}")
    row = page.locator("tr", has_text="陈小文")
    expect(row).to_contain_text("已认证")
    row.get_by_role("button", name="撤销").click()
    dialog = page.locator("dialog")
    expect(dialog.locator("textarea[name=reason]")).to_be_visible()
    dialog.locator("[data-ok]").click()  # no reason: the form refuses
    expect(dialog).to_be_visible()
    dialog.locator("textarea[name=reason]").fill("已转出本支部")
    shot(page, "console-revoke-reason")
    dialog.locator("[data-ok]").click()
    expect(row).to_contain_text("已撤销")
    expect(row).to_contain_text("已转出本支部")
    shot(page, "console-members")
    assert bound.get("/api/v1/me/identity").json["status"] == "revoked"


def test_the_audit_trail_shows_who_changed_what(pages, shot, admin, member, tree):
    bound = member("陈小文", "13800138000", tree.a1)
    identity = bound.get("/api/v1/me/identity").json["id"]
    admin.post(f"/api/v1/members/{identity}/suspend", json={"reason": "转出中"})
    admin.post(f"/api/v1/members/{identity}/reinstate", json={})
    page = pages.console(api=admin, path=f"/admin/#/org/audit?org={tree.a}")
    rows = page.locator("[data-audit] tbody tr")
    expect(rows.first).to_contain_text("恢复党员身份")
    suspended = rows.filter(has_text="暂停党员身份")
    expect(suspended).to_contain_text(f"用户 #{admin.user_id}")
    expect(suspended).to_contain_text("active")
    expect(suspended).to_contain_text("suspended")
    expect(suspended).to_contain_text("转出中")
    page.select_option("select[name=action]", "identity.suspend")
    expect(page.locator("[data-audit] tbody tr")).to_have_count(1)
    shot(page, "console-audit")


def test_granting_and_revoking_a_role(pages, shot, admin, login, tree):
    someone = login("future-center-admin")
    page = pages.console(api=admin, path=f"/admin/#/org/roles?org={tree.a1}")
    expect(page.get_by_text("此组织上还没有授予角色")).to_be_visible()
    page.fill("input[name=user_id]", str(someone.user_id))
    page.select_option("select[name=role]", "center_admin")
    page.get_by_role("button", name="授予角色").click()
    row = page.locator("tr", has_text=f"用户 #{someone.user_id}")
    expect(row).to_contain_text("阵地管理员")
    page.fill("input[name=user_id]", "999999")
    page.get_by_role("button", name="授予角色").click()
    expect(page.get_by_role("alert")).to_be_visible()
    shot(page, "console-roles")
    row.get_by_role("button", name="收回").click()
    page.locator("dialog [data-ok]").click()
    expect(page.get_by_text("此组织上还没有授予角色")).to_be_visible()


# ---- centers ---------------------------------------------------------------------

CENTER = {"name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
          "location": {"lat": 24.9065, "lng": 118.5896}}


def test_creating_a_center_from_the_list(pages, shot, admin, tree):
    page = pages.console(api=admin, path=f"/admin/#/centers?org={tree.a}")
    expect(page.get_by_text("下还没有阵地")).to_be_visible()
    page.click("[data-new-center]")
    dialog = page.locator("dialog")
    dialog.locator("input[name=name]").fill("丰泽社区新时代文明实践站")
    dialog.locator("input[name=lat]").fill("24.9071")
    dialog.locator("input[name=lng]").fill("118.5902")
    dialog.locator("input[name=radius_m]").fill("10")  # below the API's 20 m
    dialog.locator("[data-ok]").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    dialog.locator("input[name=radius_m]").fill("150")
    dialog.locator("[data-ok]").click()
    expect(page.locator("#view h2")).to_have_text("丰泽社区新时代文明实践站")
    expect(page.locator("[data-settings] input[name=radius_m]")).to_have_value("150")


def test_registering_a_display_shows_its_url_and_a_live_preview(pages, shot, admin, tree):
    center = admin.post("/api/v1/centers", json={**CENTER, "org_id": tree.a}).json
    page = pages.console(api=admin, path=f"/admin/#/centers/detail?id={center['id']}")
    expect(page.locator("[data-devices]")).to_contain_text("还没有登记显示屏")
    page.fill("[data-devices] input[name=name]", "一楼大厅")
    page.click("[data-register-device]")
    url = page.locator("[data-display-url]")
    expect(url).to_have_value(re.compile(
        rf"^{pages.url}/display/centers/{center['id']}\?device_token=\S+$"))
    expect(page.locator("[data-devices] tbody")).to_contain_text("一楼大厅")
    preview = page.frame_locator("iframe.preview")
    expect(preview.locator("body")).to_contain_text("丰泽社区党群服务中心")
    expect(preview.locator("svg").first).to_be_visible()
    shot(page, "console-center-display")
    # The URL works on its own, as the screen's browser would open it.
    other = pages.blank()
    other.goto(url.input_value())
    expect(other.locator("body")).to_contain_text("丰泽社区党群服务中心")


def test_editing_settings_and_downloading_the_poster_pdf(pages, shot, admin, tree):
    center = admin.post("/api/v1/centers", json={**CENTER, "org_id": tree.a}).json
    page = pages.console(api=admin, path=f"/admin/#/centers/detail?id={center['id']}")
    expect(page.get_by_text("该阵地使用动态码，请用显示屏展示")).to_be_visible()
    settings = page.locator("[data-settings]")
    settings.locator("select[name=code_mode]").select_option("static")
    settings.locator("input[name=hours_mon]").fill("08:30-12:00, 14:00-18:00")
    settings.locator("[data-save]").click()
    expect(page.locator("[data-poster-pdf]")).to_be_visible()
    stored = admin.get(f"/api/v1/centers/{center['id']}").json
    assert stored["code_mode"] == "static"
    assert stored["opening_hours"] == {"mon": [["08:30", "12:00"], ["14:00", "18:00"]]}
    with page.expect_download() as download:
        page.click("[data-poster-pdf]")
    assert download.value.path().read_bytes()[:5] == b"%PDF-"
    assert download.value.suggested_filename.endswith(".pdf")
    shot(page, "console-center-detail")

    page.click("[data-rotate]")
    page.locator("dialog [data-ok]").click()
    expect(page.locator("#view")).to_contain_text("密钥版本 2")


def test_the_print_page_downloads_posters_and_plates(pages, shot, admin, tree):
    center = admin.post("/api/v1/centers", json={**CENTER, "org_id": tree.a, "code_mode": "static"}).json
    admin.post("/api/v1/centers", json={**CENTER, "name": "动态码阵地", "org_id": tree.a})
    post = admin.post("/api/v1/posts", json={
        "org_id": tree.a, "name": "政务服务中心党员示范岗", "unit": "江城区政务服务中心", "window": "3 号窗口",
        "location": {"lat": 24.9065, "lng": 118.5896}, "service_items": ["社保咨询"]})
    assert post.status_code == 201, post.json
    page = pages.console(api=admin, path=f"/admin/#/centers/print?org={tree.a}")
    expect(page.locator("#view")).not_to_contain_text("动态码阵地")
    for path in (f"/centers/{center['id']}/poster.pdf", f"/posts/{post.json['id']}/plate.pdf"):
        with page.expect_download() as download:
            page.click(f"[data-pdf='{path}']")
        assert download.value.path().read_bytes()[:5] == b"%PDF-"
    shot(page, "console-print")


def test_a_center_admin_sees_centers_but_not_the_managers_buttons(pages, login_as, admin, tree):
    center = admin.post("/api/v1/centers", json={**CENTER, "org_id": tree.a}).json
    page = pages.console(api=login_as("center_admin", tree.a), path=f"/admin/#/centers?org={tree.a}")
    expect(page.locator("#nav")).not_to_contain_text("党员管理")
    expect(page.locator("#view table")).to_contain_text(CENTER["name"])
    expect(page.locator("[data-new-center]")).to_have_count(0)
    page.goto(f"{pages.url}/admin/#/centers/detail?id={center['id']}")
    expect(page.locator("[data-devices]")).to_be_visible()
    expect(page.locator("[data-save]")).to_have_count(0)
    expect(page.locator("[data-rotate]")).to_have_count(0)
