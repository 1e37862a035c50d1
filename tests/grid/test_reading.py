"""Reading grid events: who sees what, the filters, possible duplicates and
following, keyset pagination, and a query count that does not grow with the page."""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest

from app.common.geo import Point, distance_m
from tests.conftest import assert_error
from tests.grid.conftest import INSIDE, INSIDE_A2, INSIDE_B, SQUARE_A2, T0
from tests.grid.helpers import EVENTS, acted, ids, offset, report, reported, upload_id


@pytest.fixture
def world(admin, grid, leader, make_grid, make_leader, tree, admin_b, grid_b, leader_b, resident):
    """Events in grid A1 (by its leader and by a resident), in grid A2, and in B's grid."""
    grid_a2 = make_grid(admin, tree.a, "第二网格", SQUARE_A2)
    leader_a2 = make_leader(admin, grid_a2.id, openid="o-leader-a2")
    a1 = reported(leader)["id"]
    r1 = reported(resident, category="sanitation", title="垃圾没人清")["id"]
    a2 = reported(leader_a2, location=INSIDE_A2, category="safety", title="井盖缺失")["id"]
    b1 = reported(leader_b, location=INSIDE_B)["id"]
    return SimpleNamespace(a1=a1, r1=r1, a2=a2, b1=b1, grid_a2=grid_a2, leader_a2=leader_a2)


# ---- visibility ----------------------------------------------------------------------------

def test_who_sees_what(world, admin, admin_b, street_admin, leader, leader_b, resident, login):
    w = world
    assert ids(admin.get(EVENTS)) == [w.a2, w.r1, w.a1]  # newest first
    assert ids(admin_b.get(EVENTS)) == [w.b1]
    assert ids(street_admin.get(EVENTS)) == [w.b1, w.a2, w.r1, w.a1]
    assert ids(leader.get(EVENTS)) == [w.r1, w.a1]  # their grid only
    assert ids(w.leader_a2.get(EVENTS)) == [w.a2]
    assert ids(leader_b.get(EVENTS)) == [w.b1]
    assert ids(resident.get(EVENTS)) == [w.r1]  # their own reports
    assert ids(login("o-nobody").get(EVENTS)) == []
    # one event at a time: the same answer
    for api, visible in [(admin, {w.a1, w.r1, w.a2}), (admin_b, {w.b1}), (leader, {w.a1, w.r1}),
                         (resident, {w.r1})]:
        for eid in (w.a1, w.r1, w.a2, w.b1):
            response = api.get(f"{EVENTS}/{eid}")
            if eid in visible:
                assert response.status_code == 200, response.json
            else:
                assert_error(response, 404, "not_found")
                assert_error(api.get(f"{EVENTS}/{eid}/timeline"), 404, "not_found")


def test_assigned_to_a_person_or_an_org(world, admin, login, login_as, tree):
    w = world
    handler = login("o-handler")
    branch_admin = login_as("org_admin", tree.a1)
    assert ids(handler.get(EVENTS)) == []
    acted(admin, w.a1, "accept")
    acted(admin, w.a1, "dispatch", to_user_id=handler.user_id)
    acted(admin, w.a2, "accept")
    acted(admin, w.a2, "dispatch", to_org_id=tree.a1)
    assert ids(handler.get(EVENTS)) == [w.a1]
    assert ids(handler.get(f"{EVENTS}?assigned=true")) == [w.a1]
    assert handler.get(f"{EVENTS}/{w.a1}").json["allowed_actions"] == ["take", "return"]
    assert ids(branch_admin.get(EVENTS)) == [w.a2]
    assert ids(branch_admin.get(f"{EVENTS}?assigned=true")) == [w.a2]
    # the community admin's subtree holds the branch: assigned to them too, not the person's
    assert ids(admin.get(f"{EVENTS}?assigned=true")) == [w.a2]
    assert ids(handler.get(f"{EVENTS}?assigned=true&state=in_progress")) == []
    acted(handler, w.a1, "take")
    assert ids(handler.get(f"{EVENTS}?assigned=true&state=in_progress")) == [w.a1]


# ---- filters ----------------------------------------------------------------------------------------

def test_filters(world, admin, street_admin, leader, resident, tree):
    w = world
    assert ids(admin.get(f"{EVENTS}?state=unverified")) == [w.r1]
    assert ids(admin.get(f"{EVENTS}?state=reported")) == [w.a2, w.a1]
    assert ids(admin.get(f"{EVENTS}?category=safety")) == [w.a2]
    assert ids(admin.get(f"{EVENTS}?category=sanitation&state=unverified")) == [w.r1]
    assert ids(admin.get(f"{EVENTS}?grid_id={w.grid_a2.id}")) == [w.a2]
    assert ids(leader.get(f"{EVENTS}?grid_id={w.grid_a2.id}")) == []  # not theirs
    assert ids(street_admin.get(f"{EVENTS}?community_id={tree.b}")) == [w.b1]
    assert ids(admin.get(f"{EVENTS}?community_id={tree.b}")) == []  # a filter, not a window
    assert ids(admin.get(f"{EVENTS}?mine=true")) == []
    assert ids(leader.get(f"{EVENTS}?mine=true")) == [w.a1]
    assert ids(resident.get(f"{EVENTS}?mine=true")) == [w.r1]
    for bad in ("state=lost", "grid_id=abc", "near=1", "near=91,0", "radius_m=5", "overdue=maybe", "limit=101"):
        assert_error(admin.get(f"{EVENTS}?{bad}"), 422, "validation_failed")


