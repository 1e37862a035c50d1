"""``GET /tasks?near=`` on PostgreSQL: the GiST index of earth points walked
nearest first (app/common/near.py), so a page costs its own rows, not the
tasks in the radius (issue: 10^5 past tasks within the radius made every
page rank all of them, 12 ms → 107 ms).

The paging test runs on both backends (SQLite: the equirectangular query);
the plans are PostgreSQL's, in CI's PostgreSQL run."""
from __future__ import annotations

import json
import math
import random

import pytest
from sqlalchemy import Float, select

from app.common.geo import Point, distance_m
from app.common.near import _cube_of, earth_point
from app.common.pagination import _encode
from app.extensions import db
from app.tasks.models import Task
from tests.plans import _nodes, assert_within_budget, clone, pg_only
from tests.tasks.conftest import HERE, near

URL = "/api/v1/tasks"
RADIUS = 1_500
CENTER = Point(HERE["lat"], HERE["lng"])


@pytest.fixture
def crowded(make_task):
    """40 tasks up to 1.5 × RADIUS away, none within 1 % of the edge, and
    ties: 9 at the asked point itself, 6 at one spot 400 m away, 5 at one
    spot outside the radius (in the bounding box's corner)."""
    rng = random.Random(7)
    spots = [(0.0, 0.0)] * 9 + [(-240.0, 320.0)] * 6 + [(1_200.0, 1_200.0)] * 5
    while len(spots) < 60:
        r, angle = rng.uniform(0, 1.5 * RADIUS), rng.uniform(0, 2 * math.pi)
        if abs(r - RADIUS) > RADIUS / 100:
            spots.append((r * math.cos(angle), r * math.sin(angle)))
    rng.shuffle(spots)  # ids of one spot not consecutive
    tasks = {}
    for north, east in spots:
        task = make_task(location=near(north, east))
        tasks[task.id] = distance_m(CENTER, Point(task.location["lat"], task.location["lng"]))
    return tasks


