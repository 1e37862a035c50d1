"""Photo uploads: judged by content, size-limited, EXIF (GPS) stripped, re-encoded,
owned by the uploader until attached once."""
from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from tests.conftest import assert_error
from tests.grid.helpers import (
    EVENTS,
    GPS_IFD,
    gps_exif,
    image_bytes,
    report,
    reported,
    upload,
    upload_id,
)

UPLOADS = "/api/v1/uploads"
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def test_jpeg_with_gps_comes_back_without_exif(resident):
    original = image_bytes("JPEG", size=(80, 60), exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the phone's GPS is there
    response = upload(resident, original)
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"].endswith(f"{UPLOADS}/{body['id']}")
    assert body["content_type"] == "image/jpeg" and (body["width"], body["height"]) == (80, 60)
    assert body["url"] == f"{UPLOADS}/{body['id']}"
    fetched = resident.get(body["url"])
    assert fetched.status_code == 200 and fetched.mimetype == "image/jpeg"
    data = fetched.data
    assert len(data) == body["size"]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (80, 60)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"Exif" not in data and b"HUAWEI" not in data
    assert data != original  # re-encoded, not stored as sent


def test_a_jpeg_comment_and_xmp_do_not_survive(resident):
    original = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 40)).save(
        original, format="JPEG", comment="住在丰泽路8号".encode(), xmp=b"<x:xmpmeta>GPS 21.85</x:xmpmeta>")
    assert "住在丰泽路8号".encode() in original.getvalue()
    response = upload(resident, original.getvalue())
    assert response.status_code == 201, response.json
    stored = resident.get(f"{UPLOADS}/{response.json['id']}").data
    assert "住在丰泽路8号".encode() not in stored and b"xmpmeta" not in stored
    assert not {"comment", "xmp"} & set(Image.open(io.BytesIO(stored)).info)


def test_orientation_is_applied_before_the_tag_goes(resident):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    response = upload(resident, image_bytes("JPEG", size=(80, 60), exif=exif))
    assert response.status_code == 201, response.json
    assert (response.json["width"], response.json["height"]) == (60, 80)
    image = Image.open(io.BytesIO(resident.get(response.json["url"]).data))
    assert image.size == (60, 80) and 0x0112 not in image.getexif()


@pytest.mark.parametrize("kind, content_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_accepted(resident, kind, content_type):
    original = image_bytes(kind, exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    # the name says .jpg: what counts is the content
    response = upload(resident, original, filename="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201, response.json
    assert response.json["content_type"] == content_type
    fetched = resident.get(response.json["url"])
    assert fetched.mimetype == content_type
    image = Image.open(io.BytesIO(fetched.data))
    assert image.format == kind and image.size == (64, 48)
    assert dict(image.getexif()) == {} and b"HUAWEI" not in fetched.data


@pytest.mark.parametrize("data, filename", [
    (PDF, "photo.jpg"),
    (image_bytes("GIF"), "photo.jpg"),
    (image_bytes("BMP"), "photo.png"),
    (b"just some text, not a picture", "photo.jpg"),
    (image_bytes("JPEG")[:200], "photo.jpg"),  # truncated
])
def test_not_an_image_whatever_its_name(resident, data, filename):
    response = upload(resident, data, filename=filename, content_type="image/jpeg")
    assert_error(response, 422, "unsupported_image")


def test_empty_file(resident):
    assert_error(upload(resident, b""), 422, "unsupported_image")


def test_missing_file_field(resident):
    response = resident.post(UPLOADS, data={"other": "x"}, content_type="multipart/form-data")
    error = assert_error(response, 422, "validation_failed")
    assert "file" in error["details"]["fields"]


def test_too_big_with_a_small_limit(make_app, wx):
    small = make_app(MAX_UPLOAD_BYTES=2000)
    client = small.test_client()
    tokens = client.post("/api/v1/auth/wechat/login", json={"code": wx.code("o-small-limit")}).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    def send(data):
        return client.post(UPLOADS, headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "photo.png", "image/png")})

    noisy = Image.frombytes("RGB", (64, 64), random.Random(7).randbytes(64 * 64 * 3))  # does not compress
    out = io.BytesIO()
    noisy.save(out, "PNG")
    big = out.getvalue()
    assert len(big) > 2000
    error = assert_error(send(big), 413, "payload_too_large")
    assert error["details"]["limit"] == 2000
    small_png = image_bytes("PNG", size=(8, 8))
    assert len(small_png) <= 2000
    assert send(small_png).status_code == 201


def test_too_big_with_the_default_limit(resident, app):
    assert app.config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
    response = upload(resident, b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))
    assert_error(response, 413, "payload_too_large")


