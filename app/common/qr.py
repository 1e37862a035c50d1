"""QR images of signed codes, rendered with the ``qrcode`` package.

Posters also draw people's text (a post's or a shop's name, an address).
Drawing never fails on it: Pillow's complex layout (libraqm) refuses
paragraph separators inside one line (CR, U+001C..U+001E, NEL U+0085,
U+2029 — ``raqm_layout() failed``), so such characters are replaced by
spaces, text too wide for the poster is cut with an ellipsis, and on any
other layout error the line is drawn again with Pillow's basic layout.
"""
from __future__ import annotations

import io
import logging
import unicodedata

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

log = logging.getLogger(__name__)


def _qr(text: str, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
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


def poster_png(text: str, title: str, subtitle: str) -> bytes:
    """A printable A5-ish poster: the code large, the place's name under it."""
    from PIL import Image, ImageDraw

    code = _qr(text, 16).make_image().convert("RGB")
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


def draw_line(draw, centre: tuple[int, int], text: str, size: int, fill, max_width: int) -> None:
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


def _fit(draw, line: str, font, max_width: int) -> str:
    """The longest prefix of ``line`` (plus an ellipsis) that fits ``max_width``."""
    if draw.textlength(line, font=font) <= max_width:
        return line
    low, high = 0, len(line)  # binary search: a few layouts, not one per character
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(line[:middle] + ELLIPSIS, font=font) <= max_width:
            low = middle
        else:
            high = middle - 1
    return line[:low].rstrip() + ELLIPSIS


def _font(size: int, basic: bool = False):
    # A fresh font per poster: FreeType faces are not to be shared between threads.
    from PIL import ImageFont

    engine = ImageFont.Layout.BASIC if basic else None
    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, size, layout_engine=engine)
        except OSError:
            continue
    return ImageFont.load_default(size)
