"""The faces load in Chromium: the stand-in's start screen, the console's
login, the API docs with no internet."""
from __future__ import annotations

from playwright.sync_api import expect


def test_docs_render_offline_from_the_npm_package(pages, shot):
    page = pages.blank()
    outside = []
    page.on("request", lambda request: not request.url.startswith(pages.url) and outside.append(request.url))
    page.goto(pages.url + "/api/v1/docs")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_attached()
    assert page.locator(".opblock").count() > 50  # the operations list
    shot(page, "docs")
    assert outside == []  # nothing from a CDN


def test_the_stand_in_logs_in_through_the_mock_wechat(pages, shot):
    page = pages.phone()
    expect(page.locator("#title")).to_have_text("微信登录")
    shot(page, "mp-start")
    page.fill("input[name=openid]", "resident-browser-1")
    page.click("form button")
    expect(page.locator("#title")).to_have_text("党建红")
    expect(page.locator("#tabs")).to_be_visible()
    shot(page, "mp-home")


def test_the_console_refuses_a_user_without_an_admin_role(pages, login):
    page = pages.console(api=login("someone-without-roles"))
    expect(page.get_by_role("alert")).to_contain_text("没有管理权限")
