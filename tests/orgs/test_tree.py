"""The organization tree over HTTP: create, rename, move, list, and who sees what."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.orgs.models import OrgNode
from tests.conftest import assert_error

ORGS = "/api/v1/orgs"


def org(node_id: int) -> str:
    return f"{ORGS}/{node_id}"


def snapshot() -> dict[int, tuple]:
    """Every node's (parent_id, path, depth) as committed, read on a fresh connection."""
    with db.engine.connect() as connection:
        rows = connection.execute(select(OrgNode.id, OrgNode.parent_id, OrgNode.path, OrgNode.depth))
        return {row.id: (row.parent_id, row.path, row.depth) for row in rows}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.json["items"]]


def walk(api, url: str, limit: int) -> tuple[list[int], int]:
    """Follow next_cursor to the end; returns every id and the number of pages."""
    seen, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        response = api.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        body = response.json
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        pages += 1
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert body["items"], "a page with a cursor must not be empty"
        assert pages < 50, "pagination does not end"


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# ---- create -----------------------------------------------------------------

def test_create_node_under_a_parent_in_scope(login_as, tree):
    admin = login_as("org_admin", tree.a)
    response = admin.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "丰泽社区第三党支部"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["kind"] == "party_branch"
    assert body["name"] == "丰泽社区第三党支部"
    assert body["parent_id"] == tree.a
    assert body["depth"] == 3
    assert body["created_at"].endswith(("Z", "+00:00"))
    assert set(body) == {"id", "kind", "name", "parent_id", "depth", "created_at"}
    assert response.headers["Location"].endswith(f"/api/v1/orgs/{body['id']}")

    fetched = admin.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.json == body
    assert body["id"] in ids(admin.get(f"{ORGS}?parent_id={tree.a}"))
    assert snapshot()[body["id"]] == (tree.a, f"{snapshot()[tree.a][1]}{body['id']}/", 3)


@pytest.mark.parametrize("parent, kind", [
    ("district", "street"),
    ("district", "linkage_center"),
    ("district", "office_building"),
    ("street", "community"),
    ("street", "school"),
    ("a", "housing_estate"),
    ("a", "temporary_branch"),
    ("a", "party_group"),
    ("a1", "party_group"),
    ("unit", "party_branch"),
])
def test_allowed_kinds(login_as, tree, parent, kind):
    admin = login_as("district_admin", tree.district)
    response = admin.post(ORGS, json={"parent_id": getattr(tree, parent), "kind": kind, "name": "新组织"})
    assert response.status_code == 201, response.json
    assert response.json["kind"] == kind


@pytest.mark.parametrize("parent, kind, parent_kind", [
    ("a", "community", "community"),
    ("district", "community", "district"),
    ("district", "district", "district"),
    ("street", "district", "street"),
    ("a1", "district", "party_branch"),
    ("a", "street", "community"),
    ("street", "linkage_center", "street"),
    ("unit", "office_building", "office_building"),
    ("district", "party_group", "district"),
])
def test_kind_rules_refuse_an_invalid_parent(login_as, tree, parent, kind, parent_kind):
    admin = login_as("district_admin", tree.district)
    before = snapshot()
    response = admin.post(ORGS, json={"parent_id": getattr(tree, parent), "kind": kind, "name": "错位组织"})
    error = assert_error(response, 422, "invalid_parent")
    assert error["details"] == {"kind": kind, "parent_kind": parent_kind}
    assert snapshot() == before


def test_unknown_kind_missing_and_unknown_fields_are_refused(login_as, tree):
    admin = login_as("org_admin", tree.a)
    error = assert_error(admin.post(ORGS, json={"parent_id": tree.a, "kind": "village", "name": "x"}),
                         422, "validation_failed")
    assert "kind" in error["details"]["fields"]

    error = assert_error(admin.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch",
                                                "name": "x", "path": "/1/"}),
                         422, "validation_failed")
    assert "path" in error["details"]["fields"]

    error = assert_error(admin.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch"}),
                         422, "validation_failed")
    assert "name" in error["details"]["fields"]

    for name in ("", "长" * 101):
        error = assert_error(admin.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch",
                                                    "name": name}), 422, "validation_failed")
        assert "name" in error["details"]["fields"]

    error = assert_error(admin.post(ORGS, json={"parent_id": "A", "kind": "party_branch", "name": "x"}),
                         422, "validation_failed")
    assert "parent_id" in error["details"]["fields"]
    assert ids(admin.get(f"{ORGS}?parent_id={tree.a}")) == [tree.a1, tree.a2]


