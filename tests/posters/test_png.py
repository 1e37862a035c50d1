"""The PNG poster's Chinese title is drawn in the CJK font's glyphs, not in
the missing-glyph boxes a Latin font prints."""
from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw, ImageFont

from app.common import poster_font, qr
from tests.badges.helpers import decode_png

URL = "https://example.org/q/abc"
TITLE = "丰泽社区党群服务中心"
BAND = 120  # the red header band's height, where the title is


def title_band(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.crop((0, 0, image.width, BAND))


def white_pixels(band: Image.Image) -> int:
    return sum(count for count, colour in band.getcolors(1 << 20) if colour == (255, 255, 255))


def test_the_title_is_drawn_with_the_found_font():
    png = qr.poster_png(URL, TITLE, "江城区丰泽路 1 号")
    assert decode_png(png) == URL
    band = title_band(png)
    expected = Image.new("RGB", band.size, (200, 16, 46))
    path, index = poster_font.require_font()
    ImageDraw.Draw(expected).text((band.width // 2, 60), TITLE, fill="white", anchor="mm",
                                  font=ImageFont.truetype(path, 44, index=index))
    assert ImageChops.difference(band, expected).getbbox() is None


def test_the_title_is_not_the_boxes_a_latin_font_prints(monkeypatch, latin_font):
    real = title_band(qr.poster_png(URL, TITLE, "地址"))
    # What the poster would be if a Latin font were taken (the lookup refuses it).
    monkeypatch.setattr(qr, "require_font", lambda: (latin_font, 0))
    boxes = title_band(qr.poster_png(URL, TITLE, "地址"))
    assert white_pixels(real) > 0 and white_pixels(boxes) > 0
    assert ImageChops.difference(real, boxes).getbbox() is not None
    # In the Latin font every one of the title's characters is the same box.
    latin = ImageFont.truetype(latin_font, 44)
    assert len({bytes(latin.getmask(char)) for char in TITLE}) == 1
    path, index = poster_font.require_font()
    cjk = ImageFont.truetype(path, 44, index=index)
    assert len({bytes(cjk.getmask(char)) for char in TITLE}) == len(set(TITLE))
