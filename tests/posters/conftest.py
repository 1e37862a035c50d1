"""Fixtures for poster tests: a Latin-only font, a machine without a Chinese
font, and a fresh font lookup around every test."""
from __future__ import annotations

import string

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from app.common import poster_font


@pytest.fixture(autouse=True)
def fresh_lookup():
    """Each test looks the font up itself (and leaves the next one a fresh lookup)."""
    poster_font.forget_font()
    yield
    poster_font.forget_font()


def _box(*contours: tuple[int, int, int, int]):
    pen = TTGlyphPen(None)
    for x0, y0, x1, y1 in contours:
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


@pytest.fixture(scope="session")
def latin_font(tmp_path_factory) -> str:
    """A TrueType font with glyphs for ASCII letters only (each its own
    shape) and a hollow box as its missing glyph: what Chinese prints as
    with a Latin font."""
    letters = string.ascii_letters
    font = FontBuilder(1000, isTTF=True)
    font.setupGlyphOrder([".notdef", "space", *letters])
    font.setupCharacterMap({32: "space", **{ord(letter): letter for letter in letters}})
    glyphs = {".notdef": _box((50, 0, 550, 700), (100, 50, 500, 650)), "space": _box()}
    glyphs.update({letter: _box((50, 0, 100 + 8 * number, 300 + 7 * number))
                   for number, letter in enumerate(letters)})
    font.setupGlyf(glyphs)
    font.setupHorizontalMetrics(dict.fromkeys(glyphs, (600, 50)))
    font.setupHorizontalHeader(ascent=800, descent=-200)
    font.setupNameTable({"familyName": "Latin Only", "styleName": "Regular"})
    font.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    font.setupPost()
    path = tmp_path_factory.mktemp("fonts") / "LatinOnly.ttf"
    font.save(str(path))
    return str(path)


@pytest.fixture
def no_chinese_font(monkeypatch, tmp_path, latin_font):
    """A machine whose only font is Latin: POSTER_FONT names it and fontconfig's
    tools are not installed (nothing on PATH)."""
    monkeypatch.setenv("POSTER_FONT", latin_font)
    monkeypatch.setenv("PATH", str(tmp_path))
    poster_font.forget_font()
    return latin_font