def test_create_outside_scope_or_under_a_missing_parent_is_404(login_as, client, tree):
    admin = login_as("org_admin", tree.a)
    before = snapshot()
    for parent in (tree.b, tree.street, tree.district, 987654):
        assert_error(admin.post(ORGS, json={"parent_id": parent, "kind": "party_branch", "name": "x"}),
                     404, "not_found")
    assert_error(client.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "x"}),
                 401, "unauthorized")
    assert snapshot() == before


@pytest.mark.parametrize("role", ["center_admin", "grid_leader"])
def test_a_role_that_can_see_but_not_manage_gets_403(login_as, tree, role):
    viewer = login_as(role, tree.a)
    assert viewer.get(org(tree.a)).status_code == 200
    assert viewer.get(org(tree.a1)).status_code == 200
    before = snapshot()
    assert_error(viewer.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "x"}),
                 403, "forbidden")
    assert_error(viewer.patch(org(tree.a1), json={"name": "改名"}), 403, "forbidden")
    assert_error(viewer.post(f"{org(tree.a1)}/move", json={"parent_id": tree.a}), 403, "forbidden")
    assert snapshot() == before
    # still invisible outside the subtree
    assert_error(viewer.post(ORGS, json={"parent_id": tree.b, "kind": "party_branch", "name": "x"}),
                 404, "not_found")


# ---- rename -----------------------------------------------------------------

def test_rename(login_as, tree):
    admin = login_as("org_admin", tree.a)
    response = admin.patch(org(tree.a1), json={"name": "丰泽社区机关党支部"})
    assert response.status_code == 200, response.json
    assert response.json["name"] == "丰泽社区机关党支部"
    assert response.json["id"] == tree.a1 and response.json["parent_id"] == tree.a
    assert admin.get(org(tree.a1)).json["name"] == "丰泽社区机关党支部"

    assert_error(admin.patch(org(tree.a1), json={"name": ""}), 422, "validation_failed")
    assert_error(admin.patch(org(tree.a1), json={"name": "x", "kind": "school"}), 422, "validation_failed")
    assert_error(admin.patch(org(tree.a1), json={}), 422, "validation_failed")
    assert_error(admin.patch(org(tree.b1), json={"name": "越权"}), 404, "not_found")
    assert_error(admin.patch(org(987654), json={"name": "x"}), 404, "not_found")
    assert admin.get(org(tree.a1)).json["name"] == "丰泽社区机关党支部"


# ---- move -------------------------------------------------------------------

def test_move_a_community_to_another_street_rewrites_the_subtree(login_as, tree):
    district = login_as("district_admin", tree.district)
    old_street = login_as("org_admin", tree.street)
    community_admin = login_as("org_admin", tree.a)
    s2 = district.post(ORGS, json={"parent_id": tree.district, "kind": "street", "name": "城东街道"}).json["id"]
    new_street = login_as("org_admin", s2)
    assert_error(new_street.get(org(tree.a)), 404, "not_found")
    assert old_street.get(org(tree.a1)).status_code == 200
    before = snapshot()

    response = district.post(f"{org(tree.a)}/move", json={"parent_id": s2})
    assert response.status_code == 200, response.json
    assert response.json["id"] == tree.a
    assert response.json["parent_id"] == s2
    assert response.json["depth"] == 2

    after = snapshot()
    s2_path = after[s2][1]
    assert after[tree.a] == (s2, f"{s2_path}{tree.a}/", 2)
    assert after[tree.a1] == (tree.a, f"{s2_path}{tree.a}/{tree.a1}/", 3)
    assert after[tree.a2] == (tree.a, f"{s2_path}{tree.a}/{tree.a2}/", 3)
    for untouched in (tree.district, tree.street, tree.b, tree.b1, tree.unit, s2):
        assert after[untouched] == before[untouched]

    # the new street's admin now sees A and its branches ...
    for node in (tree.a, tree.a1, tree.a2):
        assert new_street.get(org(node)).status_code == 200
    assert ids(new_street.get(f"{ORGS}?parent_id={tree.a}")) == [tree.a1, tree.a2]
    assert ids(new_street.get(ORGS)) == sorted([s2, tree.a, tree.a1, tree.a2])
    # ... and can manage them
    created = new_street.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "新支部"})
    assert created.status_code == 201, created.json
    # the old street's admin does not any more
    for node in (tree.a, tree.a1, tree.a2):
        assert_error(old_street.get(org(node)), 404, "not_found")
    assert_error(old_street.get(f"{ORGS}?parent_id={tree.a}"), 404, "not_found")
    assert_error(old_street.patch(org(tree.a1), json={"name": "x"}), 404, "not_found")
    assert sorted(ids(old_street.get(ORGS))) == sorted([tree.street, tree.b, tree.b1, tree.unit])
    assert ids(old_street.get(f"{ORGS}?parent_id={tree.street}")) == [tree.b, tree.unit]
    # a role held on A itself moves with A
    assert community_admin.get(org(tree.a1)).status_code == 200
    assert sorted(ids(community_admin.get(ORGS))) == sorted(
        [tree.a, tree.a1, tree.a2, created.json["id"]])


