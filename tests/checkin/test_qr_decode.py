"""The rendered images carry the code: decode them with a real QR decoder and check in."""
from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from tests.checkin.conftest import HERE


def _decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def test_display_png_decodes_to_a_code_that_checks_in(admin, center, member, scan):
    response = admin.get(f"/api/v1/centers/{center.id}/display-code.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    text = _decode(response.data)
    assert text.startswith("https://") and "/q/" in text
    result = scan(member(), text, location=HERE)
    assert result.status_code == 201, result.json
    assert result.json["checkin"]["center_id"] == center.id


def test_printed_poster_decodes_to_a_code_that_checks_in(admin, make_center, member, scan):
    center = make_center(code_mode="static", name="汇银大厦党群服务站")
    response = admin.get(f"/api/v1/centers/{center.id}/poster.png")
    assert response.status_code == 200
    text = _decode(response.data)
    assert scan(member(), text, location=HERE).status_code == 201
