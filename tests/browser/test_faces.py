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
    # Every operation is listed. Swagger UI draws a long document only around
    # the viewport: a window taller than the page shows it all.
    rows = page.locator(".opblock-summary")
    for _ in range(5):
        height = page.evaluate("document.body.scrollHeight")
        page.set_viewport_size({"width": 1366, "height": height + 1000})
        if page.evaluate("document.body.scrollHeight") <= height:
            break
    expect(rows).to_have_count(len(operations), timeout=20_000)
    seen = {tuple(row) for row in rows.evaluate_all("""rows => rows.map((row) =>
        [row.querySelector('.opblock-summary-method').textContent,
         row.querySelector('.opblock-summary-path').getAttribute('data-path')])""")}
    assert seen == operations, sorted(operations ^ seen)[:5]
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