def test_move_changes_the_depth_of_the_whole_subtree(login_as, tree):
    admin = login_as("district_admin", tree.district)
    branch = admin.post(ORGS, json={"parent_id": tree.unit, "kind": "party_branch", "name": "汇银大厦党支部"}).json
    group = admin.post(ORGS, json={"parent_id": branch["id"], "kind": "party_group", "name": "第一党小组"}).json
    assert (branch["depth"], group["depth"]) == (3, 4)

    response = admin.post(f"{org(tree.unit)}/move", json={"parent_id": tree.district})
    assert response.status_code == 200, response.json
    assert response.json["depth"] == 1
    assert admin.get(org(branch["id"])).json["depth"] == 2
    assert admin.get(org(group["id"])).json["depth"] == 3
    paths = snapshot()
    district_path = paths[tree.district][1]
    assert paths[group["id"]][1] == f"{district_path}{tree.unit}/{branch['id']}/{group['id']}/"

    # and back again
    assert admin.post(f"{org(tree.unit)}/move", json={"parent_id": tree.street}).json["depth"] == 2
    assert admin.get(org(group["id"])).json["depth"] == 4


def test_move_within_the_actors_subtree(login_as, tree):
    street = login_as("org_admin", tree.street)
    response = street.post(f"{org(tree.a1)}/move", json={"parent_id": tree.b})
    assert response.status_code == 200, response.json
    assert ids(street.get(f"{ORGS}?parent_id={tree.b}")) == [tree.a1, tree.b1]
    assert ids(street.get(f"{ORGS}?parent_id={tree.a}")) == [tree.a2]
    # B's admin now manages the moved branch; A's admin lost it
    assert login_as("org_admin", tree.b).get(org(tree.a1)).status_code == 200
    assert_error(login_as("org_admin", tree.a).get(org(tree.a1)), 404, "not_found")


def test_move_needs_both_ends_in_scope(login_as, tree):
    admin = login_as("org_admin", tree.a)
    before = snapshot()
    # the new parent is outside A: 404, whether it exists or not
    assert_error(admin.post(f"{org(tree.a1)}/move", json={"parent_id": tree.b}), 404, "not_found")
    assert_error(admin.post(f"{org(tree.a1)}/move", json={"parent_id": 987654}), 404, "not_found")
    # the node itself is outside A
    assert_error(admin.post(f"{org(tree.b1)}/move", json={"parent_id": tree.a}), 404, "not_found")
    # moving A itself needs its new parent (a street) in scope
    assert_error(admin.post(f"{org(tree.a)}/move", json={"parent_id": tree.street}), 404, "not_found")
    assert_error(admin.post(f"{org(tree.a1)}/move", json={}), 422, "validation_failed")
    assert_error(admin.post(f"{org(tree.a1)}/move", json={"parent_id": tree.a, "x": 1}),
                 422, "validation_failed")
    assert snapshot() == before


@pytest.mark.parametrize("node, new_parent", [
    ("street", "a"),       # under its child
    ("street", "a1"),      # under its grandchild
    ("a", "a"),            # under itself
    ("a", "a1"),
])
def test_move_into_own_subtree_is_409(login_as, tree, node, new_parent):
    admin = login_as("district_admin", tree.district)
    before = snapshot()
    response = admin.post(f"{org(getattr(tree, node))}/move", json={"parent_id": getattr(tree, new_parent)})
    assert_error(response, 409, "move_into_own_subtree")
    assert snapshot() == before


