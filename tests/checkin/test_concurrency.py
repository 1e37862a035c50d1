"""No double counting under real concurrent requests (a live threaded server)."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.checkin.models import Checkin, CheckinAttempt, CheckinDailyCount
from app.extensions import db
from tests.checkin.conftest import HERE

SCANS = 50


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _fire_at_once(url: str, headers_for) -> list[requests.Response]:
    barrier = threading.Barrier(SCANS)

    def one(i):
        with requests.Session() as session:
            barrier.wait()
            return session.post(url, json=headers_for(i)[0], headers=headers_for(i)[1], timeout=60)

    with ThreadPoolExecutor(SCANS) as pool:
        return list(pool.map(one, range(SCANS)))


def _stored(center_id):
    db.session.expire_all()
    checkins = db.session.scalar(select(func.count()).select_from(Checkin).where(Checkin.center_id == center_id))
    daily = db.session.scalar(select(func.sum(CheckinDailyCount.count)).where(
        CheckinDailyCount.center_id == center_id))
    attempts = db.session.scalar(select(func.count()).select_from(CheckinAttempt).where(
        CheckinAttempt.center_id == center_id))
    return checkins, daily, attempts


def test_fifty_identical_scans_at_once_store_one_checkin(live_url, center, display_code, member):
    scanner = member()
    body = {"code": display_code(center.id)["qr_text"], "location": HERE}
    responses = _fire_at_once(f"{live_url}/api/v1/checkins", lambda i: (body, scanner.headers))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: SCANS - 1}
    first = next(r.json()["checkin"] for r in responses if r.status_code == 201)
    assert {r.json()["status"] for r in responses if r.status_code == 200} == {"already_checked_in"}
    assert all(r.json()["checkin"]["id"] == first["id"] for r in responses)
    assert _stored(center.id) == (1, 1, SCANS)


def test_fifty_retries_with_one_idempotency_key_store_one_checkin(live_url, center, display_code, member):
    scanner = member()
    body = {"code": display_code(center.id)["qr_text"], "location": HERE}
    headers = {**scanner.headers, "Idempotency-Key": "scan-7f3a"}
    responses = _fire_at_once(f"{live_url}/api/v1/checkins", lambda i: (body, headers))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert all(r.json()["error"]["code"] == "idempotency_in_progress"
               for r in responses if r.status_code == 409)
    assert _stored(center.id)[:2] == (1, 1)


def test_fifty_members_at_once_are_fifty_checkins(live_url, center, display_code, member):
    members = [member(phone=f"1380000{i:04d}", openid=f"crowd-{i}") for i in range(SCANS)]
    body = {"code": display_code(center.id)["qr_text"], "location": HERE}
    responses = _fire_at_once(f"{live_url}/api/v1/checkins", lambda i: (body, members[i].headers))
    assert Counter(r.status_code for r in responses) == {201: SCANS}
    assert _stored(center.id) == (SCANS, SCANS, SCANS)
