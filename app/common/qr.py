"""QR images of signed codes, rendered with the ``qrcode`` package, and the
PNG posters around them (the A4 PDF is :mod:`app.common.poster_pages`).

Posters draw Chinese with the font :mod:`app.common.poster_font` finds;
without one they are not drawn at all (503 ``poster_font_missing``), never
with boxes. They also draw people's text (a post's or a shop's name, an
address). Drawing never fails on it: Pillow's complex layout (libraqm)
refuses paragraph separators inside one line (CR, U+001C..U+001E, NEL
U+0085, U+2029 — ``raqm_layout() failed``), so such characters are replaced
by spaces, text too wide for the poster is cut with an ellipsis, and on any
other layout error the line is drawn again with Pillow's basic layout.
"""
from __future__ import annotations

import io
import logging
import math
import unicodedata
from collections.abc import Callable

import qrcode
import qrcode.image.svg
from flask import Response
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from app.common.poster_font import require_font

log = logging.getLogger(__name__)
BORDER = 4  # modules of quiet zone around the code, as the standard asks


def _qr(text: str, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=BORDER)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def png(text: str, box_size: int = 10) -> bytes:
    buffer = io.BytesIO()
    _qr(text, box_size).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def svg(text: str) -> str:
    image = _qr(text, 10).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


def print_image(text: str, min_pixels: int) -> Image.Image:
    """The code as a black-and-white image at least ``min_pixels`` wide, each
    module a whole number of pixels (sharp edges at any print resolution)."""
    modules = _qr(text, 1).modules_count + 2 * BORDER
    image = _qr(text, max(1, math.ceil(min_pixels / modules))).make_image().get_image()
    return image.convert("1")


def poster_png(text: str, title: str, subtitle: str) -> bytes:
    """A printable A5-ish poster: the code large, the place's name under it."""
    require_font()
    return _poster(_qr(text, 16).make_image().get_image().convert("RGB"), title, subtitle)


def image_poster_png(code_png: bytes, title: str, subtitle: str) -> bytes:
    """The same poster around a code drawn elsewhere (a mini-program code's PNG)."""
    require_font()
    return _poster(Image.open(io.BytesIO(code_png)).convert("RGB"), title, subtitle)


def _poster(code: Image.Image, title: str, subtitle: str) -> bytes:
    width = code.width + 160
    poster = Image.new("RGB", (width, code.height + 360), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle([0, 0, width, 120], fill=(200, 16, 46))  # Party red header band
    poster.paste(code, (80, 160))
    room = width - 40
    draw_line(draw, (width // 2, 60), title, 44, "white", room)
    draw_line(draw, (width // 2, code.height + 220), subtitle, 28, "black", room)
    buffer = io.BytesIO()
    poster.save(buffer, format="PNG")
    return buffer.getvalue()


# Characters no poster line can hold: controls, line and paragraph
# separators, and surrogates (unencodable) that slipped through.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
ELLIPSIS = "…"
MAX_CHARS = 300  # far more than a poster line holds; bounds the layout work


def printable_line(text: str) -> str:
    """``text`` as one line: every unprintable character becomes a space."""
    return "".join(" " if unicodedata.category(c) in UNPRINTABLE_CATEGORIES else c
                   for c in text).strip()


def draw_line(draw: ImageDraw.ImageDraw, centre: tuple[int, int], text: str, size: int, fill: str,
              max_width: int) -> None:
    """Draw ``text`` centred on ``centre`` in one line at most ``max_width`` wide;
    never raises on the text (complex layout, then basic, then nothing)."""
    line = printable_line(text[:MAX_CHARS])
    for basic in (False, True):
        try:
            font = _font(size, basic)
            fitted = _fit(draw, line, font, max_width)
            draw.text(centre, fitted, fill=fill, font=font, anchor="mm")
            return
        except (OSError, RuntimeError, ValueError, UnicodeError, MemoryError) as error:
            log.warning("poster text layout failed (%s layout): %s",
                        "basic" if basic else "complex", error)
    log.error("poster text not drawn: no layout could render it")


def _fit(draw: ImageDraw.ImageDraw, line: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    """The longest prefix of ``line`` (plus an ellipsis) that fits ``max_width`` pixels."""
    return fit_line(line, lambda text: draw.textlength(text, font=font), max_width)


def fit_line(line: str, width_of: Callable[[str], float], max_width: float) -> str:
    """The longest prefix of ``line`` (plus an ellipsis) whose ``width_of`` is
    at most ``max_width``: the line itself when it fits."""
    if width_of(line) <= max_width:
        return line
    low, high = 0, len(line)  # binary search: a few layouts, not one per character
    while low < high:
        middle = (low + high + 1) // 2
        if width_of(line[:middle] + ELLIPSIS) <= max_width:
            low = middle
        else:
            high = middle - 1
    return line[:low].rstrip() + ELLIPSIS


def _font(size: int, basic: bool = False) -> ImageFont.FreeTypeFont:
    """The poster font at ``size``; :class:`PosterFontMissing` when none draws Chinese."""
    # A fresh font per poster: FreeType faces are not to be shared between threads.
    engine = ImageFont.Layout.BASIC if basic else None
    path, index = require_font()
    return ImageFont.truetype(path, size, index=index, layout_engine=engine)


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF as a download named ``filename``."""
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
