"""On the day: check in and out by location or the organizer's rotating code,
forgotten check-outs, set-times and no-shows."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from app.common.geo import wgs84_to_gcj02
from app.extensions import db
from app.jobs.periodic import close_forgotten_checkouts
from app.tasks.models import Participation
from tests.conftest import assert_error
from tests.tasks.conftest import END, HERE, LAT, LNG, START, iso, near

URL = "/api/v1/tasks"


@pytest.fixture
def on_duty(make_task, volunteer):
    """A published task (tomorrow 09:00-11:00 local, 300 m radius) and a volunteer who accepted it."""
    task = make_task(places=3)
    v = volunteer()
    participation = v.post(f"{URL}/{task.id}/accept", json={}).json
    return SimpleNamespace(task=task, v=v, participation=participation)


def check_in(api, task_id, **body):
    return api.post(f"{URL}/{task_id}/check-in", json=body)


def check_out(api, task_id, **body):
    return api.post(f"{URL}/{task_id}/check-out", json=body)


def state_of(participation_id):
    db.session.expire_all()
    return db.session.get(Participation, participation_id)


# ---- by location -----------------------------------------------------------------------------

def test_check_in_and_out_by_location(on_duty, travel):
    travel(START + dt.timedelta(minutes=5))
    response = check_in(on_duty.v, on_duty.task.id, location={**near(120), "accuracy": 20})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "checked_in"
    assert dt.datetime.fromisoformat(response.json["checked_in_at"]) == START + dt.timedelta(minutes=5)
    assert on_duty.v.get(f"{URL}/{on_duty.task.id}").json["state"] == "in_progress"
    again = check_in(on_duty.v, on_duty.task.id, location=HERE)  # a retry changes nothing
    assert again.status_code == 200 and again.json["checked_in_at"] == response.json["checked_in_at"]
    travel(START + dt.timedelta(hours=1, minutes=50))
    out = check_out(on_duty.v, on_duty.task.id, location=near(-200))
    assert out.status_code == 200, out.json
    assert out.json["state"] == "checked_out"
    assert dt.datetime.fromisoformat(out.json["checked_out_at"]) == START + dt.timedelta(hours=1, minutes=50)
    assert check_out(on_duty.v, on_duty.task.id, location=HERE).json["checked_out_at"] == out.json["checked_out_at"]
    assert out.json["needs_review"] is False


def test_far_away_is_out_of_range_and_records_nothing(on_duty, travel):
    travel(START)
    error = assert_error(check_in(on_duty.v, on_duty.task.id, location=near(450)), 403, "out_of_range")
    assert error["details"]["radius_m"] == 300
    assert error["details"]["distance_m"] == pytest.approx(450, abs=2)
    assert state_of(on_duty.participation["id"]).state == "accepted"
    assert state_of(on_duty.participation["id"]).task.state == "published"
    assert check_in(on_duty.v, on_duty.task.id, location=near(290)).status_code == 200
    assert_error(check_out(on_duty.v, on_duty.task.id, location=near(0, 2_000)), 403, "out_of_range")
    assert state_of(on_duty.participation["id"]).state == "checked_in"


def test_wgs84_locations_are_converted_before_measuring(on_duty, travel):
    travel(START)
    # HERE labelled as WGS-84 is a different place, several hundred metres away in GCJ-02
    assert_error(check_in(on_duty.v, on_duty.task.id, location={**HERE, "coord_system": "wgs84"}),
                 403, "out_of_range")
    shifted = wgs84_to_gcj02(LAT, LNG)
    wgs_here = {"lat": 2 * LAT - shifted.lat, "lng": 2 * LNG - shifted.lng, "coord_system": "wgs84"}
    assert check_in(on_duty.v, on_duty.task.id, location=wgs_here).status_code == 200


def test_a_check_in_needs_a_location_or_a_code(on_duty, travel):
    travel(START)
    assert_error(check_in(on_duty.v, on_duty.task.id), 422, "location_required")
    assert_error(check_in(on_duty.v, on_duty.task.id, location={"lat": 100, "lng": 0}), 422, "validation_failed")
    assert state_of(on_duty.participation["id"]).state == "accepted"


@pytest.mark.parametrize("when", [
    START - dt.timedelta(days=1),  # the day before
    START - dt.timedelta(hours=1, minutes=1),  # too early
    END + dt.timedelta(minutes=1),  # over
    START + dt.timedelta(days=1),  # the day after
])
def test_checking_in_at_another_time_is_not_task_time(on_duty, travel, when):
    travel(when)
    assert_error(check_in(on_duty.v, on_duty.task.id, location=HERE), 409, "not_task_time")
    assert state_of(on_duty.participation["id"]).state == "accepted"


def test_an_hour_early_is_on_time(on_duty, travel):
    travel(START - dt.timedelta(minutes=59))
    assert check_in(on_duty.v, on_duty.task.id, location=HERE).status_code == 200


def test_only_an_accepted_volunteer_checks_in(make_task, volunteer, on_duty, travel):
    full = make_task(places=1, starts_at=iso(START), ends_at=iso(END))
    holder, waiting, stranger = volunteer(), volunteer(), volunteer()
    holder.post(f"{URL}/{full.id}/accept", json={})
    waiting.post(f"{URL}/{full.id}/accept", json={"waitlist": True})
    travel(START)
    assert_error(check_in(stranger, full.id, location=HERE), 404, "not_found")
    error = assert_error(check_in(waiting, full.id, location=HERE), 409, "invalid_state")
    assert error["details"]["state"] == "waitlisted"
    assert_error(check_out(holder, full.id, location=HERE), 409, "invalid_state")  # not in yet


# ---- by the organizer's code -------------------------------------------------------------------

def test_check_in_and_out_with_the_organizers_rotating_code(on_duty, admin, travel, clock):
    travel(START)
    shown = admin.get(f"{URL}/{on_duty.task.id}/code")
    assert shown.status_code == 200, shown.json
    assert shown.json["qr_text"].startswith("https://dj.example.cn/q/")
    assert 0 < shown.json["refresh_in"] <= 30
    assert dt.datetime.fromisoformat(shown.json["expires_at"]) <= START + dt.timedelta(seconds=60)
    # far away does not matter with the code
    response = check_in(on_duty.v, on_duty.task.id, code=shown.json["qr_text"], location=near(5_000))
    assert response.status_code == 200, response.json
    clock.move_to(START + dt.timedelta(seconds=30))
    rotated = admin.get(f"{URL}/{on_duty.task.id}/code").json["qr_text"]
    assert rotated != shown.json["qr_text"]
    clock.move_to(START + dt.timedelta(seconds=45))
    token = rotated.rsplit("/", 1)[1]
    assert check_out(on_duty.v, on_duty.task.id, code=token).status_code == 200  # the bare token works too


def test_an_old_or_foreign_code_is_refused(on_duty, make_task, admin, travel, clock):
    travel(START)
    old = admin.get(f"{URL}/{on_duty.task.id}/code").json["qr_text"]
    other = make_task(starts_at=iso(START), ends_at=iso(END))
    foreign = admin.get(f"{URL}/{other.id}/code").json["qr_text"]
    assert_error(check_in(on_duty.v, on_duty.task.id, code=foreign), 400, "invalid_code")
    for garbage in ("hello", "https://evil.example.com/q/AAAA", old[:-2] + ("AA" if old[-2:] != "AA" else "BB")):
        assert_error(check_in(on_duty.v, on_duty.task.id, code=garbage), 400, "invalid_code")
    clock.move_to(START + dt.timedelta(seconds=61))  # a photo passed around a minute later
    assert_error(check_in(on_duty.v, on_duty.task.id, code=old), 400, "invalid_code")
    assert state_of(on_duty.participation["id"]).state == "accepted"


def test_only_the_organizer_sees_the_code(on_duty, admin_b, login_as, tree):
    assert_error(on_duty.v.get(f"{URL}/{on_duty.task.id}/code"), 404, "not_found")
    assert_error(admin_b.get(f"{URL}/{on_duty.task.id}/code"), 404, "not_found")
    assert login_as("org_admin", tree.street).get(f"{URL}/{on_duty.task.id}/code").status_code == 200


# ---- forgotten check-outs ----------------------------------------------------------------------

def test_a_forgotten_check_out_is_closed_and_flagged_after_twelve_hours(on_duty, admin, travel, clock, app):
    travel(START)
    check_in(on_duty.v, on_duty.task.id, location=HERE)
    clock.move_to(END + dt.timedelta(hours=12))
    assert close_forgotten_checkouts() == 0  # not yet: exactly 12 h
    assert state_of(on_duty.participation["id"]).state == "checked_in"
    clock.move_to(END + dt.timedelta(hours=12, seconds=1))
    result = app.test_cli_runner().invoke(args=["jobs", "close-forgotten-checkouts"])
    assert result.exit_code == 0, result.output
    assert "closed 1 forgotten check-outs" in result.output
    p = state_of(on_duty.participation["id"])
    assert (p.state, p.needs_review, p.checked_out_at) == ("checked_out", True, None)
    assert close_forgotten_checkouts() == 0  # once only
    travel(END + dt.timedelta(hours=13))
    mine = on_duty.v.get("/api/v1/me/tasks").json["items"][0]
    assert (mine["state"], mine["needs_review"]) == ("checked_out", True)
    # too late to check out yourself now
    assert check_out(on_duty.v, on_duty.task.id, location=HERE).json["checked_out_at"] is None


def test_checking_out_more_than_twelve_hours_late_is_refused(on_duty, travel):
    travel(START)
    check_in(on_duty.v, on_duty.task.id, location=HERE)
    travel(END + dt.timedelta(hours=12, minutes=1))
    assert_error(check_out(on_duty.v, on_duty.task.id, location=HERE), 409, "not_task_time")
    assert state_of(on_duty.participation["id"]).state == "checked_in"


def test_checking_out_late_within_twelve_hours_is_allowed(on_duty, travel):
    travel(START)
    check_in(on_duty.v, on_duty.task.id, location=HERE)
    travel(END + dt.timedelta(hours=11, minutes=59))
    assert check_out(on_duty.v, on_duty.task.id, location=HERE).status_code == 200


def test_the_job_leaves_other_participations_alone(make_task, volunteer, travel, clock):
    task = make_task(places=5)
    came_and_left, forgot, never_came = volunteer(), volunteer(), volunteer()
    for v in (came_and_left, forgot, never_came):
        v.post(f"{URL}/{task.id}/accept", json={})
    later = make_task(starts_at=iso(END + dt.timedelta(hours=8)), ends_at=iso(END + dt.timedelta(hours=9)))
    still_on = volunteer()
    still_on.post(f"{URL}/{later.id}/accept", json={})
    travel(START)
    for v in (came_and_left, forgot):
        check_in(v, task.id, location=HERE)
    check_out(came_and_left, task.id, location=HERE)
    travel(END + dt.timedelta(hours=8))
    check_in(still_on, later.id, location=HERE)
    clock.move_to(END + dt.timedelta(hours=13))
    assert close_forgotten_checkouts() == 1
    db.session.expire_all()
    states = {p.user_id: (p.state, p.needs_review) for p in db.session.query(Participation)}
    assert states == {came_and_left.user_id: ("checked_out", False), forgot.user_id: ("checked_out", True),
                      never_came.user_id: ("accepted", False), still_on.user_id: ("checked_in", False)}


# ---- set-times and no-shows --------------------------------------------------------------------

def test_the_organizer_sets_the_real_times(on_duty, admin, admin_b, travel, clock):
    travel(START)
    check_in(on_duty.v, on_duty.task.id, location=HERE)
    clock.move_to(END + dt.timedelta(hours=13))
    close_forgotten_checkouts()
    travel(END + dt.timedelta(hours=14))
    url = f"/api/v1/participations/{on_duty.participation['id']}/set-times"
    assert_error(on_duty.v.post(url, json={"checked_out_at": iso(END)}), 404, "not_found")
    assert_error(admin_b.post(url, json={"checked_out_at": iso(END)}), 404, "not_found")
    assert_error(admin.post(url, json={}), 422, "validation_failed")
    error = assert_error(admin.post(url, json={"checked_out_at": iso(START - dt.timedelta(minutes=1))}),
                         422, "validation_failed")
    assert "checked_out_at" in error["details"]["fields"]
    assert_error(admin.post(url, json={"checked_in_at": iso(END), "checked_out_at": iso(START)}),
                 422, "validation_failed")
    assert state_of(on_duty.participation["id"]).needs_review is True
    response = admin.post(url, json={"checked_out_at": iso(START + dt.timedelta(hours=1, minutes=30))})
    assert response.status_code == 200, response.json
    assert response.json["needs_review"] is False and response.json["state"] == "checked_out"
    assert dt.datetime.fromisoformat(response.json["checked_in_at"]) == START
    assert dt.datetime.fromisoformat(response.json["checked_out_at"]) == START + dt.timedelta(hours=1, minutes=30)
    fixed = admin.post(url, json={"checked_in_at": iso(START + dt.timedelta(minutes=10)),
                                  "checked_out_at": iso(END)})
    assert fixed.status_code == 200
    assert dt.datetime.fromisoformat(fixed.json["checked_in_at"]) == START + dt.timedelta(minutes=10)


def test_set_times_needs_someone_who_came(on_duty, admin, travel):
    travel(START + dt.timedelta(hours=3))
    error = assert_error(admin.post(f"/api/v1/participations/{on_duty.participation['id']}/set-times",
                                    json={"checked_out_at": iso(END)}), 409, "invalid_state")
    assert error["details"]["state"] == "accepted"
    assert_error(admin.post("/api/v1/participations/424242/set-times", json={"checked_out_at": iso(END)}),
                 404, "not_found")


def test_the_organizer_marks_a_no_show(on_duty, admin, admin_b, volunteer, travel):
    came = volunteer()
    came_participation = came.post(f"{URL}/{on_duty.task.id}/accept", json={}).json
    url = f"/api/v1/participations/{on_duty.participation['id']}/no-show"
    assert_error(admin.post(url), 409, "not_task_time")  # not started yet
    travel(START + dt.timedelta(minutes=30))
    assert check_in(came, on_duty.task.id, location=HERE).status_code == 200
    assert_error(admin_b.post(url), 404, "not_found")
    assert_error(on_duty.v.post(url), 404, "not_found")
    assert state_of(on_duty.participation["id"]).state == "accepted"
    response = admin.post(url)
    assert response.status_code == 200 and response.json["state"] == "no_show"
    assert_error(admin.post(url), 409, "invalid_state")
    assert_error(check_in(on_duty.v, on_duty.task.id, location=HERE), 409, "invalid_state")
    # a volunteer who came is not a no-show
    error = assert_error(admin.post(f"/api/v1/participations/{came_participation['id']}/no-show"),
                         409, "invalid_state")
    assert error["details"]["state"] == "checked_in"
