"""At 10^5 tasks, ``GET /tasks`` is planned by index, with or without
``near`` (issue 15: without ``near`` every request sorted all tasks; with
it, 2,000 rows of the bounding box were taken in no order)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.common.pagination import _encode
from app.extensions import db
from app.tasks.models import Task
from tests.plans import assert_within_budget, clone, pg_only
from tests.tasks.conftest import HERE, near

pytestmark = pg_only

URL = "/api/v1/tasks"
SIDE = 316  # clones on a SIDE × SIDE grid ...
STEP_M = 280  # ... this far apart: 88 km across, some 5,000 in the default 10 km's box
# the copy number g as a grid cell (north, east), in metres from the template
NORTH = f"((g % {SIDE}) - {SIDE // 2}) * {STEP_M}"
EAST = f"((g / {SIDE}) - {SIDE // 2}) * {STEP_M}"
# every non-draft state in turn, a start a minute after the last
STATE = "(ARRAY['published', 'in_progress', 'completed', 'cancelled'])[g % 4 + 1]"


@pytest.fixture
def history(make_task):
    """A task right here, and 10^5 copies of one 150 m away spread around it."""
    here = make_task(location=near(0)).id
    template = make_task(location=near(150, 150), category="errands").id
    clone("tasks", template, lat=f"t.lat + {NORTH} / 111195.0",
          lng=f"t.lng + {EAST} / (111195.0 * cos(radians(t.lat)))",
          starts_at="t.starts_at + g * interval '1 minute'",
          ends_at="t.ends_at + g * interval '1 minute'", state=STATE)
    return here


def test_near_with_few_tasks_inside_reads_by_index(history, volunteer, count_queries):
    v = volunteer()
    with count_queries() as queries:
        response = v.get(URL, query_string={"near": f"{HERE['lat']},{HERE['lng']}", "radius_m": 1_000})
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert items[0]["id"] == history and items[0]["distance_m"] == 0
    assert 10 < len(items) <= 20 and all(i["distance_m"] <= 1_000 for i in items)
    assert_within_budget(queries.calls, "tasks")


def test_near_by_default_starts_with_the_nearest(history, volunteer, count_queries):
    """Some 4,000 tasks within 10 km: the first page is the nearest of them all
    (the 2,000 rows of the box the old list ranked were its first in the index
    or on disk: not these). The box's corners, outside the circle, are a fifth
    of its rows: the filter removes those, about 1,100."""
    v = volunteer()
    with count_queries() as queries:
        response = v.get(URL, query_string={"near": f"{HERE['lat']},{HERE['lng']}", "limit": 5})
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert items[0]["id"] == history
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
    assert items[-1]["distance_m"] < 600
    assert_within_budget(queries.calls, "tasks", removed_at_most=1_500)


@pytest.mark.parametrize("query", [{}, {"category": "errands"}, {"state": "completed"}])
def test_the_list_and_its_next_page_read_by_index(history, volunteer, count_queries, query):
    v = volunteer()
    with count_queries() as first:
        response = v.get(URL, query_string={"limit": 20, **query})
    assert response.status_code == 200 and len(response.json["items"]) == 20
    cursor = response.json["next_cursor"]
    with count_queries() as second:
        following = v.get(URL, query_string={"limit": 20, "cursor": cursor, **query})
    assert following.status_code == 200 and len(following.json["items"]) == 20
    starts = [i["starts_at"] for i in response.json["items"] + following.json["items"]]
    assert starts == sorted(starts)
    assert_within_budget(first.calls, "tasks")
    assert_within_budget(second.calls, "tasks")


def test_a_deep_page_seeks_into_the_index(history, volunteer, count_queries):
    """The page after the 60,000th task costs what the second page costs: the
    cursor is a row-value comparison PostgreSQL seeks with (an OR of the
    columns' steps walked and dropped every earlier row)."""
    in_order = select(Task.starts_at, Task.id).where(Task.state != "draft").order_by(Task.starts_at, Task.id)
    deep = db.session.execute(in_order.offset(60_000).limit(1)).one()
    following = [row.id for row in db.session.execute(in_order.offset(60_001).limit(20))]
    v = volunteer()
    with count_queries() as queries:
        response = v.get(URL, query_string={"limit": 20, "cursor": _encode([deep.starts_at, deep.id])})
    assert response.status_code == 200
    assert [i["id"] for i in response.json["items"]] == following
    assert_within_budget(queries.calls, "tasks")
