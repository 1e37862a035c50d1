"""The poster font: found through POSTER_FONT or fontconfig only, it has a
glyph for every character posters print, and without one nothing prints
boxes (503 ``poster_font_missing``, logged once; at start in production)."""
from __future__ import annotations

import logging

import pytest
from fontTools.ttLib import TTFont
from PIL import ImageFont

from app import create_app
from app.common import code_images, poster_font, qr
from app.errors import ServiceUnavailable
from tests.badges.helpers import POSTS, make_post
from tests.checkin.conftest import CENTER_LAT, CENTER_LNG
from tests.conftest import PRODUCTION_ENV, assert_error

CENTER = {"name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号"}
# Every text the app itself puts on a poster, and a center's name and address.
POSTER_TEXTS = [*CENTER.values(), code_images.WXACODE_CAPTION, qr.ELLIPSIS, poster_font.CJK_PROBE]


def cmap_of(path: str, index: int) -> dict[int, str]:
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return font.getBestCmap()


def test_the_found_font_has_a_glyph_for_every_character_posters_print():
    found = poster_font.font_path()
    assert found is not None, "no CJK font: ./dev install installs fonts-noto-cjk"
    cmap = cmap_of(*found)
    missing = {char for text in POSTER_TEXTS for char in text if not char.isspace() and ord(char) not in cmap}
    assert not missing


def test_a_latin_font_fails_the_same_check(latin_font):
    cmap = cmap_of(latin_font, 0)
    assert ord("A") in cmap and ord("党") not in cmap
    assert not poster_font.covers(latin_font, 0, CENTER["name"])
    assert poster_font.missing_characters(latin_font, 0, "党A 群") == {"党", "群"}
    assert not poster_font.covers_chinese(latin_font)


def test_a_file_that_is_not_a_font_covers_nothing(tmp_path):
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    assert poster_font.missing_characters(str(junk), 0, "党") is None
    assert not poster_font.covers_chinese(str(junk))
    assert not poster_font.covers_chinese(str(tmp_path / "absent.ttf"))


def test_the_found_font_draws_each_character_as_its_own_glyph():
    path, index = poster_font.require_font()
    font = ImageFont.truetype(path, 48, index=index)
    missing = bytes(font.getmask("\U000ffffd"))  # a private-use code point: the missing glyph
    masks = {char: bytes(font.getmask(char)) for char in set(CENTER["name"])}
    assert all(mask != missing for mask in masks.values())
    assert len(set(masks.values())) == len(masks)  # no two characters share a (box) glyph


def test_the_lookup_asks_fontconfig_and_reads_its_face_index(monkeypatch):
    monkeypatch.delenv("POSTER_FONT", raising=False)
    asked = []

    def fontconfig(*command):
        asked.append(command)
        return {"fc-match": "/fonts/Sans.ttc|2", "fc-list": "/fonts/B.ttf|0\n/fonts/A.ttc|1\n\n"}[command[0]]

    monkeypatch.setattr(poster_font, "_fontconfig", fontconfig)
    assert poster_font.candidates() == [("/fonts/Sans.ttc", 2), ("/fonts/A.ttc", 1), ("/fonts/B.ttf", 0)]
    assert [command[0] for command in asked] == ["fc-match", "fc-list"]
    assert ":lang=zh" in asked[1]
    assert poster_font.parse_face("/x.ttf|") == ("/x.ttf", 0)
    assert poster_font.parse_face("  ") is None


def test_a_poster_font_override_without_chinese_is_passed_over_loudly(monkeypatch, caplog, latin_font):
    monkeypatch.setenv("POSTER_FONT", latin_font)
    with caplog.at_level(logging.ERROR):
        found = poster_font.font_path()
    assert found is not None and found[0] != latin_font
    assert poster_font.covers_chinese(*found)
    assert "cannot draw Chinese" in caplog.text


def test_a_poster_font_override_that_draws_chinese_is_used(monkeypatch):
    path, _ = poster_font.require_font()
    assert poster_font.covers_chinese(path, 0)  # a collection's first face (Noto CJK's JP) has them too
    monkeypatch.setenv("POSTER_FONT", path)
    poster_font.forget_font()
    assert poster_font.font_path() == (path, 0)  # POSTER_FONT names a file: its first face


def test_without_a_chinese_font_nothing_prints_boxes(no_chinese_font, caplog):
    with caplog.at_level(logging.ERROR):
        assert poster_font.font_path() is None
        assert poster_font.font_path() is None
    assert caplog.text.count("no font that draws Chinese") == 1  # logged once, naming the fix
    assert "fonts-noto-cjk" in caplog.text
    for draw in (lambda: qr.poster_png("https://example.org/q/abc", CENTER["name"], "地址"),
                 lambda: qr.image_poster_png(qr.png("x"), CENTER["name"], "地址")):
        with pytest.raises(poster_font.PosterFontMissing):
            draw()
    assert issubclass(poster_font.PosterFontMissing, ServiceUnavailable)


def test_without_a_chinese_font_the_print_endpoints_answer_503(admin, tree, no_chinese_font):
    center = admin.post("/api/v1/centers", json={
        **CENTER, "org_id": tree.a, "location": {"lat": CENTER_LAT, "lng": CENTER_LNG},
        "code_mode": "static"}).json
    post = make_post(admin, tree.a)
    for url in (f"/api/v1/centers/{center['id']}/poster.png", f"/api/v1/centers/{center['id']}/poster.pdf",
                f"{POSTS}/{post['id']}/plate.png", f"{POSTS}/{post['id']}/plate.pdf"):
        error = assert_error(admin.get(url), 503, "poster_font_missing")
        assert error["details"] == {"dependency": "poster_font"}
        assert "fonts-noto-cjk" in error["message"]
    assert admin.get(f"/api/v1/centers/{center['id']}").status_code == 200  # the rest still works


def test_production_says_at_start_that_posters_cannot_print(monkeypatch, caplog, no_chinese_font):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.ERROR, logger="app.common.poster_font"):
        create_app("production")
    assert "no font that draws Chinese" in caplog.text


def test_development_does_not_look_at_start(monkeypatch, caplog, no_chinese_font):
    with caplog.at_level(logging.ERROR, logger="app.common.poster_font"):
        create_app("testing")
    assert "no font that draws Chinese" not in caplog.text
