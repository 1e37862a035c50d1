"""Plain helpers for the grid tests (no fixtures): images, uploads, reports, actions."""
from __future__ import annotations

import io
import math

from PIL import Image

from tests.grid.conftest import INSIDE
from tests.uploads.helpers import check_result

EVENTS = "/api/v1/grid-events"
GPS_IFD = 0x8825


def offset(point: dict, north_m: float = 0.0, east_m: float = 0.0) -> dict:
    """A point this many metres north and east of ``point`` (GCJ-02)."""
    return {"lat": point["lat"] + north_m / 111_195,
            "lng": point["lng"] + east_m / (111_195 * math.cos(math.radians(point["lat"])))}


def image_bytes(kind: str = "JPEG", size=(64, 48), exif: Image.Exif | None = None,
                color=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    image.save(out, format=kind, **options)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    """EXIF with a camera make and a GPS position (丰泽社区), as a phone writes it."""
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # Make
    exif[GPS_IFD] = {1: "N", 2: (21.0, 51.0, 28.8), 3: "E", 4: (111.0, 57.0, 43.2)}
    return exif


def upload(api, data: bytes | None = None, filename: str = "photo.jpg",
           content_type: str = "image/jpeg"):
    data = image_bytes() if data is None else data
    return api.post("/api/v1/uploads", data={"file": (io.BytesIO(data), filename, content_type)},
                    content_type="multipart/form-data")


def upload_id(api, checked: str | None = "pass", **kw) -> int:
    """An upload's id; WeChat's check gives it ``checked`` (None: no result
    yet, so only its uploader and the admins see it)."""
    response = upload(api, **kw)
    assert response.status_code == 201, response.json
    if checked:
        check_result(api.client, response.json["id"], checked)
    return response.json["id"]


def event_body(**fields) -> dict:
    return {"category": "facilities", "title": "路灯不亮", "description": "丰泽路 3 号路灯坏了",
            "location": INSIDE, "urgency": "normal", **fields}


def report(api, **fields):
    return api.post(EVENTS, json=event_body(**fields))


def reported(api, **fields) -> dict:
    """Report and return the event (asserting 201)."""
    response = report(api, **fields)
    assert response.status_code == 201, response.json
    return response.json["event"]


def act(api, event_id: int, action: str, **extra):
    return api.post(f"{EVENTS}/{event_id}/transitions", json={"action": action, **extra})


def acted(api, event_id: int, action: str, **extra) -> dict:
    response = act(api, event_id, action, **extra)
    assert response.status_code == 200, (action, response.json)
    return response.json


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]
