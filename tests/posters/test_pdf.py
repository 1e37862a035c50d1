"""Printable posters and plates as A4 PDFs: the text real text in the
embedded CJK font, the code sharp at 300 dpi or more and the same as the PNG's."""
from __future__ import annotations

import io

import pytest
from fontTools.ttLib import TTFont

from app.common import poster_font, poster_pages, qr
from tests.badges.helpers import PLATES, POSTS, apply_plate, business_zone, decode_png, make_post
from tests.checkin.conftest import CENTER_LAT, CENTER_LNG
from tests.conftest import assert_error
from tests.posters.pdfs import is_a4, read_pdf

CENTER = {"name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号"}


def font_family() -> str:
    """The found face's family as fpdf2 names the embedded font (no spaces)."""
    path, index = poster_font.require_font()
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return font["name"].getDebugName(1).replace(" ", "")


def assert_printable(pdf: bytes, png: bytes, *texts: str) -> None:
    """An A4 page in the CJK font carrying ``texts`` and the PNG's code at 300 dpi or more."""
    page = read_pdf(pdf)
    assert is_a4(page.size)
    for text in texts:
        assert text.replace(" ", "") in page.text  # every character had a glyph (none left out)
    assert [name.partition("+")[2] for name in page.fonts] == [font_family()]
    assert page.dpi >= 300
    assert page.code == decode_png(png)


@pytest.fixture
def center(admin, tree):
    return admin.post("/api/v1/centers", json={
        **CENTER, "org_id": tree.a, "location": {"lat": CENTER_LAT, "lng": CENTER_LNG},
        "code_mode": "static"}).json


def test_center_poster_pdf_is_an_a4_page_of_text_and_the_pngs_code(admin, center):
    url = f"/api/v1/centers/{center['id']}/poster"
    response = admin.get(f"{url}.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="center-{center["id"]}-poster.pdf"'
    assert_printable(response.data, admin.get(f"{url}.png").data, *CENTER.values())
    assert read_pdf(response.data).code.startswith("https://dj.example.cn/q/")


def test_center_poster_pdf_keeps_the_pngs_rules(admin, admin_b, tree):
    rotating = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "中心", "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}}).json
    url = f"/api/v1/centers/{rotating['id']}/poster.pdf"
    assert_error(admin.get(url), 409, "static_mode_required")
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(admin.client.get(url), 401, "unauthorized")


def test_post_plate_pdf(admin, admin_b, tree):
    post = make_post(admin, tree.a)
    url = f"{POSTS}/{post['id']}/plate"
    response = admin.get(f"{url}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_printable(response.data, admin.get(f"{url}.png").data, post["name"])
    assert_error(admin_b.get(f"{url}.pdf"), 404, "not_found")


def test_merchant_plate_pdf_only_when_approved(member, login_as, tree):
    zone = business_zone(tree.street)
    owner, zone_admin = member("陈小文", "13800138000"), login_as("org_admin", zone)
    plate = apply_plate(owner, zone)
    url = f"{PLATES}/{plate['id']}/plate"
    assert_error(zone_admin.get(f"{url}.pdf"), 409, "plate_not_approved")
    assert zone_admin.post(f"{PLATES}/{plate['id']}/approve", json={}).status_code == 200
    for api in (owner, zone_admin):
        response = api.get(f"{url}.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_printable(response.data, owner.get(f"{url}.png").data, plate["shop_name"], plate["address"])


def test_a_title_too_wide_is_cut_with_an_ellipsis_and_odd_text_still_prints():
    page = read_pdf(poster_pages.url_poster("https://example.org/q/abc", "党" * 2000, "\r金山路\u2029 8 号👨"))
    assert page.code == "https://example.org/q/abc"
    assert f"党{qr.ELLIPSIS}" in page.text and "党" * 60 not in page.text
    assert "金山路8号" in page.text  # the emoji the font lacks is left out, not a box


def test_a_mini_program_code_is_placed_at_300_dpi_of_its_pixels():
    buffer = io.BytesIO()  # a stand-in for WeChat's image, 640 pixels wide
    qr.print_image("wxacode:pages/index/index?scene=abc", 640).save(buffer, format="PNG")
    page = read_pdf(poster_pages.image_poster(buffer.getvalue(), CENTER["name"], "微信扫一扫"))
    assert is_a4(page.size) and abs(page.dpi - 300) < 1
    assert page.code == "wxacode:pages/index/index?scene=abc"
