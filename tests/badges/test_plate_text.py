"""Plate text the renderer cannot lay out: refused on the way in (422 naming
the field), and drawn anyway when it is already stored (never a 500)."""
from __future__ import annotations

import io
import json

import pytest
import time_machine
from PIL import Image, ImageDraw, ImageFont

from app.badges.models import MerchantPlate, ServicePost
from app.common import qr
from app.extensions import db
from tests.badges.helpers import PLATES, POSTS, T0, approved_plate, business_zone, decode_png, make_post
from tests.conftest import assert_error

# What made Pillow's complex layout fail with "raqm_layout() failed" (a 500):
# paragraph separators inside one line. The lone surrogate cannot be stored.
BREAKERS = ["\r", "\x1c", "\x1d", "\x1e", "\x85", "\u2029"]
# NUL and lone surrogates are refused for every string the API takes, before
# any field's own rule (tests/api/test_hostile_input.py).
UNPRINTABLE = [*BREAKERS, "\x07", "\n", "\t", "\x7f", "\u2028"]
# Unusual but printable: kept as they are.
FINE = ["é\u0301\u0301", "\u202eمرحبا\u202c", "👨\u200d👩\u200d👧", "\u200f", "\ufeff党员", "　全角空格"]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def zone(tree):
    return business_zone(tree.street)


@pytest.fixture
def owner(member):
    return member("陈小文", "13800138000")


def send(api, method: str, url: str, body: dict):
    """JSON with \\u escapes, as a phone sends it (a lone surrogate included)."""
    return getattr(api, method)(url, data=json.dumps(body), content_type="application/json")


def fields_of(error) -> dict:
    return error["details"]["fields"]


@pytest.mark.parametrize("char", UNPRINTABLE, ids=lambda c: f"U+{ord(c):04X}")
def test_posts_refuse_unprintable_text_naming_the_field(admin, tree, char):
    for field in ("name", "unit", "window"):
        body = {"org_id": tree.a, "name": "示范岗", field: f"政务{char}服务"}
        error = assert_error(send(admin, "post", POSTS, body), 422, "validation_failed")
        assert list(fields_of(error)) == [field], error
        assert f"U+{ord(char):04X}" in fields_of(error)[field][0]
    error = assert_error(send(admin, "post", POSTS, {"org_id": tree.a, "name": "示范岗",
                                                     "service_items": ["社保", f"证明{char}"]}),
                         422, "validation_failed")
    assert list(fields_of(error)) == ["service_items"]
    post = make_post(admin, tree.a)
    error = assert_error(send(admin, "patch", f"{POSTS}/{post['id']}", {"window": f"3{char}号"}),
                         422, "validation_failed")
    assert list(fields_of(error)) == ["window"]
    assert db.session.get(ServicePost, post["id"]).window == "3 号窗口"


@pytest.mark.parametrize("char", UNPRINTABLE, ids=lambda c: f"U+{ord(c):04X}")
def test_merchant_plates_refuse_unprintable_text_naming_the_field(owner, zone, char):
    for field in ("shop_name", "address"):
        body = {"zone_id": zone, "shop_name": "老陈杂货铺", "address": "金山路 8 号", field: f"老陈{char}"}
        error = assert_error(send(owner, "post", PLATES, body), 422, "validation_failed")
        assert list(fields_of(error)) == [field]


@pytest.mark.parametrize("text", FINE)
def test_unusual_printable_text_is_accepted_and_printed(admin, owner, zone, login_as, tree, text):
    post = make_post(admin, tree.a, name=f"示范岗{text}", unit=text, window=text)
    assert post["name"] == f"示范岗{text}"
    png = admin.get(f"{POSTS}/{post['id']}/plate.png")
    assert png.status_code == 200, png.get_data(as_text=True)
    assert decode_png(png.data).startswith("http")
    plate, code = approved_plate(owner, login_as("org_admin", zone), zone, shop_name=text, address=text)
    assert plate["shop_name"] == text and code.startswith("http")


@pytest.mark.parametrize("char", BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_stored_text_that_broke_the_renderer_still_prints(admin, owner, zone, login_as, tree, char):
    # Rows written before the check (or by another way in) still print.
    post = make_post(admin, tree.a)
    stored = db.session.get(ServicePost, post["id"])
    stored.name, stored.unit, stored.window = f"政务{char}服务", f"江城{char}", char
    zone_admin = login_as("org_admin", zone)
    plate, _ = approved_plate(owner, zone_admin, zone)
    shop = db.session.get(MerchantPlate, plate["id"])
    shop.shop_name, shop.address = f"老陈{char}杂货铺", f"{char}金山路"
    db.session.commit()
    for api, url in ((admin, f"{POSTS}/{post['id']}/plate.png"),
                     (zone_admin, f"{PLATES}/{plate['id']}/plate.png")):
        response = api.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "image/png"
        assert "/q/" in decode_png(response.data)


def _title_band_has_text(png: bytes) -> bool:
    """White pixels in the red header band: the title was drawn."""
    band = Image.open(io.BytesIO(png)).convert("RGB").crop((0, 0, 400, 120))
    return (255, 255, 255) in {colour for _, colour in band.getcolors(1 << 16)}


def test_a_layout_error_falls_back_to_the_basic_layout(monkeypatch):
    original = ImageDraw.ImageDraw.text

    def complex_layout_fails(self, xy, text, fill=None, font=None, *args, **kwargs):
        if getattr(font, "layout_engine", None) != ImageFont.Layout.BASIC:
            raise OSError("raqm_layout() failed.")
        return original(self, xy, text, fill, font, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", complex_layout_fails)
    png = qr.poster_png("https://example.org/q/abc", "丰泽社区党群服务中心", "金山路 8 号")
    assert decode_png(png) == "https://example.org/q/abc"
    assert _title_band_has_text(png)


def test_text_wider_than_the_poster_is_cut_with_an_ellipsis():
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = qr._font(44)
    fitted = qr._fit(draw, "党" * 100, font, 500)
    assert fitted.endswith(qr.ELLIPSIS) and len(fitted) < 100
    assert draw.textlength(fitted, font=font) <= 500
    assert qr._fit(draw, "短", font, 500) == "短"
    png = qr.poster_png("https://example.org/q/abc", "党" * 2000, "\r" * 50)
    assert decode_png(png) == "https://example.org/q/abc"
