"""QR check-in: the rules in their order, a code's lifetime, key rotation,
duplicates, idempotent retries, offline scans, exits, WGS-84 input, and the
record of every attempt."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.checkin.models import Checkin, CheckinAttempt, CheckinDailyCount, ServiceCenter
from app.common import signed_codes
from app.common.geo import Point, distance_m, wgs84_to_gcj02
from app.extensions import db
from tests.checkin.conftest import CENTER_LAT, CENTER_LNG, HERE, T0, near
from tests.conftest import assert_error

CHECKINS = "/api/v1/checkins"
CENTERS = "/api/v1/centers"
S = dt.timedelta(seconds=1)


def iso(when: dt.datetime) -> str:
    return when.isoformat()


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def fresh_tokens(*apis) -> None:
    """Access tokens live 15 minutes: after moving the clock on, refresh them."""
    for api in apis:
        response = api.client.post("/api/v1/auth/refresh",
                                   json={"refresh_token": api.tokens["refresh_token"]})
        assert response.status_code == 200, response.json
        api.tokens = response.json


def travel(clock, when: dt.datetime, *apis) -> None:
    clock.move_to(when)
    fresh_tokens(*apis)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def daily_total() -> int:
    return db.session.scalar(select(func.coalesce(func.sum(CheckinDailyCount.count), 0)))


def key_of(center_id: int) -> bytes:
    return db.session.get(ServiceCenter, center_id).code_key.encode()


def token_of(qr_text: str) -> str:
    return qr_text.rsplit("/q/", 1)[1]


# ---- the rules, in their order ---------------------------------------------------------

def test_each_reason_in_its_order(admin, make_center, display_code, scan, new_member, login_as, clock):
    closed = make_center(name="下午开放", opening_hours={"thu": [["14:00", "18:00"]]})
    open_center = make_center(name="全天开放")
    stranger = login_as(None)
    m = new_member()
    suspended = new_member()
    response = admin.post(f"/api/v1/members/{suspended.identity['id']}/suspend", json={"reason": "转出中"})
    assert response.status_code == 200, response.json
    stale = display_code(closed.id)["qr_text"]
    clock.shift(60)  # T0's code: shown 30 s, counted 30 s more; now dead
    closed_code = display_code(closed.id)["qr_text"]
    open_code = display_code(open_center.id)["qr_text"]
    far_and_vague = {**near(5000), "accuracy": 9000}

    # Each scan would also fail every later check; the first failing one answers.
    error = assert_error(scan(stranger, "hello", location=None), 400, "invalid_code")
    assert error["details"]["why"] == "malformed"
    assert_error(scan(stranger, stale, location=None), 400, "expired_code")
    assert_error(scan(stranger, closed_code, location=None), 403, "not_a_member")
    error = assert_error(scan(suspended, closed_code, location=None), 403, "identity_inactive")
    assert error["details"]["status"] == "suspended"
    assert_error(scan(m, closed_code, location=None), 403, "center_closed")
    assert_error(scan(m, open_code, location=None), 422, "location_required")
    error = assert_error(scan(m, open_code, location=far_and_vague), 403, "out_of_range")
    assert error["details"] == {"distance_m": 5000, "radius_m": 200}
    assert "5000" in error["message"] and "200" in error["message"]
    error = assert_error(scan(m, open_code, location={**HERE, "accuracy": 201}), 422, "location_inaccurate")
    assert error["details"] == {"accuracy_m": 201, "radius_m": 200}
    assert count(Checkin) == 0
    assert count(CheckinAttempt) == 8

    # On the radius, as accurate as the radius: it counts.
    response = scan(m, open_code, location={**near(199), "accuracy": 200}, purpose="study")
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"status", "checkin"} and body["status"] == "ok"
    checkin = body["checkin"]
    assert checkin["center_id"] == open_center.id and checkin["purpose"] == "study"
    assert parse(checkin["checked_in_at"]) == T0 + 60 * S
    assert checkin["local_day"] == "2026-11-26" and checkin["offline"] is False
    assert checkin["distance_m"] == pytest.approx(199, abs=1)
    assert checkin["exited_at"] is None and checkin["duration_seconds"] is None
    assert response.headers["Location"].endswith(f"{CHECKINS}/{checkin['id']}")
    assert m.get(response.headers["Location"]).json == checkin
    assert count(Checkin) == 1


def test_center_closed_outside_hours_on_closure_days_and_in_its_time_zone(
        admin, make_center, display_code, scan, new_member, clock):
    m = new_member()
    center = make_center(opening_hours={"thu": [["08:30", "12:00"], ["14:00", "18:00"]]})
    url = f"{CENTERS}/{center.id}"
    # 10:00 on a Thursday: open. Closed on the closure day whatever the hours say.
    admin.patch(url, json={"closed_days": [{"day": "2026-11-26", "reason": "盘点"}]})
    assert_error(scan(m, display_code(center.id)["qr_text"]), 403, "center_closed")
    admin.patch(url, json={"closed_days": [{"day": "2026-11-27"}]})
    # In London it is 02:00: closed.
    admin.patch(url, json={"timezone": "Europe/London"})
    assert_error(scan(m, display_code(center.id)["qr_text"]), 403, "center_closed")
    admin.patch(url, json={"timezone": "Asia/Shanghai"})
    # 12:00 is closing time (the end is exclusive); 14:00 opens again.
    travel(clock, T0 + dt.timedelta(hours=2), admin, m)
    assert_error(scan(m, display_code(center.id)["qr_text"]), 403, "center_closed")
    travel(clock, T0 + dt.timedelta(hours=4), admin, m)
    assert scan(m, display_code(center.id)["qr_text"]).status_code == 201
    # Friday is closed by the weekly hours (no "fri" entry).
    travel(clock, T0 + dt.timedelta(days=1), admin, m)
    assert_error(scan(m, display_code(center.id)["qr_text"]), 403, "center_closed")


# ---- a rotating code's lifetime ----------------------------------------------------------

@pytest.mark.parametrize("rotation, grace, offset", [(30, 30, 0), (45, 10, 20), (60, 0, 59)])
def test_a_code_counts_until_the_end_of_its_step_plus_grace_and_not_at_that_instant(
        admin, make_center, display_code, scan, new_member, clock, rotation, grace, offset):
    center = make_center(rotation_seconds=rotation, grace_seconds=grace)
    early, on_time, late = new_member(), new_member(), new_member()
    clock.move_to(T0 + offset * S)  # T0 is a multiple of every rotation here
    shown = display_code(center.id)
    code = shown["qr_text"]
    end = T0 + (rotation + grace) * S  # (s + 1) * rotation + grace
    assert parse(shown["expires_at"]) == end
    assert shown["refresh_in"] == pytest.approx(rotation - offset)
    clock.move_to(T0 + rotation * S)
    assert display_code(center.id)["qr_text"] != code  # the screen has moved on
    if grace:
        assert scan(early, code).status_code == 201  # ... but the code still counts
    else:
        assert_error(scan(early, code), 400, "expired_code")  # ... and so has the code
    clock.move_to(end - dt.timedelta(milliseconds=1))
    assert scan(on_time, code).status_code == 201
    clock.move_to(end)
    assert_error(scan(late, code), 400, "expired_code")


def test_a_code_for_a_later_step_is_not_valid_yet(center, scan, new_member):
    step = int(T0.timestamp()) // 30
    token = signed_codes.sign("center_rotating", center.id, 1, step + 10, key_of(center.id))
    error = assert_error(scan(new_member(), token), 400, "invalid_code")
    assert error["details"]["why"] == "not_yet_valid"
    # A bare token (no URL around it) is accepted as the same code.
    token = signed_codes.sign("center_rotating", center.id, 1, step, key_of(center.id))
    assert scan(new_member(), token).status_code == 201


def test_rotating_the_key_kills_posters_and_screens_at_once(admin, make_center, display_code, scan,
                                                           new_member):
    poster = make_center(name="海报", code_mode="static")
    screen = make_center(name="屏幕")
    poster_code, screen_code = display_code(poster.id)["qr_text"], display_code(screen.id)["qr_text"]
    before, after = new_member(), new_member()
    assert scan(before, poster_code).status_code == 201
    assert scan(before, screen_code).status_code == 201
    for center in (poster, screen):
        assert admin.post(f"{CENTERS}/{center.id}/rotate-key").status_code == 200
    for dead in (poster_code, screen_code):
        error = assert_error(scan(after, dead), 400, "invalid_code")
        assert error["details"]["why"] == "key_rotated"
    new_poster_code = display_code(poster.id)["qr_text"]
    assert new_poster_code != poster_code
    assert scan(after, new_poster_code).status_code == 201
    assert scan(after, display_code(screen.id)["qr_text"]).status_code == 201
    assert count(Checkin) == 4


def test_static_codes_never_expire_until_the_mode_or_key_changes(admin, make_center, display_code,
                                                                 scan, new_member, clock):
    center = make_center(code_mode="static")
    shown = display_code(center.id)
    assert shown["expires_at"] is None and shown["refresh_in"] is None
    m, other = new_member(), new_member()
    travel(clock, T0 + dt.timedelta(days=3), admin, m, other)
    assert display_code(center.id)["qr_text"] == shown["qr_text"]
    assert scan(m, shown["qr_text"]).status_code == 201
    # Back to a screen: the poster's code no longer counts.
    admin.patch(f"{CENTERS}/{center.id}", json={"code_mode": "rotating"})
    error = assert_error(scan(other, shown["qr_text"]), 400, "invalid_code")
    assert error["details"]["why"] == "mode_changed"
    assert_error(admin.get(f"{CENTERS}/{center.id}/poster.png"), 409, "static_mode_required")


# ---- bad codes and bad input --------------------------------------------------------------

def _forged(center_id, qr_text, key):
    raw = bytearray(base64.urlsafe_b64decode(token_of(qr_text) + "=="))
    raw[-1] ^= 0x01
    return {
        "flipped_mac": qr_text.rsplit("/", 1)[0] + "/" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="),
        "wrong_key": signed_codes.sign("center_rotating", center_id, 1, int(T0.timestamp()) // 30, b"guess"),
        "plate": signed_codes.sign("post_plate", center_id, 1, 0, key),
        "unknown_center": signed_codes.sign("center_rotating", 999_999, 1, int(T0.timestamp()) // 30, key),
    }


def test_bad_codes_each_say_why_and_create_nothing(admin, app, make_center, center, display_code,
                                                  scan, new_member):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    base = app.config["QR_BASE_URL"]
    assert code.startswith(base + "/q/") and code.startswith("https://")
    assert len(token_of(code)) == 32
    forged = _forged(center.id, code, key_of(center.id))
    gone = make_center(name="已撤销")
    gone_code = display_code(gone.id)["qr_text"]
    assert admin.delete(f"{CENTERS}/{gone.id}").status_code == 204
    cases = [
        ("https://evil.example/q/xxx", "not_our_code"),
        ("https://evil.example/q/" + token_of(code), "not_our_code"),
        (code.replace("https://", "http://"), "not_our_code"),
        ("https://dj.example.cn.evil.example/q/" + token_of(code), "not_our_code"),
        ("hello", "malformed"),
        (code[:-1], "malformed"),
        (code[:-3], "malformed"),
        (code + "AAAA", "malformed"),
        (f"{base}/q/", "malformed"),
        (forged["flipped_mac"], "bad_signature"),
        (forged["wrong_key"], "bad_signature"),
        (forged["plate"], "not_a_checkin_code"),
        (forged["unknown_center"], "unknown_center"),
        (gone_code, "unknown_center"),
    ]
    for text, why in cases:
        error = assert_error(scan(m, text), 400, "invalid_code")
        assert error["details"]["why"] == why, (text, error)
        assert error["message"]
    assert count(Checkin) == 0
    assert count(CheckinAttempt) == len(cases)  # each attempt is on record
    assert scan(m, code).status_code == 201  # the real one still works


@pytest.mark.parametrize("body, field", [
    ({"location": {"lat": 91, "lng": CENTER_LNG}}, "location"),
    ({"location": {"lat": -90.5, "lng": CENTER_LNG}}, "location"),
    ({"location": {"lat": CENTER_LAT, "lng": 180.1}}, "location"),
    ({"location": {"lat": CENTER_LAT}}, "location"),
    ({"location": {**HERE, "accuracy": -1}}, "location"),
    ({"location": {**HERE, "coord_system": "bd09"}}, "location"),
    ({"location": "21.858,111.962"}, "location"),
    ({"type": "enter"}, "type"),
    ({"purpose": "party"}, "purpose"),
    ({"scanned_at": "2026-11-26T10:00:00"}, "scanned_at"),  # no offset
    ({"scanned_at": "yesterday"}, "scanned_at"),
    ({"code": ""}, "code"),
    ({"code": None}, "code"),
    ({"extra": 1}, "extra"),
])
def test_malformed_requests_are_422_and_create_nothing(center, display_code, new_member, body, field):
    m = new_member()
    request = {"code": display_code(center.id)["qr_text"], "location": HERE, **body}
    error = assert_error(m.post(CHECKINS, json=request), 422, "validation_failed")
    assert field in error["details"]["fields"], error
    assert count(Checkin) == 0


def test_a_missing_location_is_its_own_error(center, display_code, scan, new_member):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    assert_error(scan(m, code, location=None), 422, "location_required")
    assert_error(m.post(CHECKINS, json={"code": code, "location": None}), 422, "location_required")
    assert count(Checkin) == 0


def test_not_logged_in_is_401(client, center, display_code):
    response = client.post(CHECKINS, json={"code": display_code(center.id)["qr_text"], "location": HERE})
    assert_error(response, 401, "unauthorized")
    assert count(CheckinAttempt) == 0


# ---- duplicates -----------------------------------------------------------------------------

def test_one_checkin_per_member_center_and_local_day(admin, center, make_center, display_code, scan,
                                                     new_member, clock):
    m = new_member()
    first = scan(m, display_code(center.id)["qr_text"])
    assert first.status_code == 201
    travel(clock, T0 + dt.timedelta(hours=3), admin, m)
    again = scan(m, display_code(center.id)["qr_text"], purpose="meeting")
    assert again.status_code == 200
    assert again.json == {"status": "already_checked_in", "checkin": first.json["checkin"]}
    assert "Location" not in again.headers
    # Another center the same day is another check-in.
    elsewhere = make_center(name="另一中心")
    assert scan(m, display_code(elsewhere.id)["qr_text"]).status_code == 201
    # 23:59:59 local is still the same day; midnight local (16:00 UTC) is the next.
    travel(clock, T0 + dt.timedelta(hours=13, minutes=59, seconds=59), admin, m)
    assert scan(m, display_code(center.id)["qr_text"]).json["status"] == "already_checked_in"
    travel(clock, T0 + dt.timedelta(hours=14), admin, m)
    next_day = scan(m, display_code(center.id)["qr_text"])
    assert next_day.status_code == 201
    assert next_day.json["checkin"]["local_day"] == "2026-11-27"
    assert next_day.json["checkin"]["id"] != first.json["checkin"]["id"]
    assert count(Checkin) == 3 and daily_total() == 3
    results = db.session.scalars(select(CheckinAttempt.result).order_by(CheckinAttempt.id)).all()
    assert results == ["ok", "already_checked_in", "ok", "already_checked_in", "ok"]


def test_duplicate_window_seconds(admin, make_center, display_code, scan, new_member, clock):
    center = make_center(duplicate_window_seconds=3600)
    m = new_member()
    first = scan(m, display_code(center.id)["qr_text"])
    assert first.status_code == 201
    travel(clock, T0 + dt.timedelta(minutes=59, seconds=59), admin, m)
    again = scan(m, display_code(center.id)["qr_text"])
    assert again.status_code == 200 and again.json["checkin"] == first.json["checkin"]
    travel(clock, T0 + dt.timedelta(hours=1), admin, m)
    later = scan(m, display_code(center.id)["qr_text"])
    assert later.status_code == 201 and later.json["checkin"]["id"] != first.json["checkin"]["id"]
    assert later.json["checkin"]["local_day"] == "2026-11-26"  # the same day, counted twice
    assert count(Checkin) == 2 and daily_total() == 2


# ---- Idempotency-Key ---------------------------------------------------------------------------

def test_an_idempotency_key_replays_the_first_answer_and_stores_nothing(center, display_code, new_member,
                                                                        clock):
    m = new_member()
    body = {"code": display_code(center.id)["qr_text"], "location": HERE}
    key = {"Idempotency-Key": "scan-7f3a"}
    first = m.post(CHECKINS, json=body, headers=key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    clock.shift(90)  # the code is dead by now; a replay does not judge it again
    replay = m.post(CHECKINS, json=body, headers=key)
    assert replay.status_code == 201
    assert replay.get_data() == first.get_data()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == first.headers["Location"]
    assert count(Checkin) == 1 and count(CheckinAttempt) == 1 and daily_total() == 1

    # A refusal is an answer too: replayed, not recorded twice.
    expired = m.post(CHECKINS, json=body, headers={"Idempotency-Key": "scan-8"})
    assert_error(expired, 400, "expired_code")
    replay = m.post(CHECKINS, json=body, headers={"Idempotency-Key": "scan-8"})
    assert replay.status_code == 400 and replay.get_data() == expired.get_data()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count(CheckinAttempt) == 2

    # The same key for another body is refused.
    other = {**body, "purpose": "study"}
    assert_error(m.post(CHECKINS, json=other, headers=key), 422, "idempotency_key_reused")
    assert count(Checkin) == 1 and count(CheckinAttempt) == 2


def test_idempotency_keys_are_per_user(center, display_code, new_member):
    a, b = new_member(), new_member()
    body = {"code": display_code(center.id)["qr_text"], "location": HERE}
    key = {"Idempotency-Key": "same-key"}
    first, second = a.post(CHECKINS, json=body, headers=key), b.post(CHECKINS, json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.json["checkin"]["id"] != second.json["checkin"]["id"]


# ---- offline scans ----------------------------------------------------------------------------------

def test_an_offline_scan_counts_when_the_code_was_valid_at_scanned_at(admin, center, display_code, scan,
                                                                      new_member, clock):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(hours=2), admin, m)
    scanned = (T0 + 10 * S).astimezone(dt.timezone(dt.timedelta(hours=8)))
    response = scan(m, code, scanned_at=iso(scanned))
    assert response.status_code == 201, response.json
    checkin = response.json["checkin"]
    assert checkin["offline"] is True
    assert parse(checkin["checked_in_at"]) == T0 + 10 * S
    attempt = db.session.scalars(select(CheckinAttempt)).one()
    assert attempt.scanned_at == T0 + 10 * S
    assert attempt.server_time == T0 + dt.timedelta(hours=2)
    # The duplicate rule applies to the day it was scanned.
    travel(clock, T0 + dt.timedelta(hours=3), admin, m)
    assert scan(m, display_code(center.id)["qr_text"]).json["status"] == "already_checked_in"


def test_an_offline_scan_of_a_code_expired_at_scanned_at_is_expired(admin, center, display_code, scan,
                                                                    new_member, clock):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(hours=2), admin, m)
    assert_error(scan(m, code, scanned_at=iso(T0 + 60 * S)), 400, "expired_code")
    assert scan(m, code, scanned_at=iso(T0 + 59 * S)).status_code == 201


def test_offline_scans_at_most_24_hours_old(admin, center, display_code, scan, new_member, clock):
    m, other = new_member(), new_member()
    code = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(hours=24), admin, m, other)
    response = scan(m, code, scanned_at=iso(T0))  # exactly 24 h: still in time
    assert response.status_code == 201 and response.json["checkin"]["offline"] is True
    clock.shift(1)
    error = assert_error(scan(other, code, scanned_at=iso(T0)), 422, "scanned_at_too_old")
    assert "24" in error["message"]
    assert count(Checkin) == 1


def test_scanned_at_in_the_future_beyond_the_clock_skew(center, display_code, scan, new_member, clock):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    assert_error(scan(m, code, scanned_at=iso(T0 + 121 * S)), 422, "scanned_at_in_future")
    assert_error(scan(m, code, scanned_at=iso(T0 + dt.timedelta(days=1))), 422, "scanned_at_in_future")
    assert count(Checkin) == 0
    # Within the skew it is an ordinary (online) scan, judged at the server's time.
    response = scan(m, code, scanned_at=iso(T0 + 120 * S))
    assert response.status_code == 201
    assert response.json["checkin"]["offline"] is False
    assert parse(response.json["checkin"]["checked_in_at"]) == T0


# ---- exits and occupancy ------------------------------------------------------------------------------

def test_exit_closes_the_visit_with_its_duration(admin, center, display_code, scan, new_member, clock):
    occupancy = f"{CENTERS}/{center.id}/occupancy"
    a, b, c = new_member(), new_member(), new_member()
    entry = scan(a, display_code(center.id)["qr_text"]).json["checkin"]
    assert scan(b, display_code(center.id)["qr_text"]).status_code == 201
    inside = admin.get(occupancy).json
    assert inside == {"center_id": center.id, "inside": 2, "day": "2026-11-26", "as_of": iso(T0)}

    travel(clock, T0 + dt.timedelta(hours=1, seconds=5), admin, a, b, c)
    code = display_code(center.id)["qr_text"]
    response = scan(a, code, type="exit")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "checked_out"
    visit = response.json["checkin"]
    assert visit["id"] == entry["id"]
    assert visit["duration_seconds"] == 3605
    assert parse(visit["exited_at"]) == T0 + dt.timedelta(hours=1, seconds=5)
    assert admin.get(occupancy).json["inside"] == 1
    # A second exit answers the first; nothing changes.
    clock.shift(60)
    code = display_code(center.id)["qr_text"]
    again = scan(a, code, type="exit")
    assert again.status_code == 200
    assert again.json == {"status": "already_checked_out", "checkin": visit}
    # Exit without entry.
    assert_error(scan(c, code, type="exit"), 409, "not_checked_in")
    assert admin.get(occupancy).json["inside"] == 1
    assert count(Checkin) == 2 and daily_total() == 2
    results = db.session.scalars(select(CheckinAttempt.result).order_by(CheckinAttempt.id)).all()
    assert results == ["ok", "ok", "checked_out", "already_checked_out", "not_checked_in"]


def test_an_offline_exit_earlier_than_the_entry_is_refused(admin, center, display_code, scan, new_member,
                                                           clock):
    m = new_member()
    travel(clock, T0 + dt.timedelta(minutes=30), admin)
    early_code = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(hours=1), admin, m)
    assert scan(m, display_code(center.id)["qr_text"]).status_code == 201
    error = assert_error(scan(m, early_code, type="exit", scanned_at=iso(T0 + dt.timedelta(minutes=30))),
                         409, "exit_before_entry")
    assert error["message"]
    assert admin.get(f"{CENTERS}/{center.id}/occupancy").json["inside"] == 1


def test_an_offline_exit_is_marked_and_timed_by_scanned_at(admin, center, display_code, scan, new_member,
                                                           clock):
    m = new_member()
    assert scan(m, display_code(center.id)["qr_text"]).status_code == 201
    clock.move_to(T0 + dt.timedelta(minutes=10))
    exit_code = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(hours=2), admin, m)
    response = scan(m, exit_code, type="exit", scanned_at=iso(T0 + dt.timedelta(minutes=10)))
    assert response.status_code == 200 and response.json["status"] == "checked_out"
    assert response.json["checkin"]["duration_seconds"] == 600
    assert db.session.scalars(select(Checkin)).one().exit_offline is True


def test_occupancy_is_404_for_another_community_and_forbidden_to_members(login_as, tree, center, new_member):
    assert_error(login_as("org_admin", tree.b).get(f"{CENTERS}/{center.id}/occupancy"), 404, "not_found")
    assert_error(new_member().get(f"{CENTERS}/{center.id}/occupancy"), 404, "not_found")


# ---- WGS-84 input -------------------------------------------------------------------------------------

def gcj02_to_wgs84(lat: float, lng: float) -> Point:
    """Numerically invert wgs84_to_gcj02 (a fixed-point iteration; it converges fast)."""
    guess = Point(lat, lng)
    for _ in range(50):
        shifted = wgs84_to_gcj02(guess.lat, guess.lng)
        guess = Point(guess.lat - (shifted.lat - lat), guess.lng - (shifted.lng - lng))
    return guess


def test_wgs84_locations_are_converted_before_measuring(center, display_code, scan, new_member):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    # The center's GCJ-02 numbers labelled WGS-84 are some 600 m off once converted.
    mislabelled = {"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "wgs84", "accuracy": 20}
    error = assert_error(scan(m, code, location=mislabelled), 403, "out_of_range")
    assert 300 < error["details"]["distance_m"] < 900
    # The center's true WGS-84 position passes, at (almost) zero distance.
    true = gcj02_to_wgs84(CENTER_LAT, CENTER_LNG)
    assert distance_m(wgs84_to_gcj02(true.lat, true.lng), Point(CENTER_LAT, CENTER_LNG)) < 0.01
    assert distance_m(true, Point(CENTER_LAT, CENTER_LNG)) > 300
    response = scan(m, code, location={"lat": true.lat, "lng": true.lng, "coord_system": "wgs84",
                                       "accuracy": 20})
    assert response.status_code == 201, response.json
    assert response.json["checkin"]["distance_m"] < 1
    stored = db.session.scalars(select(Checkin)).one()
    assert stored.lat == pytest.approx(CENTER_LAT, abs=1e-6) and stored.lng == pytest.approx(CENTER_LNG, abs=1e-6)
    # The attempts keep the position in GCJ-02 too, like everything stored.
    attempts = db.session.scalars(select(CheckinAttempt).order_by(CheckinAttempt.id)).all()
    assert attempts[1].lat == pytest.approx(CENTER_LAT, abs=1e-6)
    mislabelled_gcj = wgs84_to_gcj02(CENTER_LAT, CENTER_LNG)
    assert attempts[0].lat == pytest.approx(mislabelled_gcj.lat, abs=1e-9)


# ---- the record of attempts --------------------------------------------------------------------------

def test_every_attempt_is_recorded_and_listed_with_filters(admin, center, display_code, new_member,
                                                           login_as, clock):
    m = new_member()
    stranger = login_as(None)
    phone = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"}
    stale = display_code(center.id)["qr_text"]
    travel(clock, T0 + dt.timedelta(minutes=5), admin, m, stranger)
    code = display_code(center.id)["qr_text"]

    def post(api, **body):
        return api.post(CHECKINS, json={"code": code, "location": HERE, **body}, headers=phone)

    assert_error(post(m, code=stale, scanned_at=iso(T0 + 70 * S)), 400, "expired_code")
    assert_error(post(m, location=near(1000)), 403, "out_of_range")
    assert_error(post(m, location=None), 422, "location_required")
    assert_error(post(stranger), 403, "not_a_member")
    assert post(m, purpose="study").status_code == 201
    assert post(m).status_code == 200

    url = f"{CENTERS}/{center.id}/checkins"
    everything = admin.get(url).json
    assert [a["result"] for a in everything["items"]] == [
        "already_checked_in", "ok", "not_a_member", "location_required", "out_of_range", "expired_code"]
    assert everything["next_cursor"] is None

    failed = admin.get(url, query_string={"status": "failed"}).json["items"]
    assert [a["result"] for a in failed] == ["not_a_member", "location_required", "out_of_range", "expired_code"]
    for attempt in failed:
        assert "ip" not in attempt and "device" not in attempt  # kept, but not shown to admins
        stored = db.session.get(CheckinAttempt, attempt["id"])
        assert (stored.ip, stored.device) == ("127.0.0.1", phone["User-Agent"])
        assert parse(attempt["server_time"]) == T0 + dt.timedelta(minutes=5)
        assert attempt["local_day"] == "2026-11-26"
        assert attempt["checkin_id"] is None
        assert attempt["type"] == "entry"
    assert failed[-1]["scanned_at"] is not None and parse(failed[-1]["scanned_at"]) == T0 + 70 * S
    assert failed[-1]["user_id"] == m.user_id and failed[0]["user_id"] == stranger.user_id
    assert failed[-2]["distance_m"] == pytest.approx(1000, abs=1)
    assert all(a["scanned_at"] is None for a in failed[:-1])

    ok = admin.get(url, query_string={"status": "ok"}).json["items"]
    assert len(ok) == 1 and ok[0]["checkin_id"] is not None and ok[0]["purpose"] == "study"
    assert [a["result"] for a in admin.get(url, query_string={"status": "out_of_range"}).json["items"]] == [
        "out_of_range"]
    assert [a["result"] for a in admin.get(url, query_string={"purpose": "study"}).json["items"]] == ["ok"]
    assert len(admin.get(url, query_string={"day": "2026-11-26"}).json["items"]) == 6
    assert admin.get(url, query_string={"day": "2026-11-27"}).json["items"] == []
    # Pagination, newest first.
    page = admin.get(url, query_string={"limit": 4}).json
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = admin.get(url, query_string={"limit": 4, "cursor": page["next_cursor"]}).json
    assert [a["id"] for a in page["items"] + rest["items"]] == [a["id"] for a in everything["items"]]
    assert_error(admin.get(url, query_string={"day": "yesterday"}), 422, "validation_failed")
    assert_error(admin.get(url, query_string={"purpose": "party"}), 422, "validation_failed")
    # Members don't read the center's record.
    assert_error(m.get(url), 404, "not_found")


def test_center_checkins_query_count_does_not_grow_with_rows(admin, center, display_code, scan,
                                                             new_member, count_queries):
    m = new_member()
    code = display_code(center.id)["qr_text"]
    url = f"{CENTERS}/{center.id}/checkins"

    def counted():
        with count_queries() as q:
            response = admin.get(url, query_string={"limit": 100})
        assert response.status_code == 200
        return len(response.json["items"]), q.count

    for _ in range(3):
        scan(m, code, location=None)
    few = counted()
    for _ in range(12):
        scan(m, code, location=None)
    many = counted()
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]


# ---- my check-ins -------------------------------------------------------------------------------------

def test_me_checkins_lists_my_own_newest_first(make_center, display_code, scan, new_member):
    m, other = new_member(), new_member()
    centers = [make_center(name=f"中心{i}") for i in range(3)]
    mine = [scan(m, display_code(c.id)["qr_text"]).json["checkin"] for c in centers]
    theirs = scan(other, display_code(centers[0].id)["qr_text"]).json["checkin"]
    assert_error(scan(m, "hello"), 400, "invalid_code")  # attempts are not check-ins

    page = m.get("/api/v1/me/checkins").json
    assert page["items"] == mine[::-1] and page["next_cursor"] is None
    first = m.get("/api/v1/me/checkins", query_string={"limit": 2}).json
    assert first["items"] == mine[:0:-1] and first["next_cursor"]
    second = m.get("/api/v1/me/checkins", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert second["items"] == [mine[0]] and second["next_cursor"] is None
    assert other.get("/api/v1/me/checkins").json["items"] == [theirs]
    assert_error(m.get(f"{CHECKINS}/{theirs['id']}"), 404, "not_found")
    assert m.get(f"{CHECKINS}/{mine[0]['id']}").json == mine[0]


def test_me_checkins_query_count_does_not_grow_with_rows(center, new_member, count_queries):
    m = new_member()

    def add(days):
        for day in days:
            local_day = dt.date(2026, 11, 1) + dt.timedelta(days=day)
            db.session.add(Checkin(
                center_id=center.id, user_id=m.user_id, identity_id=m.identity["id"], purpose="visit",
                window_key=local_day.isoformat(), local_day=local_day,
                checked_in_at=T0 - dt.timedelta(days=30 - day), offline=False, exit_offline=False))
        db.session.commit()

    def counted():
        with count_queries() as q:
            response = m.get("/api/v1/me/checkins", query_string={"limit": 100})
        assert response.status_code == 200
        return len(response.json["items"]), q.count

    add(range(3))
    few = counted()
    add(range(3, 15))
    many = counted()
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]


# ---- my scan attempts -------------------------------------------------------------------------------

MY_ATTEMPTS = "/api/v1/me/checkin-attempts"


def test_me_checkin_attempts_lists_my_own_scans_newest_first(make_center, display_code, scan, new_member,
                                                             login, clock):
    m, other = new_member(), new_member()
    home, elsewhere = make_center(name="丰泽社区党群服务中心"), make_center(name="江城区党群服务中心")
    assert scan(m, display_code(home.id)["qr_text"]).status_code == 201
    clock.shift(dt.timedelta(minutes=1))
    assert_error(scan(m, display_code(elsewhere.id)["qr_text"], location=near(1000)), 403, "out_of_range")
    clock.shift(dt.timedelta(minutes=1))
    assert_error(scan(m, "hello"), 400, "invalid_code")  # no center: still the person's attempt
    theirs = scan(other, display_code(home.id)["qr_text"])
    assert theirs.status_code == 201

    page = m.get(MY_ATTEMPTS).json
    stored = db.session.scalars(select(CheckinAttempt).where(CheckinAttempt.user_id == m.user_id)
                                .order_by(CheckinAttempt.id.desc())).all()
    assert [a["id"] for a in page["items"]] == [a.id for a in stored] and page["next_cursor"] is None
    assert [a["result"] for a in page["items"]] == ["invalid_code", "out_of_range", "ok"]
    assert [a["center_name"] for a in page["items"]] == [None, "江城区党群服务中心", "丰泽社区党群服务中心"]
    _, far, ok = page["items"]
    assert far["distance_m"] == pytest.approx(1000, abs=2) and far["purpose"] == "visit"
    assert ok["checkin_id"] is not None and ok["center_id"] == home.id
    assert parse(far["server_time"]) == T0 + dt.timedelta(minutes=1)
    for attempt in page["items"]:
        # neither the address, the phone's user agent nor its position
        assert not {"ip", "device", "lat", "lng", "accuracy_m", "user_id"} & set(attempt)
    # keyset pages
    first = m.get(MY_ATTEMPTS, query_string={"limit": 2}).json
    second = m.get(MY_ATTEMPTS, query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert first["items"] + second["items"] == page["items"] and second["next_cursor"] is None
    assert_error(m.get(MY_ATTEMPTS, query_string={"cursor": "garbage"}), 422, "validation_failed")
    # the other person's scan is theirs alone; someone who never scanned has none
    assert [a["result"] for a in other.get(MY_ATTEMPTS).json["items"]] == ["ok"]
    assert login("o-never-scanned").get(MY_ATTEMPTS).json == {"items": [], "next_cursor": None}


def test_me_checkin_attempts_needs_a_login(client):
    assert_error(client.get(MY_ATTEMPTS), 401, "unauthorized")


def test_me_checkin_attempts_query_count_does_not_grow_with_rows(make_center, new_member, count_queries):
    m = new_member()
    centers = [make_center(name=f"中心{i}") for i in range(15)]

    def add(which):
        for i in which:
            db.session.add(CheckinAttempt(center_id=centers[i].id, user_id=m.user_id, type="entry",
                                          purpose="visit", result="out_of_range", distance_m=300.0,
                                          local_day=dt.date(2026, 11, 26), server_time=T0))
        db.session.commit()

    def counted():
        with count_queries() as q:
            response = m.get(MY_ATTEMPTS, query_string={"limit": 100})
        assert response.status_code == 200
        assert all(a["center_name"] for a in response.json["items"])
        return len(response.json["items"]), q.count

    add(range(3))
    few = counted()
    add(range(3, 15))
    many = counted()
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1]


# ---- identity changes --------------------------------------------------------------------------------

def test_a_revoked_identity_is_refused_at_once(admin, center, make_center, display_code, scan, new_member):
    m = new_member()
    assert scan(m, display_code(center.id)["qr_text"]).status_code == 201
    response = admin.post(f"/api/v1/members/{m.identity['id']}/revoke", json={"reason": "开除党籍"})
    assert response.status_code == 200, response.json
    elsewhere = make_center(name="另一中心")
    error = assert_error(scan(m, display_code(elsewhere.id)["qr_text"]), 403, "identity_inactive")
    assert error["details"]["status"] == "revoked"
    # Even where a check-in of today exists: the identity is checked first.
    assert_error(scan(m, display_code(center.id)["qr_text"]), 403, "identity_inactive")
    assert count(Checkin) == 1


def test_a_visit_may_be_closed_after_closing_time_and_across_midnight(admin, make_center, display_code,
                                                                     scan, new_member, clock):
    # open 08:00-22:00 every day (T0 is 10:00 local)
    hours = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    center = make_center(opening_hours=hours)
    late, overnight, third = new_member(), new_member(), new_member()
    first = scan(late, display_code(center.id)["qr_text"]).json["checkin"]
    travel(clock, T0 + dt.timedelta(hours=11, minutes=50), admin, late, overnight, third)  # 21:50
    entry = scan(overnight, display_code(center.id)["qr_text"]).json["checkin"]

    travel(clock, T0 + dt.timedelta(hours=12, minutes=30), admin, late, overnight, third)  # 22:30, closed
    assert_error(scan(third, display_code(center.id)["qr_text"]), 403, "center_closed")
    out = scan(late, display_code(center.id)["qr_text"], type="exit")
    assert out.status_code == 200, out.json
    assert out.json["checkin"]["id"] == first["id"]
    assert out.json["checkin"]["duration_seconds"] == 12 * 3600 + 30 * 60

    travel(clock, T0 + dt.timedelta(hours=14, minutes=10), admin, late, overnight, third)  # 00:10 next day
    out = scan(overnight, display_code(center.id)["qr_text"], type="exit")
    assert out.status_code == 200, out.json
    assert out.json["status"] == "checked_out"
    assert out.json["checkin"]["id"] == entry["id"]
    assert out.json["checkin"]["duration_seconds"] == 2 * 3600 + 20 * 60
