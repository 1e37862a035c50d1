"""Reading a poster's PDF back: its page, its text, its fonts and its code."""
from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pypdf
import zxingcpp

A4_POINTS = (595.28, 841.89)
POINTS_PER_INCH = 72


def read_pdf(pdf: bytes) -> SimpleNamespace:
    """The one page of ``pdf``: ``size`` in points, ``text`` (whitespace
    left out), ``fonts`` (the embedded ones' names), ``image`` (the code's,
    with ``dpi``, its pixels per inch as placed) and ``code`` (what it decodes to)."""
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    text = re.sub(r"[\s\x00]", "", page.extract_text())
    fonts = {}
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        embedded = [key for key in descriptor if key.startswith("/FontFile")]
        assert embedded, f"{font['/BaseFont']} is not embedded"
        fonts[str(font["/BaseFont"])] = len(descriptor[embedded[0]].get_object().get_data())
    (image,) = page.images
    placed = re.search(rb"q ([\d.]+) 0 0 ([\d.]+) [\d.]+ [\d.]+ cm /I\d+ Do Q", page.get_contents().get_data())
    assert placed, "no image placed on the page"
    decoded = zxingcpp.read_barcodes(image.image)
    assert len(decoded) == 1, decoded
    return SimpleNamespace(size=(float(page.mediabox.width), float(page.mediabox.height)), text=text,
                           fonts=fonts, image=image.image,
                           dpi=image.image.width / (float(placed[1]) / POINTS_PER_INCH),
                           code=decoded[0].text)


def is_a4(size: tuple[float, float]) -> bool:
    return abs(size[0] - A4_POINTS[0]) < 1 and abs(size[1] - A4_POINTS[1]) < 1
