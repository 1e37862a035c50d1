"""The console's QR login, end to end: the console shows a QR, an org admin's
phone scans a picture of it and confirms, the console logs in as that admin."""
from __future__ import annotations

from playwright.sync_api import expect


def test_scanning_the_console_qr_with_an_admins_phone_logs_the_console_in(pages, shot, login_as, tree, tmp_path):
    console = pages.console()
    qr = console.locator("#qr-login [data-qr] img")
    expect(qr).to_be_visible()
    expect(console.locator("#scope")).to_be_empty()
    shot(console, "console-qr-login")
    picture = tmp_path / "console-qr.png"
    qr.screenshot(path=str(picture))

    openid = "fz-admin-qr-login"
    phone = pages.phone(api=login_as("org_admin", tree.a, openid=openid), openid=openid, path="/mp/#/scan")
    expect(phone.locator("[data-scan-file]")).to_be_attached()  # the scan page opens the sheet
    phone.set_input_files("[data-scan-file]", str(picture))
    expect(phone.get_by_text("确认登录管理后台？")).to_be_visible()
    expect(phone.locator(".roles")).to_contain_text("组织管理员")
    expect(phone.locator(".roles")).to_contain_text("丰泽社区")
    shot(phone, "mp-console-login-confirm")
    phone.click("[data-confirm]")
    expect(phone.get_by_role("status")).to_contain_text("已确认")

    expect(console.locator("#scope")).to_contain_text("丰泽社区 · 组织管理员")
    expect(console.locator("#nav")).to_be_visible()
    shot(console, "console-after-qr-login")


def test_a_phone_without_an_admin_role_cannot_confirm(pages, login, tree):
    console = pages.console()
    expect(console.locator("#qr-login [data-qr] img")).to_be_visible()
    ticket = console.locator("#qr-login [data-qr] img").get_attribute("data-ticket")
    openid = "plain-resident-qr"
    phone = pages.phone(api=login(openid), openid=openid,
                        path=f"/mp/#/console-login?code=https%3A%2F%2Fdj.example.cn%2Fl%2F{ticket}")
    expect(phone.get_by_role("alert")).to_contain_text("没有管理后台的权限")
    expect(phone.locator("[data-confirm]")).to_be_disabled()


def test_cancelling_on_the_phone_leaves_the_console_waiting(pages, login_as, tree):
    console = pages.console()
    img = console.locator("#qr-login [data-qr] img")
    expect(img).to_be_visible()
    ticket = img.get_attribute("data-ticket")
    openid = "fz-admin-cancel"
    phone = pages.phone(api=login_as("org_admin", tree.a, openid=openid), openid=openid,
                        path=f"/mp/#/console-login?code=https%3A%2F%2Fdj.example.cn%2Fl%2F{ticket}")
    phone.click("[data-cancel]")
    expect(phone.locator(".result.warn")).to_contain_text("已取消")
    expect(console.locator("#qr-login")).to_be_visible()
    expect(img).to_have_attribute("data-ticket", ticket)
