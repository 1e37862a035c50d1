"""Posters and plates as one A4 page of PDF, ready to print.

The page is the PNG poster's layout (:mod:`app.common.qr`) drawn for print:
a Party-red band with the title, the code, and the subtitle under it. Text
is real text in the poster font (:mod:`app.common.poster_font`), embedded
(subset) with fpdf2, which takes a TrueType collection's face by its index;
a character the font lacks is left out, never drawn as a box. A URL QR code
is a black-and-white image of at least 300 dpi at its printed size, each
module a whole number of pixels; a mini-program code is WeChat's image,
printed at 300 dpi of its pixels (``WXACODE_WIDTH`` 1280 gives about 108 mm),
at most :data:`CODE_MM` wide.
"""
from __future__ import annotations

import io
import math

from fpdf import FPDF
from PIL import Image

from app.common.poster_font import require_font
from app.common.qr import MAX_CHARS, fit_line, print_image, printable_line

A4_MM = (210.0, 297.0)
PRINT_DPI = 300
MM_PER_INCH = 25.4
PT_MM = MM_PER_INCH / 72
CODE_MM = 150.0  # the widest a code is printed
MARGIN_MM = 10.0
HEADER_MM = 45.0
PARTY_RED = (200, 16, 46)
TITLE_PT, SUBTITLE_PT = 28, 16


def url_poster(text: str, title: str, subtitle: str) -> bytes:
    """The page around a QR code of ``text``, drawn sharp at print resolution."""
    require_font()
    return _page(print_image(text, math.ceil(CODE_MM / MM_PER_INCH * PRINT_DPI)), title, subtitle)


def image_poster(code_png: bytes, title: str, subtitle: str) -> bytes:
    """The page around a code drawn elsewhere (a mini-program code's PNG)."""
    require_font()
    return _page(Image.open(io.BytesIO(code_png)).convert("RGB"), title, subtitle)


def _page(code: Image.Image, title: str, subtitle: str) -> bytes:
    path, index = require_font()
    page = FPDF(format="A4", unit="mm")
    page.set_auto_page_break(auto=False)
    page.add_font("cjk", fname=path, collection_font_number=index)
    page.add_page()
    page.set_title(printable_line(title[:MAX_CHARS]))
    page.set_fill_color(*PARTY_RED)
    page.rect(0, 0, A4_MM[0], HEADER_MM, style="F")
    _line(page, title, TITLE_PT, (255, 255, 255), HEADER_MM / 2)
    width = min(CODE_MM, code.width / PRINT_DPI * MM_PER_INCH)
    height = width * code.height / code.width
    top = HEADER_MM + 20
    page.image(code, x=(A4_MM[0] - width) / 2, y=top, w=width, h=height)
    _line(page, subtitle, SUBTITLE_PT, (0, 0, 0), top + height + 15)
    return bytes(page.output())


def _line(page: FPDF, text: str, size: int, colour: tuple[int, int, int], middle_mm: float) -> None:
    """``text`` in one line centred on the page at ``middle_mm`` from the top,
    cut with an ellipsis when wider than the page's margins allow."""
    page.set_font("cjk", size=size)
    page.set_text_color(*colour)
    room = A4_MM[0] - 2 * MARGIN_MM
    line = fit_line(printable_line(text[:MAX_CHARS]), page.get_string_width, room)
    height = size * PT_MM * 1.4
    page.set_xy(MARGIN_MM, middle_mm - height / 2)
    page.cell(w=room, h=height, text=line, align="C")
