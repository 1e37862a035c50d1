"""Each guard of a first check-in, alone: a scan only that guard refuses is
refused with its own code and writes nothing (no check-in, no daily count,
only the failed attempt).

The point is PostgreSQL, where a first check-in is one statement
(``scanning._entry_statement``) that re-checks the center a worker judged from
its cached copy: the key version, the code mode, the deletion and the center's
id, the duplicate window (ON CONFLICT), the daily count and the attempt it
records. Those guards only decide when the cached copy is out of date, so the
scans here come after a change made "by another worker" (this process's cache
is not told). On SQLite the center is always read fresh and the same scans are
refused before any write: the same answers, by the other path. The checks of
``_check_in`` that run before the statement (code, member, opening hours,
location, scan time) are here too, each alone.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.checkin.models import Checkin, CheckinAttempt, CheckinDailyCount, ServiceCenter
from app.common.db import utcnow
from app.extensions import db
from tests.checkin.conftest import HERE, T0, near
from tests.conftest import assert_error


def _elsewhere(center_id: int, **values) -> None:
    """A change made by another worker: this process's cached copy is not told."""
    with db.engine.begin() as connection:
        connection.execute(update(ServiceCenter).where(ServiceCenter.id == center_id).values(**values))


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _cached_here(app, center_id: int, key_version: int, code_mode: str) -> None:
    """On PostgreSQL the next scan is judged by this copy, so the statement is what refuses it."""
    if _on_postgresql():
        hit = app.extensions.get("center_cache", {}).get(center_id)
        assert hit is not None, "the center should be cached by this worker"
        assert (hit[1].key_version, hit[1].code_mode) == (key_version, code_mode)


