"""A worker's cached copy of a center never lets a dead code in: another
process rotating the key or deleting the center takes effect at once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.checkin.models import Checkin, ServiceCenter
from app.common.db import utcnow
from app.extensions import db
from tests.conftest import assert_error


def _elsewhere(center_id: int, **values) -> None:
    """A change made by another worker: this process's cache is not told."""
    with db.engine.begin() as connection:
        connection.execute(update(ServiceCenter).where(ServiceCenter.id == center_id).values(**values))


def test_a_key_rotated_by_another_worker_kills_the_cached_code_at_once(make_center, scan, new_member,
                                                                      display_code):
    center = make_center(code_mode="static")
    code = display_code(center.id)["qr_text"]
    assert scan(new_member(), code).status_code == 201  # the center is now cached here
    _elsewhere(center.id, key_version=center.key_version + 1)
    error = assert_error(scan(new_member(), code), 400, "invalid_code")
    assert error["details"]["why"] == "key_rotated"
    assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1


def test_a_center_deleted_by_another_worker_takes_no_more_checkins(make_center, scan, new_member,
                                                                  display_code):
    center = make_center(code_mode="static")
    code = display_code(center.id)["qr_text"]
    assert scan(new_member(), code).status_code == 201
    _elsewhere(center.id, deleted_at=utcnow())
    error = assert_error(scan(new_member(), code), 400, "invalid_code")
    assert error["details"]["why"] == "unknown_center"


def test_duplicates_still_answer_the_first_checkin_with_a_cached_center(make_center, scan, new_member,
                                                                       display_code):
    center = make_center(code_mode="static")
    code = display_code(center.id)["qr_text"]
    member = new_member()
    first = scan(member, code).json["checkin"]
    again = scan(member, code)
    assert again.status_code == 200
    assert again.json == {"status": "already_checked_in", "checkin": first}


# ---- two workers on one database: A caches the center, B rotates its key -------------------

CENTERS = "/api/v1/centers"


@pytest.fixture
def worker_b(make_app):
    """A second worker: its own process state (and center cache), the same database."""
    return make_app().test_client()


def _rotate_on(worker, admin, center_id: int) -> dict:
    response = worker.post(f"{CENTERS}/{center_id}/rotate-key", headers=admin.headers)
    assert response.status_code == 200, response.json
    return response.json


def _code_on(worker, admin, center_id: int) -> str:
    response = worker.get(f"{CENTERS}/{center_id}/display-code", headers=admin.headers)
    assert response.status_code == 200, response.json
    return response.json["qr_text"]


@pytest.mark.parametrize("code_mode", ["static", "rotating"])
def test_a_key_rotated_on_another_worker_is_immediate_for_entry_and_exit(
        make_center, scan, new_member, admin, worker_b, code_mode):
    center = make_center(code_mode=code_mode)
    old_code = _code_on(worker_b, admin, center.id)
    inside, arriving = new_member(), new_member()
    assert scan(inside, old_code).status_code == 201  # worker A (this app) now caches the center
    assert _rotate_on(worker_b, admin, center.id)["key_version"] == center.key_version + 1

    # The old code is dead on worker A at once, for an exit as for an entry.
    error = assert_error(scan(inside, old_code, type="exit"), 400, "invalid_code")
    assert error["details"]["why"] == "key_rotated"
    error = assert_error(scan(arriving, old_code), 400, "invalid_code")
    assert error["details"]["why"] == "key_rotated"
    db.session.expire_all()
    visits = db.session.scalars(select(Checkin)).all()
    assert [(v.user_id, v.exited_at) for v in visits] == [(inside.user_id, None)]

    # The new code works on worker A at once, though its copy of the center is older.
    new_code = _code_on(worker_b, admin, center.id)
    assert scan(arriving, new_code).status_code == 201
    out = scan(inside, new_code, type="exit")
    assert out.status_code == 200, out.json
    assert out.json["status"] == "checked_out"


def test_an_old_code_with_no_open_visit_is_refused_as_rotated(make_center, scan, new_member, admin,
                                                              worker_b):
    center = make_center(code_mode="static")
    old_code = _code_on(worker_b, admin, center.id)
    visitor, stranger = new_member(), new_member()
    assert scan(visitor, old_code).status_code == 201
    assert scan(visitor, old_code, type="exit").json["status"] == "checked_out"
    _rotate_on(worker_b, admin, center.id)
    # Neither "already checked out" nor "not checked in": the code itself is dead.
    for member in (visitor, stranger):
        error = assert_error(scan(member, old_code, type="exit"), 400, "invalid_code")
        assert error["details"]["why"] == "key_rotated"


def test_a_mode_changed_on_another_worker_accepts_the_new_poster_at_once(make_center, scan, new_member,
                                                                        admin, worker_b):
    center = make_center(code_mode="rotating")
    assert scan(new_member(), _code_on(worker_b, admin, center.id)).status_code == 201
    changed = worker_b.patch(f"{CENTERS}/{center.id}", json={"code_mode": "static"},
                             headers=admin.headers)
    assert changed.status_code == 200, changed.json
    assert scan(new_member(), _code_on(worker_b, admin, center.id)).status_code == 201


@pytest.mark.parametrize("scan_type", ["entry", "exit"])
def test_a_new_code_works_on_a_worker_whose_copy_is_older(make_center, scan, new_member, admin,
                                                          worker_b, scan_type):
    center = make_center(code_mode="static")
    inside = new_member()
    assert scan(inside, _code_on(worker_b, admin, center.id)).status_code == 201  # A caches it
    _rotate_on(worker_b, admin, center.id)
    new_code = _code_on(worker_b, admin, center.id)  # the first code A sees after the rotation
    if scan_type == "entry":
        assert scan(new_member(), new_code).status_code == 201
    else:
        out = scan(inside, new_code, type="exit")
        assert out.status_code == 200, out.json
        assert out.json["status"] == "checked_out"