def test_moving_the_root_is_409(login_as, tree):
    from app.orgs.services import create_root, grant_role

    admin = login_as("district_admin", tree.district)
    second_root = create_root("district", "阳东区").id
    before = snapshot()
    assert_error(admin.post(f"{org(tree.district)}/move", json={"parent_id": tree.street}),
                 409, "root_not_movable")
    # even for an admin of both roots
    grant_role(None, second_root, admin.user_id, "district_admin")
    assert_error(admin.post(f"{org(tree.district)}/move", json={"parent_id": second_root}),
                 409, "root_not_movable")
    # an admin of the second root only cannot even see the first one
    other = login_as("district_admin", second_root)
    assert_error(other.post(f"{org(tree.district)}/move", json={"parent_id": second_root}),
                 404, "not_found")
    assert snapshot() == before


def test_move_to_a_parent_of_the_wrong_kind_changes_nothing(login_as, tree):
    admin = login_as("district_admin", tree.district)
    before = snapshot()
    error = assert_error(admin.post(f"{org(tree.a)}/move", json={"parent_id": tree.b}), 422, "invalid_parent")
    assert error["details"] == {"kind": "community", "parent_kind": "community"}
    assert_error(admin.post(f"{org(tree.a)}/move", json={"parent_id": tree.district}), 422, "invalid_parent")
    assert_error(admin.post(f"{org(tree.a)}/move", json={"parent_id": tree.unit}), 422, "invalid_parent")
    assert_error(admin.post(f"{org(tree.unit)}/move", json={"parent_id": tree.b1}), 422, "invalid_parent")
    assert snapshot() == before


def test_a_move_that_fails_to_commit_leaves_every_path_unchanged(login_as, tree):
    """The subtree UPDATE and the new parent_id are one transaction: when the
    commit fails, nothing of the move is kept."""
    district = login_as("district_admin", tree.district)
    s2 = district.post(ORGS, json={"parent_id": tree.district, "kind": "street", "name": "城东街道"}).json["id"]
    before = snapshot()
    session = db.session()

    def fail(session_, flush_context, instances):
        raise RuntimeError("database went away")

    event.listen(session, "before_flush", fail)
    try:
        response = district.post(f"{org(tree.a)}/move", json={"parent_id": s2})
    finally:
        event.remove(session, "before_flush", fail)
    assert_error(response, 500, "internal_error")
    assert "went away" not in response.get_data(as_text=True)
    db.session.rollback()  # what the end of a real request does
    assert snapshot() == before
    assert district.get(org(tree.a)).json["parent_id"] == tree.street
    assert ids(district.get(f"{ORGS}?parent_id={tree.a}")) == [tree.a1, tree.a2]
    # and the same move works afterwards
    assert district.post(f"{org(tree.a)}/move", json={"parent_id": s2}).status_code == 200


# ---- list -------------------------------------------------------------------

def test_list_with_parent_and_kind(login_as, tree):
    admin = login_as("org_admin", tree.street)
    assert ids(admin.get(ORGS)) == sorted(
        [tree.street, tree.a, tree.b, tree.a1, tree.a2, tree.b1, tree.unit])
    assert ids(admin.get(f"{ORGS}?parent_id={tree.street}")) == [tree.a, tree.b, tree.unit]
    assert ids(admin.get(f"{ORGS}?kind=community")) == [tree.a, tree.b]
    assert ids(admin.get(f"{ORGS}?kind=party_branch")) == [tree.a1, tree.a2, tree.b1]
    assert ids(admin.get(f"{ORGS}?parent_id={tree.a}&kind=party_branch")) == [tree.a1, tree.a2]
    assert ids(admin.get(f"{ORGS}?parent_id={tree.street}&kind=office_building")) == [tree.unit]
    assert ids(admin.get(f"{ORGS}?parent_id={tree.a1}")) == []
    item = admin.get(f"{ORGS}?kind=office_building").json["items"][0]
    assert item["name"] == "汇银大厦" and item["parent_id"] == tree.street and item["depth"] == 2

    assert_error(admin.get(f"{ORGS}?kind=village"), 422, "validation_failed")
    assert_error(admin.get(f"{ORGS}?parent_id=abc"), 422, "validation_failed")
    assert_error(admin.get(f"{ORGS}?parent_id={tree.district}"), 404, "not_found")
    assert_error(admin.get(f"{ORGS}?parent_id=987654"), 404, "not_found")


