"""The daily aggregate the volunteer statistics read (volunteer_daily) equals
the ledger and the confirmations, by community and Shanghai day, through
corrections and concurrent confirmations (which add to one row at once)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text

from app.extensions import db
from app.tasks.models import HoursEntry, Participation, Task, VolunteerDaily
from tests.conftest import fire
from tests.migration_files import migration
from tests.tasks import conftest
from tests.tasks.conftest import HERE, START

P = "/api/v1/participations"
SHANGHAI = ZoneInfo("Asia/Shanghai")
clock, make_task, volunteer = conftest.clock, conftest.make_task, conftest.volunteer


def _from_the_ledger() -> dict:
    """(community, day) -> [hours, person-times, score sum, scores], from the raw rows."""
    db.session.expire_all()
    figures: dict = defaultdict(lambda: [Decimal("0.00"), 0, 0, 0])
    for community_id, hours, created_at in db.session.execute(
            select(HoursEntry.community_id, HoursEntry.hours, HoursEntry.created_at)):
        figures[(community_id, created_at.astimezone(SHANGHAI).date())][0] += Decimal(hours)
    for community_id, score, confirmed_at in db.session.execute(
            select(Task.community_id, Participation.score, Participation.confirmed_at)
            .join(Task, Task.id == Participation.task_id).where(Participation.state == "confirmed")):
        row = figures[(community_id, confirmed_at.astimezone(SHANGHAI).date())]
        row[1] += 1
        row[2] += score or 0
        row[3] += score is not None
    return dict(figures)


def _aggregate() -> dict:
    db.session.expire_all()
    return {(r.community_id, r.day): [Decimal(r.hours).quantize(Decimal("0.01")), r.person_times, r.score_sum,
                                      r.score_count]
            for r in db.session.scalars(select(VolunteerDaily))}


def test_corrections_and_concurrent_confirmations_keep_the_aggregate_equal_to_the_ledger(
        live_url, make_task, volunteer, admin, travel, tree):
    task = make_task(places=8, hours_credited=1.5)
    vs = [volunteer() for _ in range(8)]
    for v in vs:
        assert v.post(f"/api/v1/tasks/{task.id}/accept", json={}).status_code == 201
    travel(START)
    for v in vs:
        assert v.post(f"/api/v1/tasks/{task.id}/check-in", json={"location": HERE}).status_code == 200
    travel(START + dt.timedelta(minutes=75))
    for v in vs:
        assert v.post(f"/api/v1/tasks/{task.id}/check-out", json={"location": HERE}).status_code == 200
    ids = [p["id"] for p in admin.get(f"/api/v1/tasks/{task.id}/participants").json["items"]]
    assert _aggregate() == {}
    # every confirmation at once, each twice (a double tap credits once): all add to one day's row
    calls = [(f"{live_url}{P}/{pid}/confirm", {"score": 1 + i % 5}, admin.headers)
             for i, pid in enumerate(ids) for _ in range(2)]
    assert Counter(r.status_code for r in fire(calls)) == {200: 8, 409: 8}
    assert _aggregate() == _from_the_ledger()
    [(key, (hours, times, score_sum, rated))] = _aggregate().items()
    assert key == (tree.a, START.astimezone(SHANGHAI).date())
    assert (hours, times, score_sum, rated) == (Decimal("10.00"), 8, sum(1 + i % 5 for i in range(8)), 8)
    # corrections, at once, up and down, on a later day: they count on the day they are written
    travel(START + dt.timedelta(days=2))
    calls = [(f"{live_url}{P}/{pid}/corrections", {"hours": h, "reason": "核实"}, admin.headers)
             for pid, h in zip(ids, (2, 0.5, 3, 1, 1.25, 0, 2.5, 1.33), strict=True)]
    assert Counter(r.status_code for r in fire(calls)) == {201: 8}
    calls = [(f"{live_url}{P}/{ids[0]}/corrections", {"hours": 4, "reason": "补录"}, admin.headers)] * 5
    assert Counter(r.status_code for r in fire(calls)) == {201: 5}
    assert _aggregate() == _from_the_ledger()
    later = _aggregate()[(tree.a, (START + dt.timedelta(days=2)).astimezone(SHANGHAI).date())]
    assert later[1:] == [0, 0, 0]  # corrections are no person-times and no ratings
    stats = admin.get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": START.astimezone(SHANGHAI).date().isoformat(),
        "to": (START + dt.timedelta(days=2)).astimezone(SHANGHAI).date().isoformat()}).json
    ledger_total = sum((r[0] for r in _from_the_ledger().values()), Decimal("0"))
    assert Decimal(str(stats["hours"])) == ledger_total == Decimal("4") + Decimal("0.5") + 3 + 1 + Decimal("1.25") \
        + 0 + Decimal("2.5") + Decimal("1.33")
    assert stats["person_times"] == 8
    # the migration's backfill, from the same rows, builds the same aggregate
    expected = _aggregate()
    db.session.execute(delete(VolunteerDaily))
    db.session.execute(text(migration("volunteer_daily").backfill(db.engine.dialect.name)))
    db.session.commit()
    assert _aggregate() == expected

