"""What a center's screen shows: the display-code JSON, its images, the poster,
and the HTML page that polls it with a device token."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from tests.checkin.conftest import HERE, T0
from tests.conftest import assert_error

CENTERS = "/api/v1/centers"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def device_token(admin):
    def make(center_id: int) -> str:
        response = admin.post(f"{CENTERS}/{center_id}/display-devices", json={"name": "大厅屏"})
        assert response.status_code == 201, response.json
        return response.json["device_token"]

    return make


@pytest.fixture
def new_member(member):
    numbers = itertools.count(1)
    return lambda: member(phone=f"1370000{next(numbers):04d}")


def test_display_code_fields_follow_the_clock(app, center, display_code, clock):
    shown = display_code(center.id)
    assert set(shown) == {"qr_text", "expires_at", "refresh_in", "server_time", "center_name",
                          "today_count", "qr_svg"}
    assert shown["qr_text"].startswith(app.config["QR_BASE_URL"] + "/q/")
    assert shown["center_name"] == center.name
    assert shown["today_count"] == 0
    assert shown["qr_svg"].lstrip().startswith(("<?xml", "<svg"))
    # T0 starts a 30 s step: the next code comes in 30 s; this one counts 30 s more.
    assert parse(shown["server_time"]) == T0
    assert shown["refresh_in"] == 30
    assert parse(shown["expires_at"]) == T0 + dt.timedelta(seconds=60)

    clock.shift(12.5)
    later = display_code(center.id)
    assert later["qr_text"] == shown["qr_text"] and later["expires_at"] == shown["expires_at"]
    assert later["refresh_in"] == pytest.approx(17.5)
    # Consistent with each other: expires_at = server_time + refresh_in + grace.
    assert parse(later["expires_at"]) == (parse(later["server_time"])
                                          + dt.timedelta(seconds=later["refresh_in"] + center.grace_seconds))

    clock.shift(17.5)  # the next step
    nxt = display_code(center.id)
    assert nxt["qr_text"] != shown["qr_text"]
    assert nxt["refresh_in"] == 30
    assert parse(nxt["expires_at"]) == T0 + dt.timedelta(seconds=90)


def test_display_code_counts_todays_checkins(admin, center, display_code, scan, new_member, clock):
    for _ in range(2):
        assert scan(new_member(), display_code(center.id)["qr_text"]).status_code == 201
    assert display_code(center.id)["today_count"] == 2
    clock.move_to(T0 + dt.timedelta(hours=14))  # local midnight
    response = admin.client.post("/api/v1/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]})
    admin.tokens = response.json
    assert display_code(center.id)["today_count"] == 0


def test_static_display_code_has_no_expiry(make_center, display_code, clock):
    center = make_center(code_mode="static")
    shown = display_code(center.id)
    assert shown["expires_at"] is None and shown["refresh_in"] is None
    clock.shift(600)
    assert display_code(center.id)["qr_text"] == shown["qr_text"]


def test_png_and_svg_images(admin, client, center, device_token):
    url = f"{CENTERS}/{center.id}/display-code"
    png = admin.get(url + ".png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(PNG_MAGIC)
    assert png.headers["Cache-Control"] == "no-store"
    svg = admin.get(url + ".svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert text.lstrip().startswith(("<?xml", "<svg")) and "<svg" in text and text.rstrip().endswith("</svg>")
    token = device_token(center.id)
    assert client.get(url + ".png", query_string={"device_token": token}).data.startswith(PNG_MAGIC)
    assert "<svg" in client.get(url + ".svg", query_string={"device_token": token}).get_data(as_text=True)
    assert_error(client.get(url + ".png"), 401, "unauthorized")
    assert_error(client.get(url + ".svg", query_string={"device_token": "dev_nope"}), 401, "invalid_device_token")


def test_poster_only_for_static_centers(admin, login_as, tree, make_center, center):
    assert_error(admin.get(f"{CENTERS}/{center.id}/poster.png"), 409, "static_mode_required")
    static = make_center(code_mode="static", name="汇银大厦党群服务站")
    poster = admin.get(f"{CENTERS}/{static.id}/poster.png")
    assert poster.status_code == 200 and poster.mimetype == "image/png"
    assert poster.data.startswith(PNG_MAGIC)
    assert login_as("center_admin", tree.a).get(f"{CENTERS}/{static.id}/poster.png").status_code == 200
    assert_error(login_as(None).get(f"{CENTERS}/{static.id}/poster.png"), 404, "not_found")


def test_the_screen_page_with_a_device_token(client, center, device_token):
    token = device_token(center.id)
    response = client.get(f"/display/centers/{center.id}", query_string={"device_token": token})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert center.name in page
    assert f"/api/v1/centers/{center.id}/display-code?device_token=" in page
    assert json.dumps(token) in page  # the polling URL carries the token
    assert "<svg" in page
    assert 'data-expires-at="2026-11-26T02:01:00+00:00"' in page
    assert 'id="today-count">0<' in page


def test_the_screen_page_escapes_the_center_name(client, make_center, device_token):
    center = make_center(name="<script>alert(1)</script>中心")
    page = client.get(f"/display/centers/{center.id}",
                      query_string={"device_token": device_token(center.id)}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;中心" in page


def test_the_screen_page_is_refused_without_a_valid_token(admin, client, center, make_center, device_token):
    url = f"/display/centers/{center.id}"
    assert_error(client.get(url), 401, "invalid_device_token")
    assert_error(client.get(url, query_string={"device_token": "dev_forged"}), 401, "invalid_device_token")
    # Another center's device.
    other_token = device_token(make_center(name="另一个").id)
    assert_error(client.get(url, query_string={"device_token": other_token}), 401, "invalid_device_token")
    # A revoked device.
    token = device_token(center.id)
    assert client.get(url, query_string={"device_token": token}).status_code == 200
    device_id = admin.get(f"{CENTERS}/{center.id}/display-devices").json["items"][-1]["id"]
    admin.delete(f"{CENTERS}/{center.id}/display-devices/{device_id}")
    assert_error(client.get(url, query_string={"device_token": token}), 401, "invalid_device_token")
    # An admin's bearer token is not a device token for the page.
    assert_error(client.get(url, headers=admin.headers), 401, "invalid_device_token")


def test_the_pages_json_changes_after_rotation_seconds(client, make_center, device_token, clock, scan,
                                                       new_member):
    center = make_center(rotation_seconds=45, grace_seconds=15)
    token = device_token(center.id)
    url = f"{CENTERS}/{center.id}/display-code"

    def poll():
        response = client.get(url, query_string={"device_token": token})
        assert response.status_code == 200, response.json
        return response.json

    first = poll()
    assert first["refresh_in"] == 45
    assert parse(first["expires_at"]) == T0 + dt.timedelta(seconds=60)
    clock.shift(44)
    assert poll()["qr_text"] == first["qr_text"]
    clock.shift(1)
    second = poll()
    assert second["qr_text"] != first["qr_text"]
    assert parse(second["expires_at"]) == T0 + dt.timedelta(seconds=105)
    # What the screen shows is what a member scans.
    response = scan(new_member(), second["qr_text"], location=HERE)
    assert response.status_code == 201
    assert poll()["today_count"] == 1
