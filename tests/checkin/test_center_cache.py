"""A worker's cached copy of a center never lets a dead code in: another
process rotating the key or deleting the center takes effect at once."""
from __future__ import annotations

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
