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
import os
import subprocess
import threading
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
    return _poster(_qr(text, 16).make_image().convert("RGB"), title, subtitle)


def image_poster_png(code_png: bytes, title: str, subtitle: str) -> bytes:
    """The same poster around a code drawn elsewhere (a mini-program code's PNG)."""
    from PIL import Image

    return _poster(Image.open(io.BytesIO(code_png)).convert("RGB"), title, subtitle)


def _poster(code, title: str, subtitle: str) -> bytes:
    from PIL import Image, ImageDraw

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


FALLBACK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
CJK_PROBE = "党"  # a poster font must draw this, not a tofu box
_font_path: list[tuple[str, int] | None] = []  # the one lookup, cached: [(path, index) or None]
_font_lock = threading.Lock()


def font_path() -> tuple[str, int] | None:
    """The file of a font that covers Chinese: ``POSTER_FONT`` if set, else
    what fontconfig matches for Noto Sans CJK SC (``./dev install`` installs
    fonts-noto-cjk; the face index picks the SC face of the collection), else
    a known path; ``(file, face index)``. Looked up once; when none is found
    the error is logged once and posters fall back to Pillow's font, whose
    Chinese shows as boxes."""
    with _font_lock:
        if not _font_path:
            _font_path.append(_find_font())
        return _font_path[0]


def forget_font() -> None:
    """Look the font up again next time (after ``POSTER_FONT`` changed)."""
    with _font_lock:
        _font_path.clear()


def _find_font() -> tuple[str, int] | None:
    override = os.environ.get("POSTER_FONT")
    candidates: list[tuple[str, int]] = [(override, 0)] if override else []
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}|%{index}", "Noto Sans CJK SC:lang=zh"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        path, _, index = found.partition("|")
        if path:
            candidates.append((path, int(index) if index.isdigit() else 0))
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("fc-match failed: %s", error)
    candidates.extend((path, 0) for path in FALLBACK_FONTS)
    for path, index in candidates:
        if covers_chinese(path, index):
            if override and path != override:
                log.error("POSTER_FONT=%s cannot draw Chinese; using %s", override, path)
            return path, index
    log.error("no font that draws Chinese was found (tried %s): posters will show boxes "
              "instead of Chinese; install fonts-noto-cjk or set POSTER_FONT",
              ", ".join(path for path, _ in candidates))
    return None


def covers_chinese(path: str, index: int = 0) -> bool:
    """Whether the font file draws '党' as a glyph rather than its missing-glyph box."""
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(path, 48, index=index)
    except OSError:
        return False
    # A font without the character draws its .notdef glyph, the same box as
    # for a private-use code point no font has.
    probe, missing = font.getmask(CJK_PROBE), font.getmask("\ue000")
    return probe.getbbox() is not None and (probe.size != missing.size or bytes(probe) != bytes(missing))


def _font(size: int, basic: bool = False):
    # A fresh font per poster: FreeType faces are not to be shared between threads.
    from PIL import ImageFont

    engine = ImageFont.Layout.BASIC if basic else None
    found = font_path()
    if found:
        try:
            return ImageFont.truetype(found[0], size, index=found[1], layout_engine=engine)
        except OSError as error:
            log.error("poster font %s cannot be opened: %s", found[0], error)
    return ImageFont.load_default(size)


# A4 at 300 dpi: the page printed posters and plates come on.
A4_300DPI = (2480, 3508)


def a4_pdf(poster: bytes) -> bytes:
    """A poster (PNG) centred on an A4 page at 300 dpi, as a one-page PDF."""
    from PIL import Image

    image = Image.open(io.BytesIO(poster)).convert("RGB")
    width, height = A4_300DPI
    margin = 150  # half an inch
    scale = min((width - 2 * margin) / image.width, (height - 2 * margin) / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    page = Image.new("RGB", A4_300DPI, "white")
    page.paste(image, ((width - image.width) // 2, margin))
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=300)
    return buffer.getvalue()


def pdf_response(data: bytes, filename: str):
    from flask import Response

    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
