"""Shared helpers for the badge, post and merchant plate tests (plain functions,
no fixtures: each test module keeps its own clock)."""
from __future__ import annotations

import datetime as dt
import io

import zxingcpp
from PIL import Image

from app.extensions import db

# A Thursday morning in Yangjiang, 10:00 +08:00; whole seconds, so that
# "exactly BADGE_TTL later" is exact.
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
HERE = {"lat": 21.8580, "lng": 111.9620, "coord_system": "gcj02", "accuracy": 20}

POSTS = "/api/v1/posts"
PLATES = "/api/v1/merchant-plates"
VERIFY = "/api/v1/badges/verify"
DUTY = "/api/v1/plates/duty"
SCAN = "/api/v1/plates/scan"


def decode_png(png: bytes) -> str:
    """The text of the one QR code in a PNG, read by a real decoder."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, results
    return results[0].text


def make_post(admin, org_id: int, **fields) -> dict:
    body = {"org_id": org_id, "name": "政务服务中心党员示范岗", "unit": "江城区政务服务中心",
            "window": "3 号窗口", "location": HERE, "service_items": ["社保咨询", "证明开具"], **fields}
    response = admin.post(POSTS, json=body)
    assert response.status_code == 201, response.json
    return response.json


def post_plate_code(admin, post_id: int) -> str:
    response = admin.get(f"{POSTS}/{post_id}/plate.png")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    return decode_png(response.data)


def assign(admin, post_id: int, identity_id: int):
    response = admin.post(f"{POSTS}/{post_id}/assignments", json={"identity_id": identity_id})
    assert response.status_code == 201, response.json
    return response.json


def business_zone(parent_id: int, name: str = "金山商圈") -> int:
    """A business zone org node under ``parent_id`` (plates hang on one)."""
    from app.orgs.models import OrgNode
    from app.orgs.services import insert_node

    zone = insert_node("business_zone", name, db.session.get(OrgNode, parent_id))
    db.session.commit()
    return zone.id


def apply_plate(member_api, zone_id: int, **fields) -> dict:
    body = {"zone_id": zone_id, "shop_name": "老陈杂货铺", "address": "金山路 8 号",
            "location": HERE, **fields}
    response = member_api.post(PLATES, json=body)
    assert response.status_code == 201, response.json
    return response.json


def approved_plate(member_api, zone_admin, zone_id: int, **fields) -> tuple[dict, str]:
    """An approved merchant plate and the code its printed QR carries."""
    plate = apply_plate(member_api, zone_id, **fields)
    response = zone_admin.post(f"{PLATES}/{plate['id']}/approve", json={})
    assert response.status_code == 200, response.json
    png = zone_admin.get(f"{PLATES}/{plate['id']}/plate.png")
    assert png.status_code == 200, png.get_data(as_text=True)
    return response.json, decode_png(png.data)


def center_code(admin, org_id: int) -> str:
    """A service center's check-in code (not a plate)."""
    response = admin.post("/api/v1/centers", json={
        "org_id": org_id, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
        "location": {"lat": HERE["lat"], "lng": HERE["lng"]}, "code_mode": "static"})
    assert response.status_code == 201, response.json
    code = admin.get(f"/api/v1/centers/{response.json['id']}/display-code")
    assert code.status_code == 200, code.json
    return code.json["qr_text"]
