"""The faces load in Chromium: the stand-in's start screen, the console's
login, the API docs with no internet."""
from __future__ import annotations

from playwright.sync_api import expect


def test_docs_render_offline_from_the_npm_package(pages, shot):
    page = pages.blank()
    outside = []
    page.on("request", lambda request: not request.url.startswith(pages.url) and outside.append(request.url))
    spec = page.request.get(pages.url + "/api/v1/openapi.json").json()
    operations = {(verb.upper(), path) for path, item in spec["paths"].items() for verb in item
                  if verb != "parameters"}
    page.goto(pages.url + "/api/v1/docs")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    # Every operation is listed. A long spec is drawn only around the viewport,
    # so read the list while scrolling through it.
    seen: set = set()
    read = """() => [...document.querySelectorAll('.opblock-summary')].map((row) =>
        [row.querySelector('.opblock-summary-method')?.textContent,
         row.querySelector('.opblock-summary-path')?.getAttribute('data-path')])"""
    for _ in range(400):
        seen |= {tuple(row) for row in page.evaluate(read)}
        if page.evaluate("window.scrollY + innerHeight >= document.body.scrollHeight - 2"):
            break
        page.evaluate("window.scrollBy(0, 400)")
        page.wait_for_function("""() => [...document.querySelectorAll('.opblock-summary')].some((row) => {
            const box = row.getBoundingClientRect(); return box.bottom > 0 && box.top < innerHeight; })""")
    seen |= {tuple(row) for row in page.evaluate(read)}
    assert seen >= operations, sorted(operations - seen)[:5]
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
