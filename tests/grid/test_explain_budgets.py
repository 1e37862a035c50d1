"""At 10^5 events, the list of a leader who can see one event is planned by
index (issue 15: it was a backwards walk of every event, removing 999,999)."""
from __future__ import annotations

from tests.grid.conftest import INSIDE_B
from tests.grid.helpers import EVENTS, reported
from tests.plans import assert_within_budget, clone, pg_only

pytestmark = pg_only


def test_a_leader_seeing_one_event_reads_by_index(leader, grid, leader_b, grid_b, count_queries):
    mine = reported(leader)
    theirs = reported(leader_b, location=INSIDE_B)
    clone("grid_events", theirs["id"])
    with count_queries() as queries:
        response = leader.get(EVENTS)
    assert response.status_code == 200
    assert [e["id"] for e in response.json["items"]] == [mine["id"]]
    assert_within_budget(queries.calls, "grid_events")


def test_the_other_leader_pages_through_history_by_index(leader_b, grid_b, count_queries):
    theirs = reported(leader_b, location=INSIDE_B)
    clone("grid_events", theirs["id"])
    with count_queries() as queries:
        response = leader_b.get(EVENTS, query_string={"limit": 20})
    assert response.status_code == 200 and len(response.json["items"]) == 20
    assert_within_budget(queries.calls, "grid_events")