def test_someone_elses_upload(resident, login, leader, grid):
    mine = upload_id(resident)
    other = login("o-other")
    assert_error(other.get(f"{UPLOADS}/{mine}"), 404, "not_found")
    assert_error(other.get(f"{UPLOADS}/999999"), 404, "not_found")
    # nor can it be attached to their report
    error = assert_error(report(leader, photo_ids=[mine]), 422, "upload_not_usable")
    assert error["details"]["upload_id"] == mine
    assert leader.get(EVENTS).json["items"] == []
    # the owner still can
    event = reported(resident, photo_ids=[mine])
    assert [p["upload_id"] for p in event["photos"]] == [mine]


def test_an_upload_is_attached_once(leader, grid):
    photo = upload_id(leader)
    first = reported(leader, photo_ids=[photo])
    assert first["photos"] == [{"upload_id": photo, "stage": "report", "check_state": "pass",
                                "url": f"{EVENTS}/{first['id']}/photos/{photo}"}]
    error = assert_error(report(leader, title="又一个", photo_ids=[photo]), 422, "upload_not_usable")
    assert error["details"]["upload_id"] == photo
    assert [e["id"] for e in leader.get(EVENTS).json["items"]] == [first["id"]]


def test_a_failed_report_keeps_the_upload_unattached(leader, grid, login):
    mine, theirs = upload_id(leader), upload_id(login("o-stranger"))
    error = assert_error(report(leader, photo_ids=[mine, theirs]), 422, "upload_not_usable")
    assert error["details"]["upload_id"] == theirs
    assert leader.get(EVENTS).json["items"] == []
    assert_error(report(leader, photo_ids=[mine, mine + 1000]), 422, "upload_not_usable")
    assert_error(report(leader, photo_ids=list(range(mine, mine + 10))), 422, "too_many_photos")
    assert_error(report(leader, location={"lat": 21.9, "lng": 112.1}, category="nope", photo_ids=[mine]),
                 422, "unknown_category")
    assert leader.get(EVENTS).json["items"] == []
    # the upload is still free: the next report takes it
    event = reported(leader, photo_ids=[mine])
    assert [p["upload_id"] for p in event["photos"]] == [mine]


def test_nine_photos_but_not_ten(leader, grid):
    nine = [upload_id(leader) for _ in range(9)]
    event = reported(leader, photo_ids=nine)
    assert [p["upload_id"] for p in event["photos"]] == nine
    ten = [upload_id(leader) for _ in range(10)]
    error = assert_error(report(leader, photo_ids=ten), 422, "too_many_photos")
    assert error["details"]["max"] == 9
    assert len(leader.get(EVENTS).json["items"]) == 1


def test_event_photos_are_served_to_who_sees_the_event(leader, admin, admin_b, grid, resident):
    photo = upload_id(leader, data=image_bytes("JPEG", exif=gps_exif()))
    event = reported(leader, photo_ids=[photo])
    url = event["photos"][0]["url"]
    for api in (leader, admin):
        response = api.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert b"Exif" not in response.data
    assert_error(admin_b.get(url), 404, "not_found")
    assert_error(resident.get(url), 404, "not_found")
    assert_error(admin.get(f"{EVENTS}/{event['id']}/photos/{photo + 1}"), 404, "not_found")
    # the admin reads it through the event, not as an upload of theirs
    assert_error(admin.get(f"{UPLOADS}/{photo}"), 404, "not_found")
