"""Member identity status (suspend, reinstate, revoke) and the members list."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.models import MemberCommunityReport
from tests.conftest import assert_error

IDENTITY = "/api/v1/me/identity"
ME = "/api/v1/me"
REPORT = "/api/v1/me/community-report"


def status_url(identity_id, action):
    return f"/api/v1/members/{identity_id}/{action}"


def members_url(org_id):
    return f"/api/v1/orgs/{org_id}/members"


def act(api, tree):
    """The member-only action these tests use: reporting to community A."""
    return api.post(REPORT, json={"community_id": tree.a})


def stored_status(identity_id) -> str:
    db.session.expire_all()
    return db.session.get(MemberIdentity, identity_id).status


def test_suspend_stops_member_actions_and_reinstate_restores_them(member, admin, tree):
    api = member("陈小文", "13812345678")
    identity_id = api.identity["id"]

    response = admin.post(status_url(identity_id, "suspend"), json={"reason": "组织关系转出中"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "suspended"
    assert response.json["status_reason"] == "组织关系转出中"
    assert response.json["status_changed_at"]
    error = assert_error(act(api, tree), 403, "identity_inactive")
    assert error["details"]["status"] == "suspended"
    assert api.get(IDENTITY).json["status"] == "suspended"  # the card says why
    assert api.get(ME).json["user"]["is_member"] is False
    assert db.session.scalar(select(MemberCommunityReport)) is None

    response = admin.post(status_url(identity_id, "reinstate"), json={})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "active"
    assert response.json["status_reason"] is None
    assert act(api, tree).status_code == 201
    assert api.get(ME).json["user"]["is_member"] is True


def test_revoke_takes_effect_on_the_existing_token(member, admin, tree):
    api = member("陈小文", "13812345678")
    identity_id = api.identity["id"]
    assert act(api, tree).status_code == 201  # working, with this very token

    response = admin.post(status_url(identity_id, "revoke"), json={"reason": "开除党籍"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "revoked"
    # the same access token, no re-login: refused at once
    error = assert_error(api.post(REPORT, json={"community_id": tree.b}), 403, "identity_inactive")
    assert error["details"]["status"] == "revoked"
    assert api.get(ME).json["user"]["is_member"] is False

    assert_error(admin.post(status_url(identity_id, "reinstate"), json={}), 409, "identity_revoked")
    assert_error(admin.post(status_url(identity_id, "suspend"), json={}), 409, "identity_revoked")
    assert_error(admin.post(status_url(identity_id, "revoke"), json={}), 409, "identity_revoked")
    assert stored_status(identity_id) == "revoked"


def test_suspended_identity_can_be_revoked(member, admin):
    identity_id = member().identity["id"]
    admin.post(status_url(identity_id, "suspend"), json={})
    assert admin.post(status_url(identity_id, "revoke"), json={}).json["status"] == "revoked"


def test_impossible_changes_are_409(member, admin):
    identity_id = member().identity["id"]
    error = assert_error(admin.post(status_url(identity_id, "reinstate"), json={}),
                         409, "invalid_status_change")
    assert error["details"]["status"] == "active"
    admin.post(status_url(identity_id, "suspend"), json={})
    error = assert_error(admin.post(status_url(identity_id, "suspend"), json={}),
                         409, "invalid_status_change")
    assert error["details"]["status"] == "suspended"
    assert stored_status(identity_id) == "suspended"


def test_reason_is_checked(member, admin):
    identity_id = member().identity["id"]
    error = assert_error(admin.post(status_url(identity_id, "suspend"), json={"reason": "x" * 201}),
                         422, "validation_failed")
    assert "reason" in error["details"]["fields"]
    assert stored_status(identity_id) == "active"


def test_only_admins_over_the_branch_may_change_status(member, login_as, tree):
    api = member("陈小文", "13812345678", tree.a1)
    identity_id = api.identity["id"]
    admin_b = login_as("org_admin", tree.b)
    other_branch = login_as("org_admin", tree.a2)
    resident = login_as(None)
    center_admin = login_as("center_admin", tree.a)
    for action in ("suspend", "reinstate", "revoke"):
        for who in (admin_b, other_branch, resident):
            assert_error(who.post(status_url(identity_id, action), json={}), 404, "not_found")
        assert_error(center_admin.post(status_url(identity_id, action), json={}), 403, "forbidden")
    # members cannot change their own status either
    assert_error(api.post(status_url(identity_id, "reinstate"), json={}), 404, "not_found")
    assert_error(login_as("org_admin", tree.a).post(status_url(999_999, "suspend"), json={}),
                 404, "not_found")
    assert stored_status(identity_id) == "active"
    # the branch's own admin and the district's admin may
    assert login_as("org_admin", tree.a1).post(status_url(identity_id, "suspend"), json={}).status_code == 200
    assert login_as("district_admin", tree.district).post(
        status_url(identity_id, "reinstate"), json={}).status_code == 200


def test_a_user_without_identity_is_not_a_member(login, tree):
    assert_error(act(login("o-nobody"), tree), 403, "not_a_member")


def test_a_revoked_member_binding_again_goes_to_review(member, admin, wx, tree):
    api = member("陈小文", "13812345678")
    admin.post(status_url(api.identity["id"], "revoke"), json={})
    response = api.post("/api/v1/me/member-binding",
                        json={"name": "陈小文", "phone_code": wx.phone_code("13812345678")})
    assert response.status_code == 202, response.json
    assert response.json["request"]["mismatch"] == "previously_revoked"
    assert_error(act(api, tree), 403, "identity_inactive")


# ---- the members list ------------------------------------------------------------

def test_members_list_with_status_filter(member, admin, login_as, tree):
    first = member("陈小文", "13812345678", tree.a1)
    second = member("王五", "13900000002", tree.a2)
    third = member("李四", "15000000003", tree.a1)
    outsider = member("赵六", "18600000004", tree.b1)
    admin.post(status_url(second.identity["id"], "suspend"), json={"reason": "休假"})
    admin.post(status_url(third.identity["id"], "revoke"), json={})

    items = admin.get(members_url(tree.a)).json["items"]
    assert [i["user_id"] for i in items] == [first.user_id, second.user_id, third.user_id]
    row = items[0]
    assert row["name"] == "陈小文"
    assert row["phone"] == "138****5678"
    assert row["branch"]["id"] == tree.a1
    assert row["status"] == "active"
    assert row["identity_no"] == first.identity["identity_no"]
    assert row["member_since"] == "2010-07-01"
    assert items[1]["status_reason"] == "休假"
    for status, expected in (("active", [first]), ("suspended", [second]), ("revoked", [third])):
        listed = admin.get(members_url(tree.a), query_string={"status": status}).json["items"]
        assert [i["user_id"] for i in listed] == [e.user_id for e in expected], status
    assert [i["user_id"] for i in admin.get(members_url(tree.a2)).json["items"]] == [second.user_id]
    body = admin.get(members_url(tree.a)).get_data(as_text=True)
    assert "13812345678" not in body and "13900000002" not in body

    error = assert_error(admin.get(members_url(tree.a), query_string={"status": "gone"}),
                         422, "validation_failed")
    assert "status" in error["details"]["fields"]
    assert_error(login_as("org_admin", tree.b).get(members_url(tree.a)), 404, "not_found")
    assert_error(login_as(None).get(members_url(tree.a)), 404, "not_found")
    assert [i["user_id"] for i in login_as("org_admin", tree.b).get(members_url(tree.b)).json["items"]] \
        == [outsider.user_id]


def _add_members(n: int, start: int, tree) -> None:
    from app.orgs.models import OrgNode
    from app.orgs.services import insert_node

    for i in range(start, start + n):
        user = User(openid=f"o-member-{i}")
        phone = f"138{i:08d}"
        # a branch of its own for every member, so that a lazy load per row would show
        branch = insert_node("party_branch", f"第{i}党支部", db.session.get(OrgNode, tree.a))
        entry = RosterEntry(branch_id=branch.id, name=f"党员{i}",
                            phone_encrypted=phones.encrypt(phone), phone_hash=phones.lookup_hash(phone),
                            phone_masked=phones.mask(phone), join_date=dt.date(2010, 7, 1),
                            member_status="full")
        db.session.add_all([user, entry])
        db.session.flush()
        db.session.add(MemberIdentity(user_id=user.id, roster_entry_id=entry.id, branch_id=entry.branch_id,
                                      identity_no=f"DYTEST{i:07d}", status=("active", "suspended")[i % 2]))
    db.session.commit()


def test_members_list_pages_with_a_cursor(admin, tree):
    _add_members(5, 0, tree)
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get(members_url(tree.a), query_string=query).json
        seen += [m["identity_no"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"DYTEST{i:07d}" for i in range(5)]


def test_members_list_query_count_does_not_grow_with_rows(admin, tree, count_queries):
    def measure(**query):
        db.session.remove()
        with count_queries() as counter:
            response = admin.get(members_url(tree.a), query_string=query)
        assert response.status_code == 200
        return counter.count, len(response.json["items"])

    _add_members(3, 0, tree)
    admin.get(members_url(tree.a))  # warm up
    few = measure()
    _add_members(12, 3, tree)
    many = measure()
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]
    assert measure(status="active")[0] == few[0]


@pytest.mark.parametrize("huge", [2**31, 10**20])
def test_ids_too_large_for_the_database_are_404_not_500(admin, member, tree, huge):
    api = member()
    for action in ("suspend", "reinstate", "revoke"):
        assert_error(admin.post(status_url(huge, action), json={}), 404, "not_found")
    assert_error(admin.get(members_url(huge)), 404, "not_found")
    # the session is still usable afterwards
    assert admin.post(status_url(api.identity["id"], "suspend"), json={}).status_code == 200