@pytest.mark.parametrize("role_at, expected", [("district", 8), ("street", 7)])
def test_keyset_pagination_walks_every_page_once(login_as, tree, role_at, expected):
    role = "district_admin" if role_at == "district" else "org_admin"
    admin = login_as(role, getattr(tree, role_at))
    everything = ids(admin.get(f"{ORGS}?limit=100"))
    assert len(everything) == expected
    seen, pages = walk(admin, ORGS, 2)
    assert seen == everything
    assert len(seen) == len(set(seen))
    assert pages == (expected + 1) // 2
    # limit=1 and a limit larger than the list
    assert walk(admin, ORGS, 1) == (everything, expected)
    assert walk(admin, ORGS, 100) == (everything, 1)
    # filters hold across pages
    seen, _ = walk(admin, f"{ORGS}?kind=party_branch", 2)
    assert seen == [tree.a1, tree.a2, tree.b1]


def test_limit_bounds(login_as, tree):
    admin = login_as("org_admin", tree.street)
    for limit in ("0", "101", "-1", "x"):
        error = assert_error(admin.get(f"{ORGS}?limit={limit}"), 422, "validation_failed")
        assert "limit" in error["details"]["fields"]
    assert len(ids(admin.get(ORGS))) == 7  # default 20


@pytest.mark.parametrize("cursor", [
    "garbage",
    "!!!",
    "e30",                       # {}
    cursor_of(["x"]),
    cursor_of([1, 2]),
    cursor_of([1.5]),
    cursor_of({"id": 1}),
    cursor_of([2**31]),
    cursor_of([2**63]),
    "x" * 600,
])
def test_a_garbage_cursor_is_422(login_as, tree, cursor):
    admin = login_as("org_admin", tree.street)
    error = assert_error(admin.get(f"{ORGS}?limit=2&cursor={cursor}"), 422, "validation_failed")
    assert "cursor" in error["details"]["fields"]


def test_a_cursor_from_a_page_still_works_after_rows_are_added(login_as, tree):
    admin = login_as("district_admin", tree.district)
    first = admin.get(f"{ORGS}?limit=3").json
    new = admin.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "新支部"}).json["id"]
    rest, _ = walk(admin, f"{ORGS}?cursor={first['next_cursor']}", 100)
    assert [i["id"] for i in first["items"]] + rest == sorted(snapshot())
    assert rest[-1] == new


# ---- scope ------------------------------------------------------------------

def test_a_community_admin_sees_only_their_community(login_as, tree):
    admin = login_as("org_admin", tree.a)
    assert ids(admin.get(ORGS)) == [tree.a, tree.a1, tree.a2]
    assert admin.get(org(tree.a2)).status_code == 200
    missing = assert_error(admin.get(org(987654)), 404, "not_found")
    for hidden in (tree.b, tree.b1, tree.street, tree.district, tree.unit):
        error = assert_error(admin.get(org(hidden)), 404, "not_found")
        assert error == missing  # indistinguishable from a node that does not exist
    assert_error(admin.get(f"{ORGS}?parent_id={tree.b}"), 404, "not_found")
    assert_error(admin.get(f"{ORGS}?parent_id={tree.street}"), 404, "not_found")
    assert ids(admin.get(f"{ORGS}?kind=community")) == [tree.a]


def test_a_user_without_roles_sees_nothing(login_as, tree):
    nobody = login_as(None)
    response = nobody.get(ORGS)
    assert response.status_code == 200
    assert response.json == {"items": [], "next_cursor": None}
    assert_error(nobody.get(org(tree.a)), 404, "not_found")
    assert_error(nobody.get(f"{ORGS}?parent_id={tree.a}"), 404, "not_found")
    assert_error(nobody.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "x"}),
                 404, "not_found")