def _pages(api, limit: int) -> list[dict]:
    seen, cursor, pages = [], None, 0
    while True:
        page = api.get(URL, query_string={"near": f"{HERE['lat']},{HERE['lng']}", "radius_m": RADIUS,
                                          "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.json
        assert len(page.json["items"]) <= limit
        seen += page.json["items"]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            assert pages > 1 or limit >= len(seen)
            return seen


@pytest.mark.parametrize("limit", [1, 4, 7])
def test_pages_hold_every_task_inside_once_nearest_first_ties_by_id(crowded, volunteer, limit):
    seen = _pages(volunteer(), limit)
    ids = [t["id"] for t in seen]
    inside = {i for i, d in crowded.items() if d <= RADIUS}
    assert len(ids) == len(set(ids)) and set(ids) == inside
    keys = [(crowded[t["id"]], t["id"]) for t in seen]
    distances = [t["distance_m"] for t in seen]
    assert distances == sorted(distances)
    assert keys == sorted(keys, key=lambda k: (round(k[0], 3), k[1]))
    for t in seen:
        assert t["distance_m"] == pytest.approx(crowded[t["id"]], rel=0.005, abs=2)
    here = [t["id"] for t in seen[:9]]  # the nine at the point itself, across pages
    assert here == sorted(i for i, d in crowded.items() if d < 1) and {t["distance_m"] for t in seen[:9]} == {0}


# --- PostgreSQL plans at history size --------------------------------------

SIDE = 317  # 10^5 clones on a SIDE × SIDE grid within ±0.005° of HERE (bench/history.py's spread)
NORTH = f"((g % {SIDE}) - {SIDE // 2}) * (0.01 / {SIDE})"
EAST = f"((g / {SIDE}) - {SIDE // 2}) * (0.01 / {SIDE})"


@pytest.fixture
def history(make_task):
    """A published task here; 10^5 completed copies of one 50 m away, all
    inside the default 10 km (and inside 1 km)."""
    here = make_task(location=near(0)).id
    template = make_task(location=near(50, 0)).id
    clone("tasks", template, lat=f"t.lat + {NORTH}", lng=f"t.lng + {EAST}", state="'completed'",
          starts_at="t.starts_at - g * interval '1 minute'", ends_at="t.ends_at - g * interval '1 minute'")
    return here


def _plans(calls) -> list[dict]:
    plans = []
    with db.engine.connect() as connection:
        for statement, parameters in calls:
            if statement.lstrip().upper().startswith("SELECT") and "FROM tasks" in statement:
                raw = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                                                 parameters).all()[0][0]
                plans.append((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])
    return plans


def _assert_walks_the_earth_index(calls, rows_at_most: int) -> None:
    """The tasks are read by an ordered scan of ix_tasks_earth that stops
    after at most ``rows_at_most`` rows (no sort of the radius's rows)."""
    plans = _plans(calls)
    assert plans, "no statement read tasks"
    for plan in plans:
        scans = [n for n in _nodes(plan) if n.get("Relation Name") == "tasks"]
        assert [n["Node Type"] for n in scans] == ["Index Scan"], json.dumps(plan, indent=1)[:3000]
        scan = scans[0]
        assert scan["Index Name"] == "ix_tasks_earth" and "Order By" in scan, json.dumps(scan, indent=1)
        read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
        assert read <= rows_at_most, (read, json.dumps(plan, indent=1)[:3000])


def _near(api, **query):
    return api.get(URL, query_string={"near": f"{HERE['lat']},{HERE['lng']}", **query})


@pg_only
def test_the_first_page_reads_its_rows_not_the_history(history, volunteer, count_queries):
    v = volunteer()
    for query in ({}, {"radius_m": 1_000}, {"limit": 50}):
        with count_queries() as queries:
            response = _near(v, **query)
        assert response.status_code == 200, response.json
        items = response.json["items"]
        assert items[0]["id"] == history and items[0]["distance_m"] == 0
        assert len(items) == query.get("limit", 20) and response.json["next_cursor"]
        assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
        assert_within_budget(queries.calls, "tasks")
        _assert_walks_the_earth_index(queries.calls, rows_at_most=2 * query.get("limit", 20) + 10)


def _in_order():
    """(chord, id) of every listed task, the order the list pages in."""
    chord = earth_point(Task.lat, Task.lng).op("<->", return_type=Float)(_cube_of(CENTER))
    return select(chord.label("chord"), Task.id).where(Task.state != "draft").order_by(chord, Task.id)


@pg_only
@pytest.mark.parametrize("depth", [200, 800])
def test_a_deeper_page_reads_the_rows_before_it_not_the_history(history, volunteer, count_queries, depth):
    """The page after the ``depth``-th task: the index walks from the nearest
    and the cursor drops the ``depth`` rows before it (no index seeks to a
    distance), so the page costs its depth, never the 10^5 rows inside."""
    last = db.session.execute(_in_order().offset(depth - 1).limit(1)).one()
    following = [row.id for row in db.session.execute(_in_order().offset(depth).limit(20))]
    v = volunteer()
    with count_queries() as queries:
        response = _near(v, cursor=_encode([last.chord, last.id]))
    assert response.status_code == 200, response.json
    assert [i["id"] for i in response.json["items"]] == following
    assert_within_budget(queries.calls, "tasks")
    _assert_walks_the_earth_index(queries.calls, rows_at_most=depth + 2 * 20 + 10)


@pg_only
def test_the_last_page_stops_at_the_radius(history, volunteer, count_queries):
    """A radius of 10 m holds some 25 of the 10^5 tasks around: the one page
    stops after the first rows beyond it (the box's corners, and every row
    further, are not read)."""
    v = volunteer()
    with count_queries() as queries:
        response = _near(v, radius_m=10, limit=50)
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert items and all(i["distance_m"] <= 10 for i in items) and response.json["next_cursor"] is None
    assert_within_budget(queries.calls, "tasks")
    _assert_walks_the_earth_index(queries.calls, rows_at_most=2 * 50 + 10)


@pg_only
def test_a_crowd_at_one_address_stays_in_the_database(make_task, volunteer, count_queries):
    """Many tasks at one community's address tie on distance: the walk keeps
    them all (WITH TIES) but only the page's rows leave the database (the
    benchmark's 5,000 tasks at one point took 285 ms when all came back)."""
    template = make_task(location=near(0)).id
    clone("tasks", template, n=2_000)
    v = volunteer()
    with count_queries() as queries:
        response = _near(v, limit=5)
    assert response.status_code == 200, response.json
    assert [i["distance_m"] for i in response.json["items"]] == [0] * 5
    ids = [i["id"] for i in response.json["items"]]
    assert ids == sorted(ids) and response.json["next_cursor"]
    plans = _plans(queries.calls)
    assert plans and all(plan["Actual Rows"] <= 6 for plan in plans), [p["Actual Rows"] for p in plans]
