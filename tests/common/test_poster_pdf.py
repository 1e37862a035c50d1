"""Printable posters and plates as A4 PDFs, with Chinese drawn in a real CJK font."""
from __future__ import annotations

import io
import os
import re

import pytest
import zxingcpp
from PIL import Image, ImageFont

from app.common import qr
from tests.badges.helpers import PLATES, POSTS, apply_plate, business_zone, make_post
from tests.conftest import assert_error

A4_POINTS = (595.28, 841.89)


def page_of(pdf: bytes) -> tuple[tuple[float, float], Image.Image]:
    """The page size in points and the page's image (Pillow writes one JPEG per page)."""
    assert pdf.startswith(b"%PDF-")
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert b"/Count 1" in pdf  # one page
    start = pdf.index(b"stream", pdf.index(b"/DCTDecode")) + len(b"stream")
    start += 2 if pdf[start:start + 2] == b"\r\n" else 1
    image = Image.open(io.BytesIO(pdf[start:pdf.index(b"endstream", start)]))
    return (float(box[1]), float(box[2])), image


def assert_a4_carrying(pdf: bytes, text_start: str) -> None:
    (width, height), image = page_of(pdf)
    assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1
    assert image.size == qr.A4_300DPI  # 300 dpi
    decoded = zxingcpp.read_barcodes(image)
    assert len(decoded) == 1 and decoded[0].text.startswith(text_start)


def test_the_poster_font_draws_chinese_not_boxes():
    found = qr.font_path()
    assert found is not None, "no CJK font: ./dev install installs fonts-noto-cjk"
    font = ImageFont.truetype(found[0], 48, index=found[1])
    assert font.getmask("党").getbbox() is not None
    assert bytes(font.getmask("党")) != bytes(font.getmask("\ue000"))  # not the missing-glyph box
    assert bytes(font.getmask("党")) != bytes(font.getmask("群"))
    assert qr.covers_chinese(*found)


def test_a_poster_font_override_without_chinese_is_refused_loudly(monkeypatch, caplog):
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.exists(latin):
        pytest.skip("no DejaVu Sans (a Latin-only font) on this machine")
    assert not qr.covers_chinese(latin)
    monkeypatch.setenv("POSTER_FONT", latin)
    qr.forget_font()
    try:
        with caplog.at_level("ERROR"):
            found = qr.font_path()
        assert found is not None and found[0] != latin
        assert "cannot draw Chinese" in caplog.text
    finally:
        monkeypatch.delenv("POSTER_FONT")
        qr.forget_font()


def test_no_chinese_font_anywhere_is_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(qr, "covers_chinese", lambda path, index=0: False)
    qr.forget_font()
    try:
        with caplog.at_level("ERROR"):
            assert qr.font_path() is None
            assert qr.font_path() is None
            png = qr.poster_png("https://example.org/q/abc", "党群服务中心", "地址")
        assert caplog.text.count("no font that draws Chinese") == 1
        assert png.startswith(b"\x89PNG")  # still a poster, with Pillow's font
    finally:
        monkeypatch.undo()
        qr.forget_font()


def test_center_poster_pdf_is_an_a4_page_whose_qr_reads(admin, tree):
    from tests.checkin.conftest import CENTER_LAT, CENTER_LNG

    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
        "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}, "code_mode": "static"}).json
    response = admin.get(f"/api/v1/centers/{center['id']}/poster.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert_a4_carrying(response.data, "https://dj.example.cn/q/")


def test_center_poster_pdf_keeps_the_pngs_rules(admin, admin_b, login_as, tree):
    from tests.checkin.conftest import CENTER_LAT, CENTER_LNG

    rotating = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "中心", "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}}).json
    url = f"/api/v1/centers/{rotating['id']}/poster.pdf"
    assert_error(admin.get(url), 409, "static_mode_required")
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(admin.client.get(url), 401, "unauthorized")


def test_post_plate_pdf(admin, admin_b, tree):
    post = make_post(admin, tree.a)
    response = admin.get(f"{POSTS}/{post['id']}/plate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_a4_carrying(response.data, "https://dj.example.cn/q/")
    assert_error(admin_b.get(f"{POSTS}/{post['id']}/plate.pdf"), 404, "not_found")


@pytest.fixture
def zone(tree):
    return business_zone(tree.street)


def test_merchant_plate_pdf_only_when_approved(member, login_as, zone):
    owner, zone_admin = member("陈小文", "13800138000"), login_as("org_admin", zone)
    plate = apply_plate(owner, zone)
    url = f"{PLATES}/{plate['id']}/plate.pdf"
    assert_error(zone_admin.get(url), 409, "plate_not_approved")
    assert zone_admin.post(f"{PLATES}/{plate['id']}/approve", json={}).status_code == 200
    for api in (owner, zone_admin):
        response = api.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_a4_carrying(response.data, "https://dj.example.cn/q/")