def test_a_sibling_whose_id_extends_the_communitys_id_is_not_in_its_subtree(login_as, tree):
    """Paths are compared as ranges: /../3/ must not cover /../30/."""
    from app.orgs.services import insert_node

    street = db.session.get(OrgNode, tree.street)
    target = int(f"{tree.a}0")
    sibling = None
    while sibling is None or sibling.id < target:
        sibling = insert_node("community", "邻近社区", street)
    db.session.commit()
    assert sibling.id == target
    child = insert_node("party_branch", "邻近社区党支部", sibling)
    db.session.commit()
    child_id = child.id

    admin = login_as("org_admin", tree.a)
    assert_error(admin.get(org(target)), 404, "not_found")
    assert_error(admin.get(org(child_id)), 404, "not_found")
    assert ids(admin.get(ORGS)) == [tree.a, tree.a1, tree.a2]

    district = login_as("district_admin", tree.district)
    s2 = district.post(ORGS, json={"parent_id": tree.district, "kind": "street", "name": "城东街道"}).json["id"]
    before = snapshot()
    assert district.post(f"{org(tree.a)}/move", json={"parent_id": s2}).status_code == 200
    after = snapshot()
    assert after[target] == before[target]
    assert after[child_id] == before[child_id]


def test_the_subtree_of_a_role_covers_every_depth(login_as, tree):
    district = login_as("district_admin", tree.district)
    lc = district.post(ORGS, json={"parent_id": tree.district, "kind": "linkage_center",
                                   "name": "城市党建联动中心"}).json["id"]
    s = district.post(ORGS, json={"parent_id": lc, "kind": "street", "name": "城西街道"}).json["id"]
    c = district.post(ORGS, json={"parent_id": s, "kind": "community", "name": "西城社区"}).json["id"]
    br = district.post(ORGS, json={"parent_id": c, "kind": "party_branch", "name": "西城社区党支部"}).json["id"]
    grp = district.post(ORGS, json={"parent_id": br, "kind": "party_group", "name": "党小组"}).json["id"]
    lc_admin = login_as("org_admin", lc)
    assert ids(lc_admin.get(ORGS)) == [lc, s, c, br, grp]
    assert lc_admin.get(org(grp)).json["depth"] == 5
    assert_error(lc_admin.get(org(tree.a)), 404, "not_found")


def test_list_orgs_query_count_does_not_grow_with_rows(login_as, tree, count_queries):
    from app.orgs.services import insert_node

    admin = login_as("org_admin", tree.a)

    def measure():
        db.session.remove()  # a fresh session, as in a real request
        with count_queries() as q:
            response = admin.get(f"{ORGS}?parent_id={tree.a}&limit=100")
        assert response.status_code == 200
        with count_queries() as q2:
            whole = admin.get(f"{ORGS}?limit=100")
        assert whole.status_code == 200
        return len(response.json["items"]), q.count, q2.count

    a = db.session.get(OrgNode, tree.a)
    insert_node("party_branch", "第三党支部", a)
    db.session.commit()
    rows, small, small_whole = measure()
    assert rows == 3
    a = db.session.get(OrgNode, tree.a)
    for i in range(17):
        insert_node("party_branch", f"支部{i}", a)
    db.session.commit()
    rows, large, large_whole = measure()
    assert rows == 20
    assert large == small
    assert large_whole == small_whole


@pytest.mark.parametrize("huge", [2**31, 10**20])
def test_ids_too_large_for_the_database_are_404_or_422_not_500(login_as, tree, huge):
    admin = login_as("district_admin", tree.district)
    for method, url in (("get", org(huge)), ("patch", org(huge)), ("post", f"{org(huge)}/move")):
        body = {"name": "x"} if method == "patch" else {"parent_id": tree.a}
        assert_error(getattr(admin, method)(url, json=body), 404, "not_found")
    for response in (
        admin.get(f"{ORGS}?parent_id={huge}"),
        admin.post(ORGS, json={"parent_id": huge, "kind": "community", "name": "x"}),
        admin.post(f"{org(tree.a1)}/move", json={"parent_id": huge}),
    ):
        error = assert_error(response, 422, "validation_failed")
        assert "parent_id" in error["details"]["fields"]
    # the session is still usable afterwards
    assert admin.get(org(tree.a)).status_code == 200


@pytest.mark.parametrize("value", [[True], [None]])
def test_a_well_formed_cursor_with_a_wrong_value_is_422(login_as, tree, value):
    admin = login_as("org_admin", tree.street)
    response = admin.get(f"{ORGS}?limit=2&cursor={cursor_of(value)}")
    assert_error(response, 422, "validation_failed")
