"""The grid events' per-day aggregate (grid_daily, app.grid.daily) equals a
recomputation from grid_events through a whole scripted life of events (two
communities, two categories, two report days, every kind of transition), a
failed transition leaves it unchanged, concurrent transitions of one row's
events lose no increment, and the migration's backfill builds the same rows;
/stats/grid, which reads only the aggregate, answers what the query over
every event answered before."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Float, Integer, and_, delete, func, select, text

from app.errors import ApiError
from app.extensions import db
from app.grid import lifecycle
from app.grid.models import GridDaily, GridEvent
from app.stats.sql import seconds_between
from tests.conftest import assert_error, fire
from tests.grid.conftest import INSIDE_B, T0
from tests.grid.helpers import EVENTS, act, acted, reported
from tests.migration_files import migration

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIGURES = ("events", "late", "close_microseconds", "rework", "escalations")


def recomputed() -> dict:
    """(community, Shanghai day of the report, category, state) -> figures, from the events themselves."""
    db.session.expire_all()
    rows: dict = defaultdict(lambda: [0] * len(FIGURES))
    for e in db.session.scalars(select(GridEvent)):
        row = rows[(e.community_id, e.created_at.astimezone(SHANGHAI).date(), e.category, e.state)]
        close = (e.closed_at - e.created_at) // dt.timedelta(microseconds=1) if e.closed_at else 0
        for i, figure in enumerate((1, int(e.late), close, e.rework_count, e.escalations)):
            row[i] += figure
    return dict(rows)


def aggregate() -> dict:
    """The aggregate's rows that hold anything (a row all of whose events moved on holds zeros)."""
    db.session.expire_all()
    rows = {(r.community_id, r.day, r.category, r.state): [getattr(r, f) for f in FIGURES]
            for r in db.session.scalars(select(GridDaily))}
    assert all(figure >= 0 for figures in rows.values() for figure in figures), rows
    return {key: figures for key, figures in rows.items() if any(figures)}


def before_the_aggregate(org_ids: list[int], first: dt.date, last: dt.date) -> dict:
    """The figures as /stats/grid computed them before the aggregate: over every event of the period."""
    start = dt.datetime.combine(first, dt.time(), SHANGHAI)
    end = dt.datetime.combine(last + DAY, dt.time(), SHANGHAI)
    base = (select(GridEvent).where(GridEvent.community_id.in_(org_ids), GridEvent.created_at >= start,
                                    GridEvent.created_at < end)).subquery()
    closed = base.c.state == "closed"
    by_state = dict(db.session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all())
    by_category = dict(db.session.execute(select(base.c.category, func.count()).group_by(base.c.category)).all())
    in_time, late, rework, escalations, seconds = db.session.execute(select(
        func.count().filter(and_(closed, base.c.late.is_(False))),
        func.count().filter(and_(closed, base.c.late.is_(True))),
        func.coalesce(func.sum(base.c.rework_count), 0, type_=Integer),
        func.coalesce(func.sum(base.c.escalations), 0, type_=Integer),
        func.avg(seconds_between(base.c.created_at, base.c.closed_at), type_=Float).filter(closed))).one()
    return {"events_by_state": by_state, "events_by_category": by_category, "closed_in_time": in_time,
            "closed_late": late, "average_seconds_to_close": round(float(seconds)) if seconds is not None else None,
            "rework": rework, "escalations": escalations}


def local(t: dt.datetime) -> dt.date:
    return t.astimezone(SHANGHAI).date()


@pytest.fixture
def handler(login):
    return login("o-daily-handler")


