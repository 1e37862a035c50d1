"""QR images of signed codes, rendered with the ``qrcode`` package."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


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
    font = _font(44)
    small = _font(28)
    draw.text((width // 2, 60), title, fill="white", font=font, anchor="mm")
    draw.text((width // 2, code.height + 220), subtitle, fill="black", font=small, anchor="mm")
    buffer = io.BytesIO()
    poster.save(buffer, format="PNG")
    return buffer.getvalue()


def _font(size: int):
    from PIL import ImageFont

    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)
