"""At 10^5 rows of history, the statistics are planned by index from the
subtree's communities (issue 15: /stats/volunteers scanned the whole ledger
and every participation, the subtree applied after the join), whether the
history lies in the district asked about or in another one."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.orgs.services import create_root, insert_node
from app.tasks.models import HoursEntry
from tests.grid import conftest as grid_conftest
from tests.grid.conftest import INSIDE_B, T0
from tests.grid.helpers import reported
from tests.plans import HISTORY, assert_within_budget, clone, pg_only
from tests.stats.test_volunteers import day
from tests.tasks import conftest
from tests.tasks.conftest import START

pytestmark = pg_only
clock, make_task, volunteer, served = conftest.clock, conftest.make_task, conftest.volunteer, conftest.served
categories, grid, grid_b, leader, leader_b, make_grid, make_leader, resident = (
    grid_conftest.categories, grid_conftest.grid, grid_conftest.grid_b, grid_conftest.leader,
    grid_conftest.leader_b, grid_conftest.make_grid, grid_conftest.make_leader, grid_conftest.resident)
# what one request may read of each grown table: its own period's rows, never the history around them
GROWN = ("hours_ledger", "participations", "tasks", "volunteer_daily")
EARLIER = "g * interval '1 day'"  # each copy a day before the last: history, outside the period


def _grow_history(community_id: int, participation_id: int, task_id: int) -> None:
    """10^5 tasks, confirmed participations, ledger credits and days of figures
    in ``community_id``, all before the period asked about."""
    clone("tasks", task_id, community_id=str(community_id), starts_at=f"t.starts_at - {EARLIER}",
          ends_at=f"t.ends_at - {EARLIER}", help_request_id="NULL")
    clone("participations", participation_id, task_id="(SELECT max(id) FROM tasks) - g + 1",
          confirmed_at=f"t.confirmed_at - {EARLIER}")
    entry = db.session.scalar(select(HoursEntry.id).where(HoursEntry.participation_id == participation_id))
    clone("hours_ledger", entry, community_id=str(community_id), created_at=f"t.created_at - {EARLIER}")
    db.session.execute(text(
        "INSERT INTO volunteer_daily (community_id, day, hours, person_times, score_sum, score_count) "
        f"SELECT {community_id}, CAST(:day AS DATE) - g, 1.5, 1, 5, 1 FROM generate_series(1, {HISTORY}) AS g"),
        {"day": START.date()})
    db.session.execute(text("ANALYZE volunteer_daily"))
    db.session.commit()


@pytest.mark.parametrize("whose", ["the district's own", "another district's"])
def test_volunteer_statistics_read_by_index_whatever_the_history(whose, served, admin, login_as, tree,
                                                                 count_queries):
    assert admin.post(f"{served.url}/confirm", json={"score": 5}).status_code == 200
    if whose == "the district's own":
        community_id = tree.a
    else:
        other = create_root("district", "思明区")
        community_id = insert_node("community", "鹭江社区", insert_node("street", "鹭江街道", other)).id
        db.session.commit()
    _grow_history(community_id, served.participation["id"], served.task.id)
    district = login_as("district_admin", tree.district)
    with count_queries() as queries:
        response = district.get("/api/v1/stats/volunteers", query_string={
            "org_id": tree.district, "from": day(START), "to": day(START + dt.timedelta(days=1))})
    assert response.status_code == 200, response.json
    assert (response.json["hours"], response.json["person_times"], response.json["average_rating"]) == (1.5, 1, 5.0)
    checked = 0
    for table in GROWN:
        if any(table in statement for statement, _ in queries.calls):
            checked += assert_within_budget(queries.calls, table)
    assert checked


@pytest.mark.parametrize("whose", ["the community's own", "another community's"])
def test_grid_statistics_read_the_daily_aggregate_by_index_whatever_the_history(
        whose, leader, grid, leader_b, grid_b, login_as, tree, count_queries):
    """10^5 past events and 10^5 days of their figures: the statistics read
    the period's rows of grid_daily by its key, and never grid_events."""
    mine = reported(leader)
    theirs = reported(leader_b, location=INSIDE_B)
    template, community_id = (mine, tree.a) if whose == "the community's own" else (theirs, tree.b)
    clone("grid_events", template["id"], created_at=f"t.created_at - {EARLIER}")
    db.session.execute(text(
        "INSERT INTO grid_daily (community_id, day, category, state, events, late, close_microseconds, rework, "
        f"escalations) SELECT {community_id}, CAST(:day AS DATE) - g, 'facilities', 'closed', 3, 1, 36000000000, "
        f"1, 0 FROM generate_series(1, {HISTORY}) AS g"), {"day": day(T0)})
    db.session.execute(text("ANALYZE grid_daily"))
    db.session.commit()
    with count_queries() as queries:
        response = login_as("district_admin", tree.district).get("/api/v1/stats/grid", query_string={
            "org_id": tree.a, "from": day(T0), "to": day(T0 + dt.timedelta(days=1))})
    assert response.status_code == 200, response.json
    assert response.json["events_by_state"] == {"reported": 1} and response.json["closed_late"] == 0
    assert not [statement for statement, _ in queries.calls if "grid_events" in statement]
    assert_within_budget(queries.calls, "grid_daily")
