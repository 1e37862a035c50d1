"""Retention: the daily purge removes positions, IPs, user agents and orphan
photos when their periods are over, and every figure stays the same."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.badges.models import BadgeShown
from app.checkin.models import Checkin, CheckinAttempt
from app.extensions import db
from app.jobs.periodic import purge_personal_data
from app.uploads.models import Upload
from app.uploads.storage import get_storage
from tests.grid.helpers import upload_id

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # a Thursday, 10:00 in Yangjiang
HERE = {"lat": 21.8580, "lng": 111.9620, "accuracy": 20}
DAY1, LATER = "2026-11-26", "2027-03-31"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def history(member, login, admin, tree):
    """At T0: a check-in and a refused scan, a badge check, an orphan photo and a taken one."""
    scanner = member(phone="13900006666")
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "丰泽路 1 号",
        "location": {"lat": HERE["lat"], "lng": HERE["lng"]}}).json
    code = admin.get(f"/api/v1/centers/{center['id']}/display-code").json["qr_text"]
    far = {**HERE, "lat": HERE["lat"] + 0.02}  # 2 km off, from home
    assert scanner.post("/api/v1/checkins", json={"code": code, "location": far}).status_code == 403
    assert scanner.post("/api/v1/checkins", json={"code": code, "location": HERE}).status_code == 201
    checker = login("o-checker")
    badge = scanner.get("/api/v1/me/badge").json["qr_text"]
    assert checker.post("/api/v1/badges/verify", json={"code": badge, "location": HERE}).json["valid"]
    orphan, taken = upload_id(scanner), upload_id(scanner)
    db.session.get(Upload, taken).attached_at = T0
    db.session.commit()
    return {"orphan": orphan, "taken": taken, "orphan_key": db.session.get(Upload, orphan).storage_key}


def figures(login_as, tree) -> dict:
    admin = login_as("org_admin", tree.a)  # a fresh login: months pass in these tests
    return {
        "checkins": admin.get("/api/v1/stats/checkins",
                              query_string={"org_id": tree.a, "from": DAY1, "to": LATER}).json,
        "badges": admin.get("/api/v1/stats/badges",
                            query_string={"org_id": tree.a, "from": DAY1, "to": LATER}).json,
        "attempts": db.session.scalar(select(func.count()).select_from(CheckinAttempt)),
        "checkin_rows": db.session.scalar(select(func.count()).select_from(Checkin)),
        "badge_checks": db.session.scalar(select(func.count()).select_from(BadgeShown)),
    }


def held() -> dict:
    db.session.expire_all()
    attempts = db.session.scalars(select(CheckinAttempt)).all()
    return {
        "attempt_details": sum(a.ip is not None or a.lat is not None or a.device is not None for a in attempts),
        "checkin_positions": db.session.scalar(select(func.count()).where(Checkin.lat.isnot(None))),
        "badge_check_positions": db.session.scalar(select(func.count()).where(BadgeShown.lat.isnot(None))),
        "uploads": db.session.scalar(select(func.count()).select_from(Upload)),
    }


def test_each_period_removes_its_details_and_no_figure_moves(history, clock, login_as, tree):
    before = figures(login_as, tree)
    assert held() == {"attempt_details": 2, "checkin_positions": 1, "badge_check_positions": 1, "uploads": 2}

    clock.move_to(T0 + dt.timedelta(hours=23))
    assert purge_personal_data()["orphan_uploads"] == 0
    clock.move_to(T0 + dt.timedelta(hours=25))
    assert purge_personal_data() == {"attempt_details": 0, "checkin_positions": 0,
                                     "badge_check_positions": 0, "orphan_uploads": 1}
    assert db.session.get(Upload, history["orphan"]) is None
    assert db.session.get(Upload, history["taken"]) is not None  # a report's photo is not an orphan
    with pytest.raises(FileNotFoundError):
        get_storage().load(history["orphan_key"])

    clock.move_to(T0 + dt.timedelta(days=29))
    assert purge_personal_data()["badge_check_positions"] == 0
    clock.move_to(T0 + dt.timedelta(days=31))
    assert purge_personal_data()["badge_check_positions"] == 1
    assert held() == {"attempt_details": 2, "checkin_positions": 1, "badge_check_positions": 0, "uploads": 1}

    clock.move_to(T0 + dt.timedelta(days=91))
    assert purge_personal_data() == {"attempt_details": 2, "checkin_positions": 1,
                                     "badge_check_positions": 0, "orphan_uploads": 0}
    assert held() == {"attempt_details": 0, "checkin_positions": 0, "badge_check_positions": 0, "uploads": 1}
    assert set(purge_personal_data().values()) == {0}  # a second run finds nothing left
    assert figures(login_as, tree) == before
    # what an attempt keeps: its result and distance, for the center's figures
    refused = db.session.scalar(select(CheckinAttempt).where(CheckinAttempt.result == "out_of_range"))
    assert refused.distance_m == pytest.approx(2224, abs=5) and refused.local_day == dt.date(2026, 11, 26)


def test_periods_are_settings(history, clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_ATTEMPT_DETAILS_DAYS", 1)
    clock.move_to(T0 + dt.timedelta(days=2))
    assert purge_personal_data()["attempt_details"] == 2


def test_the_purge_can_be_run_by_hand(history, clock, app):
    clock.move_to(T0 + dt.timedelta(days=100))
    result = app.test_cli_runner().invoke(args=["jobs", "purge-personal-data"])
    assert result.exit_code == 0, result.output
    assert "attempt_details: 2" in result.output and "orphan_uploads: 1" in result.output