def test_near(admin, leader, grid):
    spots = {"here": (0, 0), "north_150": (150, 0), "east_180": (0, 180), "corner": (180, 180),
             "south_900": (-900, 0)}
    made = {name: reported(leader, location=offset(INSIDE, *ne), category="other")["id"]
            for name, ne in spots.items()}

    def near(radius: int) -> set:
        return {name for name, eid in made.items()
                if eid in ids(admin.get(f"{EVENTS}?near={INSIDE['lat']},{INSIDE['lng']}&radius_m={radius}"))}

    assert near(100) == {"here"}
    # the corner is 255 m away: inside a 200 m box, but not within 200 m
    assert near(200) == {"here", "north_150", "east_180"}
    assert near(300) == {"here", "north_150", "east_180", "corner"}
    assert near(1000) == set(made)
    # default radius: 1 km
    default = ids(admin.get(f"{EVENTS}?near={INSIDE['lat']},{INSIDE['lng']}"))
    assert set(default) == set(made.values())


def test_overdue(world, admin, travel):
    w = world
    travel(T0 + dt.timedelta(hours=25))
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == [w.a2, w.r1, w.a1]
    acted(admin, w.a1, "accept")
    assert ids(admin.get(f"{EVENTS}?overdue=true")) == [w.a2, w.r1]
    assert ids(admin.get(f"{EVENTS}?overdue=true&grid_id={w.grid_a2.id}")) == [w.a2]


# ---- possible duplicates and following ---------------------------------------------------------------

def dup_ids(response) -> list[int]:
    assert response.status_code == 201, response.json
    return [e["id"] for e in response.json["possible_duplicates"]]


def test_possible_duplicates(admin, leader, grid, resident, travel):
    first = reported(leader)["id"]  # facilities at INSIDE, T0
    # the grid's leader sees the events of the grid: theirs and others'
    near_north = report(leader, location=offset(INSIDE, 80), title="路灯坏了")
    assert dup_ids(near_north) == [first]
    near_id = near_north.json["event"]["id"]
    shown = near_north.json["possible_duplicates"][0]
    assert shown["title"] == "路灯不亮" and shown["state"] == "reported"
    assert shown["allowed_actions"] == []  # a list, never null
    # nearest first
    mine = reported(resident, location=offset(INSIDE, 60))["id"]
    assert dup_ids(report(leader, location=offset(INSIDE, 70))) == [near_id, mine, first]
    # 150 m south: too far from all of them
    assert dup_ids(report(leader, location=offset(INSIDE, -150))) == []
    # another category at the same spot
    assert dup_ids(report(leader, category="sanitation")) == []
    # closed ones are not duplicates
    acted(admin, first, "reject", reason="误报")
    assert first not in dup_ids(report(leader, location=offset(INSIDE, 5, 5)))


def test_possible_duplicates_name_only_events_the_reporter_may_see(leader, grid, resident, login):
    theirs = reported(leader, title="三号楼路灯不亮")  # the leader's event at INSIDE
    response = report(resident, location=offset(INSIDE, 20))
    # a resident is not shown another reporter's event, nor its id or title
    assert dup_ids(response) == []
    assert theirs["title"] not in response.get_data(as_text=True)
    # their own earlier report, they are shown
    own = response.json["event"]["id"]
    assert dup_ids(report(resident, location=offset(INSIDE, 30))) == [own]
    assert dup_ids(report(login("o-passer-by"), location=INSIDE)) == []


def test_possible_duplicates_only_from_the_last_7_days(leader, grid, travel):
    first = reported(leader)["id"]
    travel(T0 + dt.timedelta(days=7))
    assert first in dup_ids(report(leader, title="还在"))  # exactly 7 days: still counted
    travel(T0 + dt.timedelta(days=7, seconds=1))
    assert first not in dup_ids(report(leader, title="又来"))


def test_follow_adds_a_voice(admin, leader, grid, login, login_as, resident, tree):
    eid = reported(admin)["id"]
    followed = leader.post(f"{EVENTS}/{eid}/follow", json={"note": "我家门口也是"})
    assert followed.status_code == 200, followed.json
    assert followed.json["followers"] == 1 and followed.json["id"] == eid
    assert followed.json["allowed_actions"] == []  # a list, never null
    again = leader.post(f"{EVENTS}/{eid}/follow", json={})
    assert again.status_code == 200 and again.json["followers"] == 1  # one voice per person
    assert login_as("org_admin", tree.a).post(f"{EVENTS}/{eid}/follow", json={}).json["followers"] == 2
    assert leader.get(f"{EVENTS}/{eid}").json["followers"] == 2
    assert_error(leader.post(f"{EVENTS}/999999/follow", json={}), 404, "not_found")
    assert_error(leader.post(f"{EVENTS}/{eid}/follow", json={"note": "x" * 501}), 422, "validation_failed")
    acted(admin, eid, "reject", reason="不属于网格")
    assert_error(login_as("org_admin", tree.a).post(f"{EVENTS}/{eid}/follow", json={}), 404, "not_found")


