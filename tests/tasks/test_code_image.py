"""The organizer's check-in code as a QR image: it decodes to a code that checks in."""
from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from tests.conftest import assert_error
from tests.tasks.conftest import START

URL = "/api/v1/tasks"


def test_the_code_image_decodes_to_a_code_that_checks_in(make_task, volunteer, admin, travel):
    task = make_task(places=2)
    v = volunteer()
    assert v.post(f"{URL}/{task.id}/accept", json={}).status_code == 201
    travel(START)
    response = admin.get(f"{URL}/{task.id}/code.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png" and response.headers["Cache-Control"] == "no-store"
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert found.text == admin.get(f"{URL}/{task.id}/code").json["qr_text"]
    checked = v.post(f"{URL}/{task.id}/check-in", json={"code": found.text})
    assert checked.status_code == 200, checked.json


def test_only_the_organizer_gets_the_code_image(make_task, volunteer, admin_b):
    """As the code itself: out of the organizer's scope the task is not found."""
    task = make_task()
    for outsider in (volunteer(), admin_b):
        assert outsider.get(f"{URL}/{task.id}/code").status_code == 404
        assert_error(outsider.get(f"{URL}/{task.id}/code.png"), 404, "not_found")
    assert_error(admin_b.get(f"{URL}/999999/code.png"), 404, "not_found")
