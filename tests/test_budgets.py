"""Budgets of the hot paths, counted (never timed): SQL statements and Redis
round trips per check-in and per acceptance, and index use of the statistics."""
from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from sqlalchemy import select

from app.checkin.models import CheckinAttempt
from app.extensions import db

CHECKIN_SQL_BUDGET = 6
CHECKIN_REDIS_BUDGET = 4
# On PostgreSQL, with the center cached: the user, then one statement for the rest.
CHECKIN_PG_CACHED_SQL_BUDGET = 2
# A duplicate too: its attempt rides on that statement, with the first check-in it read.
CHECKIN_PG_DUPLICATE_SQL_BUDGET = 2
# An Idempotency-Key adds the durable copy of the answer (one INSERT).
IDEMPOTENT_ANSWER_SQL = 1
ACCEPT_SQL_BUDGET = 8
# On PostgreSQL: the user, the claim (place, guards, volunteer lock), the participation.
ACCEPT_PG_SQL_BUDGET = 3
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
HERE = {"lat": 21.8580, "lng": 111.9620, "accuracy": 20}


class CountingRedis:
    """Wraps the app's Redis client and counts round trips (a pipeline is one)."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def execute_command(self, *args, **kwargs):
        self.calls.append(args[0])
        return self.client.execute_command(*args, **kwargs)

    def __getattr__(self, name):
        attribute = getattr(self.client.__class__, name, None)
        if callable(attribute) and name not in ("pipeline",):
            # redis-py commands are methods that end in execute_command: bind them to us
            return attribute.__get__(self)
        return getattr(self.client, name)


@pytest.fixture
def counting_redis(app):
    original = app.extensions["redis"]
    wrapper = CountingRedis(original)
    app.extensions["redis"] = wrapper
    yield wrapper
    app.extensions["redis"] = original


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_a_checkin_stays_within_its_sql_and_redis_budget(clock, login_as, member, tree, count_queries,
                                                         counting_redis):
    admin = login_as("org_admin", tree.a)
    center = admin.post("/api/v1/centers", json={"org_id": tree.a, "name": "中心", "location": HERE}).json
    code = admin.get(f"/api/v1/centers/{center['id']}/display-code").json["qr_text"]
    scanners = [member(phone=f"1380000{i:04d}", openid=f"budget-{i}") for i in range(3)]
    for i, (scanner, keyed) in enumerate(zip(scanners, (True, False, True), strict=False)):
        db.session.expunge_all()  # a fresh request: nothing cached from the set-up
        counting_redis.calls.clear()
        with count_queries() as queries:
            response = scanner.post("/api/v1/checkins", json={"code": code, "location": HERE},
                                    headers={"Idempotency-Key": f"k-{i}"} if keyed else {})
        assert response.status_code == 201, response.json
        assert queries.count <= CHECKIN_SQL_BUDGET, queries.statements
        assert len(counting_redis.calls) <= CHECKIN_REDIS_BUDGET, counting_redis.calls
        if i and db.engine.dialect.name == "postgresql":  # the first scan cached the center
            budget = CHECKIN_PG_CACHED_SQL_BUDGET + (IDEMPOTENT_ANSWER_SQL if keyed else 0)
            assert queries.count <= budget, queries.statements
    # a duplicate costs no more
    db.session.expunge_all()
    with count_queries() as queries:
        again = scanners[0].post("/api/v1/checkins", json={"code": code, "location": HERE})
    assert again.json["status"] == "already_checked_in"
    assert queries.count <= CHECKIN_SQL_BUDGET, queries.statements
    if db.engine.dialect.name == "postgresql":
        assert queries.count <= CHECKIN_PG_DUPLICATE_SQL_BUDGET, queries.statements
        assert not [s for s in queries.statements if s.lstrip().upper().startswith("INSERT")], queries.statements
    attempts = db.session.execute(
        select(CheckinAttempt.result, CheckinAttempt.checkin_id)
        .where(CheckinAttempt.user_id == scanners[0].user_id).order_by(CheckinAttempt.id)).all()
    assert [a.result for a in attempts] == ["ok", "already_checked_in"]
    assert attempts[0].checkin_id == attempts[1].checkin_id == again.json["checkin"]["id"]
    # an exit too
    db.session.expunge_all()
    counting_redis.calls.clear()
    with count_queries() as queries:
        out = scanners[1].post("/api/v1/checkins", json={"code": code, "location": HERE, "type": "exit"})
    assert out.json["status"] == "checked_out", out.json
    assert queries.count <= CHECKIN_SQL_BUDGET, queries.statements
    assert len(counting_redis.calls) <= CHECKIN_REDIS_BUDGET, counting_redis.calls


def test_an_acceptance_stays_within_its_sql_budget(clock, login_as, login, tree, count_queries):
    admin = login_as("org_admin", tree.a)
    start = T0 + dt.timedelta(days=1)
    task = admin.post("/api/v1/tasks", json={
        "community_id": tree.a, "title": "清扫", "category": "community_service", "location": HERE,
        "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "places": 10}).json
    admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})
    volunteer = login("o-budget-volunteer")
    volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a})
    db.session.expunge_all()
    with count_queries() as queries:
        response = volunteer.post(f"/api/v1/tasks/{task['id']}/accept", json={})
    assert response.status_code == 201, response.json
    assert queries.count <= ACCEPT_SQL_BUDGET, queries.statements
    if db.engine.dialect.name == "postgresql":
        assert queries.count <= ACCEPT_PG_SQL_BUDGET, queries.statements
    # a refusal costs no more (nothing written): an overlapping task
    same_hours = admin.post("/api/v1/tasks", json={
        "community_id": tree.a, "title": "清扫", "category": "community_service", "location": HERE,
        "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "places": 10}).json
    admin.post(f"/api/v1/tasks/{same_hours['id']}/publish", json={})
    db.session.expunge_all()
    with count_queries() as queries:
        refused = volunteer.post(f"/api/v1/tasks/{same_hours['id']}/accept", json={})
    assert refused.json["error"]["code"] == "schedule_conflict", refused.json
    assert queries.count <= ACCEPT_SQL_BUDGET, queries.statements
    if db.engine.dialect.name == "postgresql":
        assert queries.count <= ACCEPT_PG_SQL_BUDGET, queries.statements


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="EXPLAIN plans are PostgreSQL's")
def test_statistics_never_scan_the_checkin_table(app, login_as, tree, count_queries):
    admin = login_as("district_admin", tree.district)
    with count_queries() as queries:
        response = admin.get("/api/v1/stats/checkins",
                             query_string={"org_id": tree.district, "from": "2026-01-01", "to": "2026-12-31"})
    assert response.status_code == 200
    stats_calls = [(s, p) for s, p in queries.calls if "checkin_daily_counts" in s]
    assert stats_calls, queries.statements
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: is there an index path?
        for statement, parameters in stats_calls:
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "Seq Scan on checkins" not in plan, plan
            assert "Seq Scan on checkin_daily_counts" not in plan, plan