def test_following_an_event_you_cannot_see_is_not_found(admin, leader, grid, login, resident, admin_b):
    eid = reported(leader)["id"]
    neighbour = login("o-neighbour")
    reported(neighbour, category="sanitation")  # someone of this community, with a report of their own
    for stranger in (neighbour, resident, admin_b, login("o-nobody")):
        assert_error(stranger.get(f"{EVENTS}/{eid}"), 404, "not_found")
        error = assert_error(stranger.post(f"{EVENTS}/{eid}/follow", json={"note": "我也是"}), 404, "not_found")
        # exactly the answer for an event that does not exist
        assert error == assert_error(stranger.post(f"{EVENTS}/999999/follow", json={}), 404, "not_found")
        assert_error(stranger.get(f"{EVENTS}/{eid}"), 404, "not_found")  # following gave them nothing
    assert admin.get(f"{EVENTS}/{eid}").json["followers"] == 0


# ---- pagination and cost -------------------------------------------------------------------------------

def test_keyset_pagination(admin, leader, grid):
    made = [reported(leader, title=f"事件 {i}")["id"] for i in range(25)]
    seen, cursor, pages = [], None, 0
    while True:
        response = admin.get(f"{EVENTS}?limit=10" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        seen += ids(response)
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(made, reverse=True)
    # a filter and a cursor together
    first = admin.get(f"{EVENTS}?limit=2&state=reported").json
    second = admin.get(f"{EVENTS}?limit=2&state=reported&cursor={first['next_cursor']}").json
    assert [e["id"] for e in first["items"] + second["items"]] == sorted(made, reverse=True)[:4]
    assert_error(admin.get(f"{EVENTS}?cursor=not-a-cursor"), 422, "validation_failed")


def _events_with_photos(leader, n: int) -> list[int]:
    return [reported(leader, title=f"事件 {i}", photo_ids=[upload_id(leader)])["id"] for i in range(n)]


@pytest.mark.parametrize("viewer", ["admin", "leader", "street_admin"])
def test_list_cost_does_not_grow_with_the_page(request, admin, leader, grid, count_queries, viewer):
    api = request.getfixturevalue(viewer)
    _events_with_photos(leader, 3)
    api.get(EVENTS)  # warm up: the same state for both
    with count_queries() as few:
        response = api.get(EVENTS)
    assert len(response.json["items"]) == 3
    _events_with_photos(leader, 12)
    api.get(EVENTS)
    with count_queries() as many:
        response = api.get(EVENTS)
    assert len(response.json["items"]) == 15
    assert all(len(e["photos"]) == 1 for e in response.json["items"])
    assert many.count == few.count, (few.statements, many.statements)


def test_timeline_cost_does_not_grow(admin, leader, grid, count_queries, login):
    small, big = reported(leader)["id"], reported(leader, category="sanitation")["id"]
    for eid, n in ((small, 1), (big, 6)):
        for i in range(n):
            assert admin.post(f"{EVENTS}/{eid}/comments", json={"body": f"第 {i} 条"}).status_code == 201
    acted(admin, small, "accept")
    handler = login("o-handler")
    acted(admin, big, "accept")
    for _ in range(3):
        acted(admin, big, "dispatch", to_user_id=handler.user_id)
        acted(handler, big, "return", reason="不是我")
    leader.get(f"{EVENTS}/{small}/timeline")  # warm up: the same state for both
    with count_queries() as few:
        short = leader.get(f"{EVENTS}/{small}/timeline").json
    with count_queries() as many:
        long = leader.get(f"{EVENTS}/{big}/timeline").json
    assert len(short["transitions"]) + len(short["comments"]) == 3
    assert len(long["transitions"]) + len(long["comments"]) == 14
    # at most: the event row may still be in the session (the tests share one), sparing its SELECT
    assert many.count <= few.count, (few.statements, many.statements)
    # and one event with its actions
    admin.get(f"{EVENTS}/{small}")
    with count_queries() as one:
        admin.get(f"{EVENTS}/{small}")
    with count_queries() as other:
        admin.get(f"{EVENTS}/{big}")
    assert one.count == other.count


def test_distance_helper_is_honest():
    # the test points really are where the tests say
    here, there = INSIDE, offset(INSIDE, 180, 180)
    d = math.dist((0, 0), (180, 180))
    assert abs(distance_m(Point(**here), Point(**there)) - d) < 2


def test_lists_answer_allowed_actions_as_a_list(world, admin):
    items = admin.get(EVENTS).json["items"]
    assert items and all(item["allowed_actions"] == [] for item in items)