@pytest.fixture
def life(admin, leader, grid, admin_b, leader_b, resident, handler, street_admin, travel, tree):
    """Events of two communities and two categories, reported on two days,
    through every transition; the aggregate is checked against the events
    after each stretch of it."""
    checks = []

    def check(when: str) -> None:
        checks.append(when)
        assert aggregate() == recomputed(), when

    # day 1 (T0: 10:00 in Shanghai)
    closed = reported(leader, category="facilities")["id"]
    late = reported(leader, category="sanitation", urgency="urgent")["id"]
    unverified = reported(resident, category="facilities")["id"]
    rejected = reported(leader, category="sanitation")["id"]
    dup = reported(leader, category="facilities", title="重复")["id"]
    escalated = reported(leader, category="facilities", title="上报街道")["id"]
    in_b = reported(leader_b, location=INSIDE_B, category="sanitation")["id"]
    check("reported")
    acted(leader, unverified, "confirm")
    acted(admin, rejected, "reject", reason="误报")
    acted(admin, dup, "duplicate", duplicate_of=closed)
    acted(admin, escalated, "escalate", reason="需要街道")
    acted(street_admin, escalated, "escalate", reason="需要区级")
    check("confirmed, rejected, duplicate, escalated twice")
    travel(T0 + H)
    acted(admin, closed, "accept")
    acted(admin, closed, "dispatch", to_user_id=handler.user_id)
    acted(handler, closed, "return", reason="不归我管")
    acted(admin, closed, "dispatch", to_user_id=handler.user_id)
    acted(handler, closed, "take")
    acted(handler, closed, "extend", hours=4)
    acted(admin, closed, "approve_extension")
    acted(handler, closed, "resolve")
    acted(leader, closed, "verify_fail", reason="没修好")
    check("dispatched, returned, taken, extended, resolved, sent back")
    travel(T0 + 3 * H)
    acted(handler, closed, "take")
    acted(handler, closed, "resolve")
    acted(leader, closed, "verify_ok")
    travel(T0 + 5 * H)  # the urgent event's accept step (1 h) is long over: late
    acted(admin, late, "accept")
    acted(admin, late, "handle_self")
    acted(admin, late, "resolve")
    acted(leader, late, "verify_ok")
    check("closed in time after rework, closed late")
    # day 2: a report of each community, a reopen of day 1's event and a close again
    travel(T0 + DAY + 2 * H)
    second_day = reported(leader, category="sanitation")["id"]
    reported(leader_b, location=INSIDE_B, category="facilities")
    acted(admin_b, in_b, "accept")
    acted(leader, closed, "reopen")
    check("day 2: reported, accepted, reopened")
    travel(T0 + DAY + 4 * H)
    acted(admin, closed, "handle_self")
    acted(admin, closed, "resolve")
    acted(leader, closed, "verify_ok")
    acted(admin, second_day, "accept")
    check("closed again")
    return checks


def test_the_aggregate_equals_the_events_through_their_life(life, tree):
    assert len(life) == 6
    rows = aggregate()
    assert {key[0] for key in rows} == {tree.a, tree.b}
    assert {key[1] for key in rows} == {local(T0), local(T0 + DAY)}
    assert {key[2] for key in rows} == {"facilities", "sanitation"}
    assert {key[3] for key in rows} >= {"closed", "rejected", "duplicate", "reported", "accepted"}


def test_the_statistics_answer_what_the_events_answered(life, admin, street_admin, district_admin, admin_b, tree):
    periods = [(local(T0), local(T0)), (local(T0 + DAY), local(T0 + DAY)), (local(T0), local(T0 + DAY)),
               (local(T0 - DAY), local(T0 - DAY))]
    for api, org_id, communities in ((admin, tree.a, [tree.a]), (admin_b, tree.b, [tree.b]),
                                     (street_admin, tree.street, [tree.a, tree.b]),
                                     (district_admin, tree.district, [tree.a, tree.b])):
        for first, last in periods:
            response = api.get("/api/v1/stats/grid", query_string={
                "org_id": org_id, "from": first.isoformat(), "to": last.isoformat()})
            assert response.status_code == 200, response.json
            answer = {k: v for k, v in response.json.items() if k in (
                "events_by_state", "events_by_category", "closed_in_time", "closed_late",
                "average_seconds_to_close", "rework", "escalations")}
            assert answer == before_the_aggregate(communities, first, last), (org_id, first, last)
    both_days = admin.get("/api/v1/stats/grid", query_string={
        "org_id": tree.a, "from": local(T0).isoformat(), "to": local(T0 + DAY).isoformat()}).json
    assert both_days["closed_in_time"] == 1 and both_days["closed_late"] == 1
    assert both_days["rework"] == 1 and both_days["escalations"] == 2


