"""Mini-program codes in the stand-in (QR_KIND=wxacode): WeChat opens the entry
page with ``?scene=``, and the page goes on where the URL code would; the scan
sheet reads a mini-program code as WeChat's scanCode does (its ``path``)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.badges.helpers import decode_png, make_post
from tests.browser.conftest import HERE

CENTER = {"lat": HERE["latitude"], "lng": HERE["longitude"]}
WXACODE = re.compile(r"wxacode:pages/index/index\?scene=(?P<scene>[A-Za-z0-9_-]{32})")


@pytest.fixture(autouse=True)
def wxacode(app, monkeypatch):
    monkeypatch.setitem(app.config, "QR_KIND", "wxacode")


@pytest.fixture
def poster(admin, tree, tmp_path):
    """A static center at HERE and its printed poster: (center, scene, PNG path)."""
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "汇银大厦党群服务站", "address": "江城区金山路 8 号",
        "location": CENTER, "radius_m": 200, "code_mode": "static"}).json
    png = admin.get(f"/api/v1/centers/{center['id']}/poster.png")
    assert png.status_code == 200, png.get_data(as_text=True)
    file = tmp_path / "poster.png"
    file.write_bytes(png.data)
    return center, WXACODE.fullmatch(decode_png(png.data))["scene"], str(file)


def test_the_entry_page_with_a_scene_opens_the_check_in(pages, shot, member, poster):
    center, scene, _ = poster
    user = member(openid="member-wxacode")
    page = pages.phone(api=user, path=f"/mp/#/?scene={scene}")
    expect(page.locator("#title")).to_have_text("扫码签到")
    expect(page.locator("[data-center]")).to_have_text("汇银大厦党群服务站")
    assert page.evaluate("location.hash").startswith("#/checkin?code=")  # the entry was replaced
    page.click("[data-entry]")
    expect(page.locator("[data-status=ok]")).to_contain_text("签到成功")
    shot(page, "mp-wxacode-scene-checkin")
    assert [c["center_id"] for c in user.get("/api/v1/me/checkins").json["items"]] == [center["id"]]


def test_scanning_a_printed_mini_program_code_opens_the_same_page(pages, member, poster):
    _, _, png = poster
    page = pages.phone(api=member(openid="member-scan-wxacode"), path="/mp/#/scan")
    sheet = page.locator("[data-sheet='扫一扫']")
    sheet.locator("[data-scan-file]").set_input_files(png)
    expect(sheet).to_have_count(0)
    expect(page.locator("#title")).to_have_text("扫码签到")
    expect(page.locator("[data-center]")).to_have_text("汇银大厦党群服务站")


def test_a_logged_out_phone_logs_in_and_stays_on_the_scene(pages, shot, poster):
    _, scene, _ = poster
    page = pages.phone(path=f"/mp/#/?scene={scene}")
    expect(page.locator("#title")).to_have_text("微信登录")
    page.fill("input[name=openid]", "resident-wxacode")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#title")).to_have_text("扫码签到")
    expect(page.locator("[data-center]")).to_have_text("汇银大厦党群服务站")
    shot(page, "mp-wxacode-after-login")


def test_a_replaced_scene_is_refused_in_words(pages, shot, admin, login_as, poster):
    center, scene, _ = poster
    assert admin.post(f"/api/v1/centers/{center['id']}/rotate-key", json={}).status_code == 200
    page = pages.phone(api=login_as(None), path=f"/mp/#/?scene={scene}")
    refused = page.locator("[data-scene-error=scene_revoked]")
    expect(refused).to_contain_text("该码已作废")
    shot(page, "mp-wxacode-revoked")


def test_a_post_plate_scene_opens_the_plate(pages, shot, admin, login_as, tree):
    post = make_post(admin, tree.a, name="政务服务中心党员示范岗")
    scene = WXACODE.fullmatch(decode_png(admin.get(f"/api/v1/posts/{post['id']}/plate.png").data))["scene"]
    page = pages.phone(api=login_as(None), path=f"/mp/#/?scene={scene}")
    expect(page.locator("#title")).to_have_text("亮牌信息")
    expect(page.locator(f"[data-post='{post['id']}']")).to_contain_text("政务服务中心党员示范岗")
    shot(page, "mp-wxacode-post-plate")