def _written() -> tuple[int, int]:
    """(check-ins, sum of the daily counts)."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Checkin)),
            db.session.scalar(select(func.coalesce(func.sum(CheckinDailyCount.count), 0))))


def _last_attempt() -> CheckinAttempt:
    db.session.expire_all()
    return db.session.scalars(select(CheckinAttempt).order_by(CheckinAttempt.id.desc()).limit(1)).one()


def _refused(response, status: int, code: str, before: tuple[int, int], why: str | None = None) -> None:
    """Refused with ``code``, nothing counted, the failed attempt recorded."""
    error = assert_error(response, status, code)
    if why is not None:
        assert error["details"]["why"] == why
    assert _written() == before
    attempt = _last_attempt()
    assert (attempt.result, attempt.checkin_id) == (code, None)


@pytest.fixture
def cached_static(app, make_center, display_code, scan, new_member):
    """A static center this worker has cached (one check-in made), and its poster code."""
    def make(**fields):
        center = make_center(code_mode="static", **fields)
        code = display_code(center.id)["qr_text"]
        assert scan(new_member(), code).status_code == 201
        _cached_here(app, center.id, center.key_version, "static")
        return center, code

    return make


# ---- the statement's guards on the center (what a cached copy may not know) -------------------

def test_key_version_guard(app, cached_static, scan, new_member):
    center, code = cached_static()
    _elsewhere(center.id, key_version=center.key_version + 1)
    before = _written()
    _refused(scan(new_member(), code), 400, "invalid_code", before, why="key_rotated")


def test_code_mode_guard(app, cached_static, scan, new_member):
    center, poster = cached_static()
    _elsewhere(center.id, code_mode="rotating")  # same key: only the mode says the poster is dead
    before = _written()
    _refused(scan(new_member(), poster), 400, "invalid_code", before, why="mode_changed")
    assert _last_attempt().center_id == center.id


def test_deleted_center_guard(app, cached_static, scan, new_member):
    center, code = cached_static()
    _elsewhere(center.id, deleted_at=utcnow())
    before = _written()
    _refused(scan(new_member(), code), 400, "invalid_code", before, why="unknown_center")


def test_the_guard_is_about_this_center(app, cached_static, make_center, scan, new_member):
    """Another live center with the same key version and mode does not vouch for a deleted one."""
    center, code = cached_static()
    other = make_center(name="另一个中心", code_mode="static")
    assert (other.key_version, other.code_mode) == (center.key_version, "static")
    _elsewhere(center.id, deleted_at=utcnow())
    before = _written()
    _refused(scan(new_member(), code), 400, "invalid_code", before, why="unknown_center")


def test_exit_is_guarded_like_entry(app, cached_static, scan, new_member):
    """The exit's UPDATE re-checks the center as the entry's statement does."""
    center, code = cached_static()
    inside = new_member()
    assert scan(inside, code).status_code == 201
    _elsewhere(center.id, key_version=center.key_version + 1)
    before = _written()
    _refused(scan(inside, code, type="exit"), 400, "invalid_code", before, why="key_rotated")
    visit = db.session.scalars(select(Checkin).where(Checkin.user_id == inside.user_id)).one()
    assert visit.exited_at is None


# ---- the statement's own writes: one check-in per window, counted once, its attempt ------------

def test_duplicate_window_guard(app, cached_static, scan, new_member):
    """A second scan in the window answers the first check-in and writes no second one."""
    _center, code = cached_static()
    m = new_member()
    first = scan(m, code)
    assert first.status_code == 201
    before = _written()
    again = scan(m, code)
    assert again.status_code == 200, again.json
    assert again.json == {"status": "already_checked_in", "checkin": first.json["checkin"]}
    assert _written() == before
    attempts = db.session.scalars(select(CheckinAttempt).where(CheckinAttempt.user_id == m.user_id)
                                  .order_by(CheckinAttempt.id)).all()
    assert [(a.result, a.checkin_id) for a in attempts] == [
        ("ok", first.json["checkin"]["id"]), ("already_checked_in", first.json["checkin"]["id"])]


def test_a_new_window_is_a_new_checkin(make_center, display_code, scan, new_member, clock):
    center = make_center(code_mode="static", duplicate_window_seconds=3600)
    code = display_code(center.id)["qr_text"]
    m = new_member()
    assert scan(m, code).status_code == 201
    clock.move_to(T0 + dt.timedelta(minutes=10))
    assert scan(m, code).status_code == 200  # the same window
    clock.move_to(T0 + dt.timedelta(hours=1))
    m.refresh()
    later = scan(m, code)
    assert later.status_code == 201, later.json
    assert _written() == (2, 2)


def test_each_checkin_is_counted_once_and_recorded_once(app, cached_static, scan, new_member):
    center, code = cached_static()  # one check-in already
    arriving = new_member()
    response = scan(arriving, code, purpose="study")
    assert response.status_code == 201, response.json
    assert scan(arriving, code).status_code == 200  # its duplicate counts nothing
    assert scan(new_member(), code).status_code == 201
    db.session.expire_all()
    counts = dict(db.session.execute(select(CheckinDailyCount.purpose, CheckinDailyCount.count)
                                     .where(CheckinDailyCount.center_id == center.id)).all())
    assert counts == {"visit": 2, "study": 1}
    attempts = db.session.scalars(select(CheckinAttempt).where(CheckinAttempt.user_id == arriving.user_id)
                                  .order_by(CheckinAttempt.id)).all()
    checkin_id = response.json["checkin"]["id"]
    assert [(a.result, a.checkin_id, a.center_id) for a in attempts] == [
        ("ok", checkin_id, center.id), ("already_checked_in", checkin_id, center.id)]


# ---- the checks of _check_in before the statement, each alone ------------------------------------

def test_stale_rotating_code(make_center, display_code, scan, new_member, clock):
    center = make_center()
    stale = display_code(center.id)["qr_text"]
    clock.shift(60)  # shown 30 s, counted 30 s more: now dead
    m = new_member()
    _refused(scan(m, stale), 400, "expired_code", _written())


def test_not_a_member(center, display_code, scan, login_as):
    _refused(scan(login_as(None), display_code(center.id)["qr_text"]), 403, "not_a_member", _written())


def test_identity_inactive(admin, center, display_code, scan, new_member):
    m = new_member()
    response = admin.post(f"/api/v1/members/{m.identity['id']}/suspend", json={"reason": "转出中"})
    assert response.status_code == 200, response.json
    _refused(scan(m, display_code(center.id)["qr_text"]), 403, "identity_inactive", _written())


def test_center_closed(make_center, display_code, scan, new_member):
    center = make_center(opening_hours={"thu": [["14:00", "18:00"]]})  # T0 is Thursday 10:00
    _refused(scan(new_member(), display_code(center.id)["qr_text"]), 403, "center_closed", _written())


@pytest.mark.parametrize(("location", "status", "code"), [
    (None, 422, "location_required"),
    (near(201), 403, "out_of_range"),
    ({**HERE, "accuracy": 201}, 422, "location_inaccurate"),
])
def test_location(center, display_code, scan, new_member, location, status, code):
    _refused(scan(new_member(), display_code(center.id)["qr_text"], location=location), status, code, _written())


@pytest.mark.parametrize(("offset", "code"), [
    (dt.timedelta(minutes=5), "scanned_at_in_future"),
    (-dt.timedelta(hours=25), "scanned_at_too_old"),
])
def test_scan_time(center, display_code, scan, new_member, offset, code):
    at = (T0 + offset).isoformat()
    _refused(scan(new_member(), display_code(center.id)["qr_text"], scanned_at=at), 422, code, _written())