def test_the_migration_backfill_builds_the_same_aggregate(life):
    expected = aggregate()
    assert expected == recomputed()
    db.session.execute(delete(GridDaily))
    db.session.commit()
    assert aggregate() == {}
    db.session.execute(text(migration("grid_daily_aggregate").backfill(db.engine.dialect.name)))
    db.session.commit()
    assert aggregate() == expected


def test_a_failed_transition_leaves_the_aggregate_unchanged(admin, leader, grid, street_admin, district_admin,
                                                            travel, monkeypatch):
    eid = reported(leader)["id"]
    other = reported(leader, category="sanitation")["id"]
    acted(admin, other, "accept")
    before = aggregate()
    assert before == recomputed()
    # domain errors raised by the handler, after the claim
    assert_error(act(admin, eid, "reject"), 422, "validation_failed")  # no reason
    assert_error(act(admin, eid, "duplicate", duplicate_of=eid), 422, "invalid_duplicate")
    acted(admin, eid, "escalate", reason="需要街道")
    acted(street_admin, eid, "escalate", reason="需要区级")
    before = aggregate()
    assert_error(act(district_admin, eid, "escalate", reason="再往上"), 409, "no_higher_level")
    assert aggregate() == before == recomputed()

    # an error after the aggregate moved: the rollback takes the move back too
    real_move = lifecycle.daily.move

    def move_then_fail(*args):
        real_move(*args)
        db.session.flush()
        raise ApiError()

    monkeypatch.setattr(lifecycle.daily, "move", move_then_fail)
    assert_error(act(admin, other, "handle_self"), 400, "bad_request")
    monkeypatch.undo()
    assert aggregate() == before == recomputed()
    assert db.session.get(GridEvent, other).state == "accepted"


def test_concurrent_transitions_of_one_row_lose_no_increment(live_url, admin, leader, grid, handler, tree):
    """Events of one community, day and category moving between the same
    rows at once, both ways (accepted -> dispatched and dispatched ->
    accepted): on PostgreSQL each upsert waits for the other's row lock and
    adds to what it committed; the rows are locked in one order, so opposite
    moves do not deadlock."""
    n = 12
    events = [reported(leader, title=f"并发{i}")["id"] for i in range(n)]
    url = f"{live_url}{EVENTS}/{{}}/transitions"
    responses = fire([(url.format(eid), {"action": "accept"}, admin.headers) for eid in events])
    assert Counter(r.status_code for r in responses) == {200: n}
    back = events[: n // 2]
    for eid in back:
        acted(admin, eid, "dispatch", to_user_id=handler.user_id)
    assert aggregate() == recomputed()
    calls = ([(url.format(eid), {"action": "return", "reason": "退回"}, handler.headers) for eid in back]
             + [(url.format(eid), {"action": "dispatch", "to_user_id": handler.user_id}, admin.headers)
                for eid in events[n // 2:]])
    responses = fire(calls)
    assert Counter(r.status_code for r in responses) == {200: n}, [r.text for r in responses if r.status_code != 200]
    assert aggregate() == recomputed()
    [(key, figures)] = [(k, f) for k, f in aggregate().items() if k[3] == "accepted"]
    assert key == (tree.a, local(T0), "facilities", "accepted") and figures[0] == n // 2
    assert sum(f[0] for f in aggregate().values()) == n

