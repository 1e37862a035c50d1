"""Roles on organization nodes over HTTP: grant, revoke, list, and their scope."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import RoleGrant, User
from app.common.db import utcnow
from app.extensions import db
from tests.conftest import assert_error

ORGS = "/api/v1/orgs"


def roles(node_id: int) -> str:
    return f"{ORGS}/{node_id}/roles"


def grant_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RoleGrant))


def test_grant_within_the_subtree_then_again(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    response = admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "org_admin"})
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "user_id", "role", "org", "created_at"}
    assert body["user_id"] == user.user_id
    assert body["role"] == "org_admin"
    assert body["org"] == {"id": tree.a1, "kind": "party_branch", "name": "丰泽社区第一党支部"}
    assert body["created_at"].endswith(("Z", "+00:00"))
    count = grant_count()

    again = admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "org_admin"})
    assert again.status_code == 200, again.json
    assert again.json == body
    assert grant_count() == count

    # another role on the same node is another grant
    other = admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "grid_leader"})
    assert other.status_code == 201
    assert other.json["id"] != body["id"]
    # and so is the same role on the community itself
    assert admin.post(roles(tree.a), json={"user_id": user.user_id, "role": "org_admin"}).status_code == 201


def test_the_granted_role_takes_effect(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    assert_error(user.get(f"{ORGS}/{tree.a1}"), 404, "not_found")
    assert user.get(ORGS).json["items"] == []

    assert admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "org_admin"}).status_code == 201

    assert user.get(f"{ORGS}/{tree.a1}").status_code == 200
    created = user.post(ORGS, json={"parent_id": tree.a1, "kind": "party_group", "name": "第一党小组"})
    assert created.status_code == 201, created.json
    assert user.patch(f"{ORGS}/{tree.a1}", json={"name": "丰泽社区第一支部"}).status_code == 200
    assert [i["id"] for i in user.get(ORGS).json["items"]] == [tree.a1, created.json["id"]]
    # only the granted node's subtree
    assert_error(user.get(f"{ORGS}/{tree.a}"), 404, "not_found")
    assert_error(user.get(f"{ORGS}/{tree.a2}"), 404, "not_found")
    # GET /me lists it
    me = user.get("/api/v1/me").json
    assert [(r["role"], r["org"]["id"]) for r in me["roles"]] == [("org_admin", tree.a1)]


def test_a_granted_view_role_does_not_allow_managing(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    assert admin.post(roles(tree.a), json={"user_id": user.user_id, "role": "center_admin"}).status_code == 201
    assert user.get(f"{ORGS}/{tree.a1}").status_code == 200
    assert_error(user.post(ORGS, json={"parent_id": tree.a, "kind": "party_branch", "name": "x"}),
                 403, "forbidden")
    assert_error(user.get(roles(tree.a)), 403, "forbidden")
    assert_error(user.post(roles(tree.a), json={"user_id": user.user_id, "role": "org_admin"}),
                 403, "forbidden")


def test_an_org_admin_cannot_grant_district_admin(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    count = grant_count()
    for node in (tree.a, tree.a1):
        error = assert_error(admin.post(roles(node), json={"user_id": user.user_id, "role": "district_admin"}),
                             403, "role_not_grantable")
        assert error["details"] == {"role": "district_admin"}
    assert grant_count() == count
    assert_error(user.get(f"{ORGS}/{tree.a}"), 404, "not_found")
    # every other role is fine
    for role in ("org_admin", "center_admin", "grid_leader", "building_leader", "lane_leader"):
        assert admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": role}).status_code == 201
    # a district admin may make district admins
    district = login_as("district_admin", tree.district)
    response = district.post(roles(tree.street), json={"user_id": user.user_id, "role": "district_admin"})
    assert response.status_code == 201, response.json


def test_cannot_grant_outside_the_subtree(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    count = grant_count()
    for node in (tree.b, tree.b1, tree.street, tree.district, 987654):
        assert_error(admin.post(roles(node), json={"user_id": user.user_id, "role": "grid_leader"}),
                     404, "not_found")
        # even for a user that does not exist: the node's existence is not revealed
        assert_error(admin.post(roles(node), json={"user_id": 987654, "role": "grid_leader"}),
                     404, "not_found")
    assert grant_count() == count


def test_granting_to_an_unknown_or_inactive_user(login_as, tree):
    admin = login_as("org_admin", tree.a)
    assert_error(admin.post(roles(tree.a), json={"user_id": 987654, "role": "org_admin"}),
                 404, "user_not_found")
    gone = login_as(None)
    db.session.get(User, gone.user_id).deleted_at = utcnow()
    db.session.commit()
    assert_error(admin.post(roles(tree.a), json={"user_id": gone.user_id, "role": "org_admin"}),
                 404, "user_not_found")
    assert db.session.scalar(select(func.count()).select_from(RoleGrant).where(
        RoleGrant.user_id == gone.user_id)) == 0


def test_grant_validation(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    for body, field in (
        ({"user_id": user.user_id, "role": "king"}, "role"),
        ({"user_id": user.user_id, "role": "member"}, "role"),
        ({"role": "org_admin"}, "user_id"),
        ({"user_id": user.user_id}, "role"),
        ({"user_id": user.user_id, "role": "org_admin", "org_id": tree.b}, "org_id"),
        ({"user_id": "me", "role": "org_admin"}, "user_id"),
    ):
        error = assert_error(admin.post(roles(tree.a), json=body), 422, "validation_failed")
        assert field in error["details"]["fields"], (body, error)


def test_revoke(login_as, tree):
    admin = login_as("org_admin", tree.a)
    user = login_as(None)
    grant = admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "org_admin"}).json
    assert user.get(f"{ORGS}/{tree.a1}").status_code == 200

    response = admin.delete(f"{roles(tree.a1)}/{grant['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert [g["id"] for g in admin.get(roles(tree.a1)).json["items"]] == []
    # the role stops working on the next request
    assert_error(user.get(f"{ORGS}/{tree.a1}"), 404, "not_found")
    assert user.get(ORGS).json["items"] == []
    # twice: gone
    assert_error(admin.delete(f"{roles(tree.a1)}/{grant['id']}"), 404, "not_found")
    # and it can be granted again
    assert admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "org_admin"}).status_code == 201


def test_revoke_scope_and_rules(login_as, tree):
    a_admin = login_as("org_admin", tree.a)
    b_admin = login_as("org_admin", tree.b)
    user = login_as(None)
    viewer = login_as("center_admin", tree.a)
    grant = a_admin.post(roles(tree.a1), json={"user_id": user.user_id, "role": "grid_leader"}).json
    count = grant_count()
    # through another node's URL
    assert_error(a_admin.delete(f"{roles(tree.a2)}/{grant['id']}"), 404, "not_found")
    assert_error(a_admin.delete(f"{roles(tree.a)}/{grant['id']}"), 404, "not_found")
    # by an admin of another community
    assert_error(b_admin.delete(f"{roles(tree.a1)}/{grant['id']}"), 404, "not_found")
    assert_error(b_admin.delete(f"{roles(tree.b1)}/{grant['id']}"), 404, "not_found")
    # by someone who can see but not grant
    assert_error(viewer.delete(f"{roles(tree.a1)}/{grant['id']}"), 403, "forbidden")
    # a grant that does not exist
    assert_error(a_admin.delete(f"{roles(tree.a1)}/987654"), 404, "not_found")
    assert grant_count() == count

    # an org admin may not take back a district admin role
    district = login_as("district_admin", tree.district)
    big = district.post(roles(tree.a), json={"user_id": user.user_id, "role": "district_admin"}).json
    assert_error(a_admin.delete(f"{roles(tree.a)}/{big['id']}"), 403, "role_not_grantable")
    assert district.delete(f"{roles(tree.a)}/{big['id']}").status_code == 204
    # a street admin may revoke inside the street
    street = login_as("org_admin", tree.street)
    assert street.delete(f"{roles(tree.a1)}/{grant['id']}").status_code == 204


def test_list_grants(login_as, tree):
    admin = login_as("org_admin", tree.a)
    users = [login_as(None) for _ in range(3)]
    made = [admin.post(roles(tree.a), json={"user_id": u.user_id, "role": "grid_leader"}).json for u in users]
    elsewhere = admin.post(roles(tree.a1), json={"user_id": users[0].user_id, "role": "org_admin"}).json

    response = admin.get(roles(tree.a))
    assert response.status_code == 200
    items = response.json["items"]
    assert response.json["next_cursor"] is None
    # the admin's own grant (made by the fixture) and the three new ones, oldest first
    assert [g["id"] for g in items][-3:] == [g["id"] for g in made]
    assert {g["user_id"] for g in items} == {admin.user_id} | {u.user_id for u in users}
    assert all(g["org"]["id"] == tree.a for g in items)
    assert elsewhere["id"] not in [g["id"] for g in items]
    assert [g["id"] for g in admin.get(roles(tree.a1)).json["items"]] == [elsewhere["id"]]

    # keyset pages
    seen, cursor = [], None
    while True:
        page = admin.get(f"{roles(tree.a)}?limit=1" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [g["id"] for g in items]
    assert_error(admin.get(f"{roles(tree.a)}?cursor=garbage"), 422, "validation_failed")

    # a street admin sees the grants of A too; B's admin does not
    assert len(login_as("org_admin", tree.street).get(roles(tree.a)).json["items"]) == len(items)
    assert_error(login_as("org_admin", tree.b).get(roles(tree.a)), 404, "not_found")
    assert_error(admin.get(roles(987654)), 404, "not_found")


def test_an_admin_of_one_community_gets_404_on_another_communitys_members(login_as, member, tree):
    member("林小红", "13800138001", tree.b1)
    a_admin = login_as("org_admin", tree.a)
    assert_error(a_admin.get(f"/api/v1/orgs/{tree.b}/members"), 404, "not_found")
    assert_error(a_admin.get(f"/api/v1/orgs/{tree.b1}/members"), 404, "not_found")
    assert a_admin.get(f"/api/v1/orgs/{tree.a}/members").json["items"] == []
    b_admin = login_as("org_admin", tree.b)
    assert [m["name"] for m in b_admin.get(f"/api/v1/orgs/{tree.b}/members").json["items"]] == ["林小红"]


def test_list_grants_query_count_does_not_grow_with_rows(login_as, tree, count_queries):
    admin = login_as("org_admin", tree.a)

    def add_grants(n: int, start: int):
        for i in range(start, start + n):
            user = User(openid=f"grantee-{i}")
            db.session.add(user)
            db.session.flush()
            db.session.add(RoleGrant(user_id=user.id, org_id=tree.a, role="grid_leader"))
        db.session.commit()

    def measure():
        db.session.remove()  # a fresh session, as in a real request
        with count_queries() as q:
            response = admin.get(f"{roles(tree.a)}?limit=100")
        assert response.status_code == 200
        return len(response.json["items"]), q.count

    add_grants(2, 0)  # plus the admin's own grant: 3
    rows, small = measure()
    assert rows == 3
    add_grants(17, 2)
    rows, large = measure()
    assert rows == 20
    assert large == small


def test_ids_too_large_for_the_database_are_404_or_422_not_500(login_as, tree):
    admin = login_as("org_admin", tree.a)
    huge = 2**31
    assert_error(admin.get(roles(huge)), 404, "not_found")
    assert_error(admin.post(roles(huge), json={"user_id": admin.user_id, "role": "grid_leader"}),
                 404, "not_found")
    assert_error(admin.delete(f"{roles(tree.a)}/{huge}"), 404, "not_found")
    error = assert_error(admin.post(roles(tree.a), json={"user_id": huge, "role": "grid_leader"}),
                         422, "validation_failed")
    assert "user_id" in error["details"]["fields"]
    assert admin.get(roles(tree.a)).status_code == 200
