"""Dual report (双报到) over HTTP: members report where they live, units report
to a community, and the community's admins decide."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.orgs.models import MemberCommunityReport, OrgCommunityReport, OrgNode
from tests.conftest import assert_error

ORGS = "/api/v1/orgs"
MY_REPORT = "/api/v1/me/community-report"


def member_reports(community_id: int, query: str = "") -> str:
    return f"{ORGS}/{community_id}/member-reports{query}"


def org_reports(node_id: int, query: str = "") -> str:
    return f"{ORGS}/{node_id}/community-reports{query}"


def states(api, community_id: int, kind: str = "member") -> dict[int, str]:
    url = member_reports(community_id) if kind == "member" else org_reports(community_id)
    response = api.get(f"{url}?limit=100")
    assert response.status_code == 200, response.json
    return {item["id"]: item["state"] for item in response.json["items"]}


def count(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)


@pytest.fixture
def admins(login_as, tree):
    from types import SimpleNamespace

    return SimpleNamespace(a=login_as("org_admin", tree.a), b=login_as("org_admin", tree.b))


# ---- member report ------------------------------------------------------------

def test_a_member_reports_residence_and_the_community_confirms(member, admins, tree):
    m = member()
    assert_error(m.get(MY_REPORT), 404, "not_found")
    assert m.get("/api/v1/me").json["community_report"] is None

    response = m.post(MY_REPORT, json={"community_id": tree.a})
    assert response.status_code == 201, response.json
    report = response.json
    assert response.headers["Location"].endswith(MY_REPORT)
    assert report["user_id"] == m.user_id
    assert report["community"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    assert report["state"] == "pending"
    assert report["decided_at"] is None and report["decline_reason"] is None and report["ended_at"] is None
    assert report["created_at"].endswith(("Z", "+00:00"))
    assert m.get(MY_REPORT).json == report
    assert m.get("/api/v1/me").json["community_report"] == report

    listed = admins.a.get(member_reports(tree.a))
    assert listed.status_code == 200
    assert listed.json == {"items": [report], "next_cursor": None}
    assert [r["id"] for r in admins.a.get(member_reports(tree.a, "?state=pending")).json["items"]] == [report["id"]]
    assert admins.a.get(member_reports(tree.a, "?state=confirmed")).json["items"] == []

    confirmed = admins.a.post(f"/api/v1/member-reports/{report['id']}/confirm", json={})
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["state"] == "confirmed"
    assert confirmed.json["decided_at"] is not None
    assert m.get(MY_REPORT).json["state"] == "confirmed"
    assert m.get("/api/v1/me").json["community_report"]["state"] == "confirmed"
    assert states(admins.a, tree.a) == {report["id"]: "confirmed"}
    row = db.session.get(MemberCommunityReport, report["id"])
    assert row.decided_by_id == admins.a.user_id


def test_a_member_may_live_in_another_community_than_their_branch(member, admins, tree):
    m = member(branch_id=tree.a1)
    report = m.post(MY_REPORT, json={"community_id": tree.b}).json
    assert admins.b.post(f"/api/v1/member-reports/{report['id']}/confirm").status_code == 200
    assert m.get(MY_REPORT).json["community"]["id"] == tree.b


def confirmed_in(m, admin, community_id: int) -> dict:
    report = m.post(MY_REPORT, json={"community_id": community_id})
    assert report.status_code == 201, report.json
    response = admin.post(f"/api/v1/member-reports/{report.json['id']}/confirm", json={})
    assert response.status_code == 200, response.json
    return response.json


def test_moving_house(member, admins, tree):
    m = member()
    old = confirmed_in(m, admins.a, tree.a)

    response = m.post(MY_REPORT, json={"community_id": tree.b})
    assert response.status_code == 201, response.json
    new = response.json
    assert new["state"] == "pending"
    # until B confirms, A is still where the member lives
    assert states(admins.a, tree.a) == {old["id"]: "confirmed"}
    current = m.get(MY_REPORT).json
    assert (current["id"], current["state"]) == (old["id"], "confirmed")
    assert m.get("/api/v1/me").json["community_report"]["id"] == old["id"]
    assert states(admins.b, tree.b) == {new["id"]: "pending"}

    response = admins.b.post(f"/api/v1/member-reports/{new['id']}/confirm", json={})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "confirmed"

    # A's residence ended; it is kept and A's admin still sees it
    ended = admins.a.get(member_reports(tree.a, "?state=ended")).json["items"]
    assert [(r["id"], r["state"]) for r in ended] == [(old["id"], "ended")]
    assert ended[0]["ended_at"] is not None
    assert admins.a.get(member_reports(tree.a, "?state=confirmed")).json["items"] == []
    assert states(admins.a, tree.a) == {old["id"]: "ended"}
    current = m.get(MY_REPORT).json
    assert (current["id"], current["state"], current["community"]["id"]) == (new["id"], "confirmed", tree.b)
    assert m.get("/api/v1/me").json["community_report"]["id"] == new["id"]
    assert count(MemberCommunityReport, user_id=m.user_id, state="confirmed") == 1

    # and moving back later is a new report
    back = m.post(MY_REPORT, json={"community_id": tree.a})
    assert back.status_code == 201
    assert states(admins.a, tree.a) == {old["id"]: "ended", back.json["id"]: "pending"}


def test_a_second_pending_report_replaces_the_first(member, admins, tree):
    m = member()
    first = m.post(MY_REPORT, json={"community_id": tree.a}).json
    second = m.post(MY_REPORT, json={"community_id": tree.b})
    assert second.status_code == 201, second.json
    assert states(admins.a, tree.a) == {first["id"]: "withdrawn"}
    assert [r["id"] for r in admins.a.get(member_reports(tree.a, "?state=withdrawn")).json["items"]] == [first["id"]]
    assert m.get(MY_REPORT).json["id"] == second.json["id"]
    # the withdrawn one can no longer be decided
    assert_error(admins.a.post(f"/api/v1/member-reports/{first['id']}/confirm", json={}),
                 409, "report_not_pending")
    # reporting to A again is allowed: the old request is no longer live
    third = m.post(MY_REPORT, json={"community_id": tree.a})
    assert third.status_code == 201
    assert states(admins.b, tree.b) == {second.json["id"]: "withdrawn"}
    assert count(MemberCommunityReport, user_id=m.user_id, state="pending") == 1


def test_reporting_again_to_the_same_community_is_409(member, admins, tree):
    m = member()
    pending = m.post(MY_REPORT, json={"community_id": tree.a}).json
    assert_error(m.post(MY_REPORT, json={"community_id": tree.a}), 409, "already_reported")
    assert states(admins.a, tree.a) == {pending["id"]: "pending"}

    admins.a.post(f"/api/v1/member-reports/{pending['id']}/confirm", json={})
    assert_error(m.post(MY_REPORT, json={"community_id": tree.a}), 409, "already_reported")

    # confirmed in A and pending in B: reporting to either again changes nothing
    moving = m.post(MY_REPORT, json={"community_id": tree.b}).json
    assert_error(m.post(MY_REPORT, json={"community_id": tree.b}), 409, "already_reported")
    assert_error(m.post(MY_REPORT, json={"community_id": tree.a}), 409, "already_reported")
    assert states(admins.b, tree.b) == {moving["id"]: "pending"}  # not withdrawn by the refused call
    assert states(admins.a, tree.a) == {pending["id"]: "confirmed"}
    assert count(MemberCommunityReport, user_id=m.user_id) == 2


def test_a_non_member_cannot_report(login_as, tree):
    nobody = login_as(None)
    assert_error(nobody.post(MY_REPORT, json={"community_id": tree.a}), 403, "not_a_member")
    admin = login_as("org_admin", tree.a)  # an admin is not a member either
    assert_error(admin.post(MY_REPORT, json={"community_id": tree.a}), 403, "not_a_member")
    assert count(MemberCommunityReport) == 0


def test_a_revoked_member_is_refused_at_once(member, login_as, tree):
    m = member()
    branch_admin = login_as("org_admin", tree.a1)
    response = branch_admin.post(f"/api/v1/members/{m.identity['id']}/revoke", json={"reason": "已转出组织关系"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "revoked"
    error = assert_error(m.post(MY_REPORT, json={"community_id": tree.a}), 403, "identity_inactive")
    assert error["details"] == {"status": "revoked"}
    assert count(MemberCommunityReport) == 0


def test_a_suspended_member_is_refused(member, login_as, tree):
    m = member()
    login_as("org_admin", tree.a1).post(f"/api/v1/members/{m.identity['id']}/suspend", json={})
    assert_error(m.post(MY_REPORT, json={"community_id": tree.a}), 403, "identity_inactive")


@pytest.mark.parametrize("target", ["district", "street", "a1", "unit", "missing"])
def test_reporting_to_something_other_than_a_community_is_422(member, tree, target):
    m = member()
    community_id = 987654 if target == "missing" else getattr(tree, target)
    assert_error(m.post(MY_REPORT, json={"community_id": community_id}), 422, "not_a_community")
    assert count(MemberCommunityReport) == 0


def test_report_validation(member, tree):
    m = member()
    for body in ({}, {"community_id": "A"}, {"community_id": tree.a, "state": "confirmed"}):
        assert_error(m.post(MY_REPORT, json=body), 422, "validation_failed")
    assert count(MemberCommunityReport) == 0


def test_only_the_communitys_admins_decide(member, admins, login_as, tree):
    m = member()
    report = m.post(MY_REPORT, json={"community_id": tree.a}).json
    for verb in ("confirm", "decline"):
        assert_error(admins.b.post(f"/api/v1/member-reports/{report['id']}/{verb}", json={}), 404, "not_found")
        assert_error(m.post(f"/api/v1/member-reports/{report['id']}/{verb}", json={}), 404, "not_found")
        assert_error(login_as("center_admin", tree.a).post(
            f"/api/v1/member-reports/{report['id']}/{verb}", json={}), 403, "forbidden")
    assert_error(admins.a.post("/api/v1/member-reports/987654/confirm", json={}), 404, "not_found")
    assert_error(admins.b.get(member_reports(tree.a)), 404, "not_found")
    assert_error(m.get(member_reports(tree.a)), 404, "not_found")
    assert states(admins.a, tree.a) == {report["id"]: "pending"}
    # an admin higher up the tree may decide
    street = login_as("org_admin", tree.street)
    assert street.post(f"/api/v1/member-reports/{report['id']}/confirm", json={}).status_code == 200


def test_confirming_twice_is_409(member, admins, tree):
    m = member()
    report = m.post(MY_REPORT, json={"community_id": tree.a}).json
    assert admins.a.post(f"/api/v1/member-reports/{report['id']}/confirm", json={}).status_code == 200
    assert_error(admins.a.post(f"/api/v1/member-reports/{report['id']}/confirm", json={}),
                 409, "report_not_pending")
    assert_error(admins.a.post(f"/api/v1/member-reports/{report['id']}/decline", json={"reason": "x"}),
                 409, "report_not_pending")
    assert states(admins.a, tree.a) == {report["id"]: "confirmed"}


def test_decline_with_a_reason(member, admins, tree):
    m = member()
    report = m.post(MY_REPORT, json={"community_id": tree.a}).json
    assert_error(admins.a.post(f"/api/v1/member-reports/{report['id']}/decline", json={"reason": "长" * 201}),
                 422, "validation_failed")
    assert_error(admins.a.post(f"/api/v1/member-reports/{report['id']}/decline", json={"why": "x"}),
                 422, "validation_failed")
    response = admins.a.post(f"/api/v1/member-reports/{report['id']}/decline",
                             json={"reason": "经核实不在本社区居住"})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "declined"
    assert response.json["decline_reason"] == "经核实不在本社区居住"
    assert response.json["decided_at"] is not None
    assert admins.a.get(member_reports(tree.a, "?state=declined")).json["items"][0]["decline_reason"] == \
        "经核实不在本社区居住"
    # nothing live is left; the member may report again
    assert_error(m.get(MY_REPORT), 404, "not_found")
    assert m.get("/api/v1/me").json["community_report"] is None
    assert m.post(MY_REPORT, json={"community_id": tree.a}).status_code == 201


def test_decline_keeps_the_confirmed_residence(member, admins, tree):
    m = member()
    home = confirmed_in(m, admins.a, tree.a)
    moving = m.post(MY_REPORT, json={"community_id": tree.b}).json
    assert admins.b.post(f"/api/v1/member-reports/{moving['id']}/decline", json={"reason": "x"}).status_code == 200
    assert states(admins.a, tree.a) == {home["id"]: "confirmed"}
    assert m.get(MY_REPORT).json["id"] == home["id"]


def test_member_report_list_pages_newest_first(member, admins, tree):
    reports = []
    for i in range(5):
        m = member(f"党员{i}", f"1380013810{i}")
        reports.append(m.post(MY_REPORT, json={"community_id": tree.a}).json["id"])
    seen, cursor = [], None
    while True:
        page = admins.a.get(member_reports(tree.a, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))).json
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(reports, reverse=True)
    assert_error(admins.a.get(member_reports(tree.a, "?state=lost")), 422, "validation_failed")
    assert_error(admins.a.get(member_reports(tree.a, "?cursor=garbage")), 422, "validation_failed")


def test_member_report_idempotency_key(member, tree):
    m = member()
    headers = {"Idempotency-Key": "report-home-1"}
    first = m.post(MY_REPORT, json={"community_id": tree.a}, headers=headers)
    assert first.status_code == 201
    replay = m.post(MY_REPORT, json={"community_id": tree.a}, headers=headers)
    assert replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count(MemberCommunityReport, user_id=m.user_id) == 1
    assert_error(m.post(MY_REPORT, json={"community_id": tree.b}, headers=headers),
                 422, "idempotency_key_reused")
    assert count(MemberCommunityReport, user_id=m.user_id) == 1


# ---- organization report ------------------------------------------------------

def test_a_unit_reports_to_a_community_and_the_community_confirms(login_as, admins, tree):
    unit_admin = login_as("org_admin", tree.unit)
    response = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a})
    assert response.status_code == 201, response.json
    report = response.json
    assert set(report) == {"id", "org", "community", "state", "created_at", "decided_at", "decline_reason"}
    assert report["org"] == {"id": tree.unit, "kind": "office_building", "name": "汇银大厦"}
    assert report["community"] == {"id": tree.a, "kind": "community", "name": "丰泽社区"}
    assert report["state"] == "pending"
    assert response.headers["Location"].endswith(org_reports(tree.a))
    assert db.session.get(OrgCommunityReport, report["id"]).requested_by_id == unit_admin.user_id

    listed = admins.a.get(org_reports(tree.a))
    assert listed.status_code == 200
    assert listed.json == {"items": [report], "next_cursor": None}
    assert admins.a.get(org_reports(tree.a, "?state=confirmed")).json["items"] == []

    confirmed = admins.a.post(f"/api/v1/community-reports/{report['id']}/confirm", json={})
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["state"] == "confirmed"
    assert confirmed.json["decided_at"] is not None
    assert states(admins.a, tree.a, "org") == {report["id"]: "confirmed"}
    assert_error(admins.a.post(f"/api/v1/community-reports/{report['id']}/confirm", json={}),
                 409, "report_not_pending")
    # B never sees A's units
    assert admins.b.get(org_reports(tree.b)).json["items"] == []
    assert_error(admins.b.get(org_reports(tree.a)), 404, "not_found")


def test_a_unit_may_report_to_several_communities(login_as, admins, tree):
    unit_admin = login_as("org_admin", tree.unit)
    assert unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}).status_code == 201
    assert unit_admin.post(org_reports(tree.unit), json={"community_id": tree.b}).status_code == 201
    assert len(states(admins.a, tree.a, "org")) == 1
    assert len(states(admins.b, tree.b, "org")) == 1


def test_a_community_is_not_a_unit(admins, login_as, tree):
    error = assert_error(admins.a.post(org_reports(tree.a), json={"community_id": tree.b}), 422, "not_a_unit")
    assert error["details"] == {"kind": "community"}
    street = login_as("org_admin", tree.street)
    assert_error(street.post(org_reports(tree.street), json={"community_id": tree.a}), 422, "not_a_unit")
    assert count(OrgCommunityReport) == 0


def test_a_unit_reports_only_to_a_community(login_as, tree):
    unit_admin = login_as("org_admin", tree.unit)
    for target in (tree.street, tree.unit, tree.a1, 987654):
        assert_error(unit_admin.post(org_reports(tree.unit), json={"community_id": target}),
                     422, "not_a_community")
    assert count(OrgCommunityReport) == 0


def test_only_the_units_admins_report_it(login_as, member, admins, tree):
    # B's admin cannot report a unit it does not manage, nor can a member, nor a viewer
    assert_error(admins.b.post(org_reports(tree.unit), json={"community_id": tree.b}), 404, "not_found")
    assert_error(member().post(org_reports(tree.unit), json={"community_id": tree.a}), 404, "not_found")
    viewer = login_as("center_admin", tree.unit)
    assert_error(viewer.post(org_reports(tree.unit), json={"community_id": tree.a}), 403, "forbidden")
    assert count(OrgCommunityReport) == 0


def test_a_duplicate_live_org_report_is_409(login_as, admins, tree):
    unit_admin = login_as("org_admin", tree.unit)
    first = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}).json
    assert_error(unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}), 409, "already_reported")
    admins.a.post(f"/api/v1/community-reports/{first['id']}/confirm", json={})
    assert_error(unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}), 409, "already_reported")
    # another admin of the same unit gets the same answer
    other = login_as("org_admin", tree.unit)
    assert_error(other.post(org_reports(tree.unit), json={"community_id": tree.a}), 409, "already_reported")
    assert count(OrgCommunityReport) == 1


def test_a_declined_org_report_can_be_made_again(login_as, admins, tree):
    unit_admin = login_as("org_admin", tree.unit)
    first = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}).json
    assert_error(admins.b.post(f"/api/v1/community-reports/{first['id']}/decline", json={"reason": "x"}),
                 404, "not_found")
    assert_error(unit_admin.post(f"/api/v1/community-reports/{first['id']}/confirm", json={}),
                 404, "not_found")
    declined = admins.a.post(f"/api/v1/community-reports/{first['id']}/decline", json={"reason": "服务内容不符"})
    assert declined.status_code == 200, declined.json
    assert (declined.json["state"], declined.json["decline_reason"]) == ("declined", "服务内容不符")
    assert_error(admins.a.post(f"/api/v1/community-reports/{first['id']}/confirm", json={}),
                 409, "report_not_pending")
    again = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a})
    assert again.status_code == 201
    assert states(admins.a, tree.a, "org") == {first["id"]: "declined", again.json["id"]: "pending"}
    assert admins.a.get(org_reports(tree.a, "?state=declined")).json["items"][0]["id"] == first["id"]


def test_org_report_idempotency_key(login_as, tree):
    unit_admin = login_as("org_admin", tree.unit)
    headers = {"Idempotency-Key": "9b1f0d52-unit-report"}
    first = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}, headers=headers)
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers

    replay = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a}, headers=headers)
    assert replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == first.headers["Location"]
    assert count(OrgCommunityReport) == 1

    reused = unit_admin.post(org_reports(tree.unit), json={"community_id": tree.b}, headers=headers)
    assert_error(reused, 422, "idempotency_key_reused")
    assert count(OrgCommunityReport) == 1
    # a new key for the same report meets the natural key
    assert_error(unit_admin.post(org_reports(tree.unit), json={"community_id": tree.a},
                                 headers={"Idempotency-Key": "another"}), 409, "already_reported")
    # keys are per user: another admin's same key is not a replay
    other = login_as("org_admin", tree.unit)
    assert_error(other.post(org_reports(tree.unit), json={"community_id": tree.a}, headers=headers),
                 409, "already_reported")
    assert count(OrgCommunityReport) == 1


# ---- no N+1 ---------------------------------------------------------------------

def _users(n: int, prefix: str) -> list[int]:
    users = [User(openid=f"{prefix}-{i}") for i in range(n)]
    db.session.add_all(users)
    db.session.flush()
    return [u.id for u in users]


def _measure(api, url, count_queries) -> tuple[int, int]:
    db.session.remove()  # a fresh session, as in a real request
    with count_queries() as q:
        response = api.get(url)
    assert response.status_code == 200, response.json
    return len(response.json["items"]), q.count


def test_member_report_list_query_count_does_not_grow(admins, tree, count_queries):
    def add(n, prefix):
        for i, user_id in enumerate(_users(n, prefix)):
            db.session.add(MemberCommunityReport(
                user_id=user_id, community_id=tree.a, state=("pending", "confirmed", "declined")[i % 3]))
        db.session.commit()

    add(3, "few")
    rows, small = _measure(admins.a, member_reports(tree.a, "?limit=100"), count_queries)
    assert rows == 3
    add(17, "many")
    rows, large = _measure(admins.a, member_reports(tree.a, "?limit=100"), count_queries)
    assert rows == 20
    assert large == small


def test_org_report_list_query_count_does_not_grow(admins, tree, count_queries):
    from app.orgs.services import insert_node

    def add(n, prefix):
        street = db.session.get(OrgNode, tree.street)
        for i in range(n):
            unit = insert_node("school", f"{prefix}学校{i}", street)
            db.session.add(OrgCommunityReport(org_id=unit.id, community_id=tree.a,
                                              state=("pending", "confirmed")[i % 2]))
        db.session.commit()

    add(3, "甲")
    rows, small = _measure(admins.a, org_reports(tree.a, "?limit=100"), count_queries)
    assert rows == 3
    add(17, "乙")
    rows, large = _measure(admins.a, org_reports(tree.a, "?limit=100"), count_queries)
    assert rows == 20
    assert large == small


def test_ids_too_large_for_the_database_are_404_or_422_not_500(member, admins, login_as, tree):
    huge = 2**31
    m = member()
    error = assert_error(m.post(MY_REPORT, json={"community_id": huge}), 422, "validation_failed")
    assert "community_id" in error["details"]["fields"]
    unit_admin = login_as("org_admin", tree.unit)
    assert_error(unit_admin.post(org_reports(tree.unit), json={"community_id": huge}), 422, "validation_failed")
    assert_error(unit_admin.post(org_reports(huge), json={"community_id": tree.a}), 404, "not_found")
    for kind in ("member-reports", "community-reports"):
        assert_error(admins.a.get(f"{ORGS}/{huge}/{kind}"), 404, "not_found")
        for verb in ("confirm", "decline"):
            assert_error(admins.a.post(f"/api/v1/{kind}/{huge}/{verb}", json={}), 404, "not_found")
    assert admins.a.get(member_reports(tree.a)).status_code == 200
