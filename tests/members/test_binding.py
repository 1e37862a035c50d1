"""Binding a user to the roster with a WeChat-verified phone, and the admins'
review of the bindings that did not match."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import request_finished
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.members import phones
from app.members.models import BindingRequest, MemberIdentity, RosterEntry
from tests.conftest import assert_error

BIND = "/api/v1/me/member-binding"
IDENTITY = "/api/v1/me/identity"
ME = "/api/v1/me"
GET_PHONE_NUMBER = "/wxa/business/getuserphonenumber"
A1_NAME = "丰泽社区第一党支部"
A2_NAME = "丰泽社区第二党支部"


def requests_url(org_id):
    return f"/api/v1/orgs/{org_id}/binding-requests"


def approve_url(request_id):
    return f"/api/v1/binding-requests/{request_id}/approve"


def reject_url(request_id):
    return f"/api/v1/binding-requests/{request_id}/reject"


def add_entry(name, phone, branch_id, join_date=dt.date(2010, 7, 1), status="full") -> RosterEntry:
    entry = RosterEntry(branch_id=branch_id, name=name, phone_encrypted=phones.encrypt(phone),
                        phone_hash=phones.lookup_hash(phone), phone_masked=phones.mask(phone),
                        join_date=join_date, member_status=status)
    db.session.add(entry)
    db.session.commit()
    return entry


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def states() -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(BindingRequest.id, BindingRequest.state)).all())


@pytest.fixture
def bind(wx):
    def do(api, name, phone, branch_id=None, headers=None, country_code="86"):
        body = {"name": name, "phone_code": wx.phone_code(phone, country_code=country_code)}
        if branch_id is not None:
            body["branch_id"] = branch_id
        return api.post(BIND, json=body, headers=headers)

    return do


@pytest.fixture
def bodies(app):
    """Every response body the app sends during the test."""
    seen: list[str] = []

    def record(sender, response, **extra):
        seen.append(response.get_data(as_text=True))

    request_finished.connect(record, app)
    yield seen
    request_finished.disconnect(record, app)


# ---- a clean match ---------------------------------------------------------------

def test_match_issues_an_active_identity(login, bind, tree, bodies, wx, client):
    add_entry("陈小文", "13812345678", tree.a1, dt.date(2010, 7, 1), "full")
    user = login("o-chen")
    assert user.get(ME).json["user"]["is_member"] is False
    assert_error(user.get(IDENTITY), 404, "not_found")

    response = bind(user, "陈小文", "13812345678")
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(IDENTITY)
    body = response.json
    assert body["state"] == "active"
    assert body["request"] is None
    card = body["identity"]
    assert card["name"] == "陈小文"
    assert card["branch"] == {"id": tree.a1, "kind": "party_branch", "name": A1_NAME}
    assert card["status"] == "active"
    assert card["member_status"] == "full"
    assert card["member_since"] == "2010-07-01"
    assert card["phone"] == "138****5678"
    assert re.fullmatch(r"DY\d{11}", card["identity_no"])

    assert user.get(IDENTITY).json == card
    me = user.get(ME).json
    assert me["user"]["is_member"] is True
    assert me["identity"]["identity_no"] == card["identity_no"]
    # a new login says so too
    again = client.post("/api/v1/auth/wechat/login", json={"code": wx.code("o-chen")}).json
    assert again["user"]["is_member"] is True
    assert count(BindingRequest) == 0
    assert not any("13812345678" in b for b in bodies)


def test_name_is_matched_without_surrounding_spaces(login, bind, tree):
    add_entry("陈小文", "13812345678", tree.a1)
    assert bind(login("o-chen"), " 陈小文 ", "13812345678").status_code == 201


def test_a_clean_match_withdraws_a_pending_request(login, bind, tree):
    add_entry("陈小文", "13812345678", tree.a1)
    user = login("o-chen")
    first = bind(user, "陈晓文", "13812345678").json["request"]  # typo: pending
    assert bind(user, "陈小文", "13812345678").status_code == 201
    assert states() == {first["id"]: "withdrawn"}


# ---- name mismatch: a request to the entry's branch -----------------------------------

def test_name_mismatch_goes_to_the_branch_admin_who_approves(login, login_as, bind, tree, bodies):
    add_entry("陈小文", "13812345678", tree.a2, dt.date(2015, 6, 1), "probationary")
    user = login("o-chen")
    response = bind(user, "陈晓文", "13812345678")
    assert response.status_code == 202, response.json
    assert response.headers["Location"].endswith(BIND)
    body = response.json
    assert body["state"] == "pending" and body["identity"] is None
    request = body["request"]
    assert request["mismatch"] == "name_mismatch"
    assert request["state"] == "pending"
    assert request["org"] == {"id": tree.a2, "kind": "party_branch", "name": A2_NAME}
    assert request["name"] == "陈晓文"
    assert request["phone"] == "138****5678"
    assert request["user_id"] == user.user_id
    assert request["decided_at"] is None and request["reject_reason"] is None
    assert user.get(BIND).json == request
    assert user.get(ME).json["user"]["is_member"] is False
    assert_error(user.get(IDENTITY), 404, "not_found")

    # routed to branch a2: its admin and the community's admin see it, a1's does not
    branch_admin = login_as("org_admin", tree.a2)
    listed = branch_admin.get(requests_url(tree.a2), query_string={"state": "pending"}).json
    assert [r["id"] for r in listed["items"]] == [request["id"]]
    community_admin = login_as("org_admin", tree.a)
    listed = community_admin.get(requests_url(tree.a), query_string={"state": "pending"}).json
    assert [r["id"] for r in listed["items"]] == [request["id"]]
    other_branch = login_as("org_admin", tree.a1)
    assert other_branch.get(requests_url(tree.a1)).json["items"] == []
    assert_error(other_branch.post(approve_url(request["id"]), json={}), 404, "not_found")

    approved = branch_admin.post(approve_url(request["id"]), json={})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "active"
    assert approved.json["user_id"] == user.user_id
    card = user.get(IDENTITY).json
    assert card["status"] == "active"
    assert card["name"] == "陈小文"  # the roster's name, not the typo
    assert card["branch"]["id"] == tree.a2
    assert card["member_since"] == "2015-06-01"
    assert card["member_status"] == "probationary"
    assert user.get(ME).json["user"]["is_member"] is True

    mine = user.get(BIND).json
    assert mine["state"] == "approved" and mine["decided_at"]
    assert community_admin.get(requests_url(tree.a), query_string={"state": "pending"}).json["items"] == []
    assert [r["state"] for r in community_admin.get(requests_url(tree.a)).json["items"]] == ["approved"]
    assert not any("13812345678" in b for b in bodies)


def test_reject_with_a_reason_the_user_sees(login, login_as, bind, tree):
    add_entry("陈小文", "13812345678", tree.a1)
    user = login("o-chen")
    request_id = bind(user, "张三", "13812345678").json["request"]["id"]
    admin = login_as("org_admin", tree.a)
    assert_error(admin.post(reject_url(request_id), json={}), 422, "validation_failed")
    assert_error(admin.post(reject_url(request_id), json={"reason": ""}), 422, "validation_failed")
    response = admin.post(reject_url(request_id), json={"reason": "姓名与名单不符"})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "rejected"
    mine = user.get(BIND).json
    assert mine["state"] == "rejected"
    assert mine["reject_reason"] == "姓名与名单不符"
    assert mine["decided_at"]
    assert_error(user.get(IDENTITY), 404, "not_found")
    assert user.get(ME).json["user"]["is_member"] is False
    assert_error(admin.post(reject_url(request_id), json={"reason": "again"}), 409, "request_not_pending")
    assert_error(admin.post(approve_url(request_id), json={}), 409, "request_not_pending")
    assert count(MemberIdentity) == 0


def test_no_binding_request_yet_is_404(login):
    assert_error(login("o-new").get(BIND), 404, "not_found")


# ---- phones on no roster ----------------------------------------------------------

def test_unknown_phone_needs_a_branch(login, bind, tree):
    user = login("o-new")
    error = assert_error(bind(user, "陈小文", "13812345678"), 422, "branch_required")
    assert error["message"]
    assert count(BindingRequest) == 0
    response = bind(user, "陈小文", "13812345678", branch_id=tree.a1)
    assert response.status_code == 202, response.json
    request = response.json["request"]
    assert request["mismatch"] == "not_in_roster"
    assert request["org"]["id"] == tree.a1
    assert request["state"] == "pending"


@pytest.mark.parametrize("which", ["community", "missing"])
def test_branch_id_must_be_a_party_branch(login, bind, tree, which):
    branch_id = tree.a if which == "community" else 999_999
    error = assert_error(bind(login("o-new"), "陈小文", "13812345678", branch_id=branch_id),
                         422, "validation_failed")
    assert "branch_id" in error["details"]["fields"]
    assert count(BindingRequest) == 0


def test_approving_an_unknown_phone_needs_join_date_and_status(login, login_as, bind, tree):
    user = login("o-new")
    request_id = bind(user, "陈小文", "13812345678", branch_id=tree.a1).json["request"]["id"]
    admin = login_as("org_admin", tree.a1)

    error = assert_error(admin.post(approve_url(request_id), json={}), 422, "validation_failed")
    assert set(error["details"]["fields"]) == {"join_date", "member_status"}
    error = assert_error(admin.post(approve_url(request_id), json={"join_date": "2012-07-01"}),
                         422, "validation_failed")
    assert set(error["details"]["fields"]) == {"member_status"}
    error = assert_error(admin.post(approve_url(request_id), json={
        "join_date": "2012-07-01", "member_status": "veteran"}), 422, "validation_failed")
    assert set(error["details"]["fields"]) == {"member_status"}
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    error = assert_error(admin.post(approve_url(request_id), json={
        "join_date": future, "member_status": "full"}), 422, "validation_failed")
    assert set(error["details"]["fields"]) == {"join_date"}
    # nothing half-written by the refusals
    assert count(RosterEntry) == 0 and count(MemberIdentity) == 0
    assert states() == {request_id: "pending"}

    response = admin.post(approve_url(request_id), json={"join_date": "2012-07-01",
                                                         "member_status": "probationary"})
    assert response.status_code == 200, response.json
    card = user.get(IDENTITY).json
    assert card["status"] == "active"
    assert card["name"] == "陈小文"
    assert card["branch"]["id"] == tree.a1
    assert card["member_since"] == "2012-07-01"
    assert card["member_status"] == "probationary"
    assert card["phone"] == "138****5678"
    # the roster now holds the phone, encrypted like an imported one
    roster = admin.get(f"/api/v1/orgs/{tree.a1}/roster").json["items"]
    assert [(r["name"], r["phone"]) for r in roster] == [("陈小文", "138****5678")]
    entry = db.session.scalar(select(RosterEntry))
    assert phones.decrypt(entry.phone_encrypted) == "13812345678"
    assert entry.phone_hash == phones.lookup_hash("13812345678")

    assert_error(admin.post(approve_url(request_id), json={}), 409, "request_not_pending")
    assert count(RosterEntry) == 1 and count(MemberIdentity) == 1


# ---- who may review ------------------------------------------------------------------

def test_admins_of_another_community_cannot_see_or_decide(login, login_as, bind, tree):
    add_entry("陈小文", "13812345678", tree.a1)
    request_id = bind(login("o-chen"), "陈晓文", "13812345678").json["request"]["id"]
    admin_b = login_as("org_admin", tree.b)
    assert_error(admin_b.get(requests_url(tree.a)), 404, "not_found")
    assert_error(admin_b.get(requests_url(tree.a1)), 404, "not_found")
    assert admin_b.get(requests_url(tree.b)).json == {"items": [], "next_cursor": None}
    assert_error(admin_b.post(approve_url(request_id), json={}), 404, "not_found")
    assert_error(admin_b.post(reject_url(request_id), json={"reason": "no"}), 404, "not_found")
    resident = login_as(None)
    assert_error(resident.get(requests_url(tree.a)), 404, "not_found")
    assert_error(resident.post(approve_url(request_id), json={}), 404, "not_found")
    center_admin = login_as("center_admin", tree.a)
    assert_error(center_admin.get(requests_url(tree.a)), 403, "forbidden")
    assert_error(center_admin.post(approve_url(request_id), json={}), 403, "forbidden")
    admin_a = login_as("org_admin", tree.a)
    assert_error(admin_a.post(approve_url(999_999), json={}), 404, "not_found")
    assert states() == {request_id: "pending"}
    assert count(MemberIdentity) == 0


def test_request_list_rejects_an_unknown_state(login_as, tree):
    admin = login_as("org_admin", tree.a)
    error = assert_error(admin.get(requests_url(tree.a), query_string={"state": "lost"}),
                         422, "validation_failed")
    assert "state" in error["details"]["fields"]


# ---- conflicts ------------------------------------------------------------------------

def test_binding_again_when_already_a_member_is_409(member, bind, wechat_server):
    api = member("陈小文", "13812345678")
    calls = wechat_server.state.calls[GET_PHONE_NUMBER]
    assert_error(bind(api, "陈小文", "13812345678"), 409, "already_member")
    assert_error(bind(api, "王五", "13900000002"), 409, "already_member")
    assert wechat_server.state.calls[GET_PHONE_NUMBER] == calls  # refused before asking WeChat
    assert count(BindingRequest) == 0 and count(MemberIdentity) == 1


def test_a_phone_already_bound_goes_pending_and_cannot_be_approved(member, login, login_as, bind, tree):
    holder = member("陈小文", "13812345678", tree.a1)
    other = login("o-other-phone-owner")
    response = bind(other, "陈小文", "13812345678")
    assert response.status_code == 202, response.json
    request = response.json["request"]
    assert request["mismatch"] == "already_bound"
    assert request["org"]["id"] == tree.a1

    admin = login_as("org_admin", tree.a)
    assert_error(admin.post(approve_url(request["id"]), json={}), 409, "phone_already_bound")
    # nothing changed: the holder keeps the identity, the request is still open
    assert states() == {request["id"]: "pending"}
    assert holder.get(IDENTITY).json["status"] == "active"
    assert_error(other.get(IDENTITY), 404, "not_found")
    assert count(MemberIdentity) == 1
    # the admin can still reject it
    assert admin.post(reject_url(request["id"]), json={"reason": "手机号已被绑定"}).status_code == 200


def test_invalid_or_used_phone_code_is_401(login, tree, wx, member):
    add_entry("王五", "13900000002", tree.a1)
    user = login("o-new")
    assert_error(user.post(BIND, json={"name": "王五", "phone_code": "not-a-code"}),
                 401, "wechat_code_invalid")
    code = wx.phone_code("13812345678")
    assert_error(user.post(BIND, json={"name": "陈小文", "phone_code": code}), 422, "branch_required")
    assert_error(user.post(BIND, json={"name": "陈小文", "phone_code": code, "branch_id": tree.a1}),
                 401, "wechat_code_invalid")  # the code was used up by the first try
    assert count(BindingRequest) == 0 and count(MemberIdentity) == 0


def test_a_foreign_number_is_not_supported(login, bind, tree):
    error = assert_error(bind(login("o-hk"), "陈小文", "61234567", branch_id=tree.a1,
                              country_code="852"), 422, "phone_not_supported")
    assert error["message"]
    assert count(BindingRequest) == 0


def test_request_body_is_validated(login, wx):
    user = login("o-new")
    for body, field in (({"phone_code": "x"}, "name"), ({"name": "陈小文"}, "phone_code"),
                        ({"name": "", "phone_code": "x"}, "name"),
                        ({"name": "陈" * 51, "phone_code": "x"}, "name"),
                        ({"name": "陈小文", "phone_code": "x", "extra": 1}, "extra"),
                        ({"name": "陈小文", "phone_code": "x", "branch_id": "a1"}, "branch_id")):
        error = assert_error(user.post(BIND, json=body), 422, "validation_failed")
        assert field in error["details"]["fields"], (body, error)
    error = assert_error(user.post(BIND, json={"name": "   ", "phone_code": wx.phone_code("13812345678")}),
                         422, "validation_failed")
    assert "name" in error["details"]["fields"]
    assert_error(user.post(BIND, data="{not json", content_type="application/json"), 400, "malformed_json")
    assert count(BindingRequest) == 0


def test_binding_needs_a_login(client, wx):
    assert_error(client.post(BIND, json={"name": "陈小文", "phone_code": wx.phone_code("13812345678")}),
                 401, "unauthorized")


# ---- one pending request at a time --------------------------------------------------------

def test_a_new_attempt_withdraws_the_previous_pending_request(login, login_as, bind, tree):
    add_entry("陈小文", "13812345678", tree.a1)
    user = login("o-chen")
    first = bind(user, "陈晓文", "13812345678").json["request"]["id"]
    second = bind(user, "陈晓文", "13900000002", branch_id=tree.a2).json["request"]
    assert second["mismatch"] == "not_in_roster"
    assert states() == {first: "withdrawn", second["id"]: "pending"}
    assert user.get(BIND).json["id"] == second["id"]

    admin = login_as("org_admin", tree.a)
    pending = admin.get(requests_url(tree.a), query_string={"state": "pending"}).json["items"]
    assert [r["id"] for r in pending] == [second["id"]]
    withdrawn = admin.get(requests_url(tree.a), query_string={"state": "withdrawn"}).json["items"]
    assert [r["id"] for r in withdrawn] == [first]
    assert_error(admin.post(approve_url(first), json={}), 409, "request_not_pending")

    # a refused attempt does not withdraw anything
    assert_error(bind(user, "陈晓文", "13700000000"), 422, "branch_required")
    assert states() == {first: "withdrawn", second["id"]: "pending"}


# ---- retries --------------------------------------------------------------------------

def test_idempotency_key_replays_an_active_binding(login, tree, wx, wechat_server):
    add_entry("陈小文", "13812345678", tree.a1)
    user = login("o-chen")
    body = {"name": "陈小文", "phone_code": wx.phone_code("13812345678")}
    key = {"Idempotency-Key": "bind-1"}
    first = user.post(BIND, json=body, headers=key)
    assert first.status_code == 201, first.json
    calls = wechat_server.state.calls[GET_PHONE_NUMBER]

    replay = user.post(BIND, json=body, headers=key)
    assert replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert wechat_server.state.calls[GET_PHONE_NUMBER] == calls
    assert count(MemberIdentity) == 1

    # the same key with another body is refused; without the key, the member is a member
    other = {"name": "陈小文", "phone_code": wx.phone_code("13812345678")}
    assert_error(user.post(BIND, json=other, headers=key), 422, "idempotency_key_reused")
    assert_error(user.post(BIND, json=other), 409, "already_member")


def test_idempotency_key_replays_a_pending_binding(login, tree, wx, wechat_server):
    user = login("o-new")
    body = {"name": "陈小文", "phone_code": wx.phone_code("13812345678"), "branch_id": tree.a1}
    key = {"Idempotency-Key": "bind-2"}
    first = user.post(BIND, json=body, headers=key)
    assert first.status_code == 202, first.json
    calls = wechat_server.state.calls[GET_PHONE_NUMBER]
    replay = user.post(BIND, json=body, headers=key)
    assert replay.status_code == 202
    assert replay.json == first.json
    assert wechat_server.state.calls[GET_PHONE_NUMBER] == calls
    assert states() == {first.json["request"]["id"]: "pending"}  # not withdrawn by a second run


def test_idempotency_key_replays_an_error_too(login, tree, wx, wechat_server):
    user = login("o-new")
    body = {"name": "陈小文", "phone_code": wx.phone_code("13812345678")}
    key = {"Idempotency-Key": "bind-3"}
    assert_error(user.post(BIND, json=body, headers=key), 422, "branch_required")
    calls = wechat_server.state.calls[GET_PHONE_NUMBER]
    assert_error(user.post(BIND, json=body, headers=key), 422, "branch_required")
    assert wechat_server.state.calls[GET_PHONE_NUMBER] == calls


def test_wechat_down_is_503_and_writes_nothing(login, tree, wx, wechat_server):
    add_entry("陈小文", "13812345678", tree.a1)
    user = login("o-chen")
    wechat_server.state.inject_failure(GET_PHONE_NUMBER, -1, 1)
    body = {"name": "陈小文", "phone_code": wx.phone_code("13812345678")}
    key = {"Idempotency-Key": "bind-4"}
    assert_error(user.post(BIND, json=body, headers=key), 503, "wechat_unavailable")
    assert count(MemberIdentity) == 0 and count(BindingRequest) == 0
    # a 5xx is not kept: the retry with the same key runs again and succeeds
    assert user.post(BIND, json=body, headers=key).status_code == 201


# ---- the admin list --------------------------------------------------------------------

def _add_requests(n: int, org_id: int, start: int, own_branch: bool = False) -> None:
    from app.orgs.models import OrgNode
    from app.orgs.services import insert_node

    for i in range(start, start + n):
        user = User(openid=f"o-req-{i}")
        db.session.add(user)
        db.session.flush()
        if own_branch:  # a branch of its own for every row, so that a lazy load per row would show
            org_id = insert_node("party_branch", f"第{i}党支部", db.session.get(OrgNode, org_id)).id
        phone = f"138{i:08d}"
        db.session.add(BindingRequest(user_id=user.id, org_id=org_id, name=f"申请人{i}",
                                      phone_encrypted=phones.encrypt(phone),
                                      phone_hash=phones.lookup_hash(phone),
                                      phone_masked=phones.mask(phone), mismatch="not_in_roster"))
    db.session.commit()


def test_request_list_pages_newest_first(login_as, tree):
    _add_requests(5, tree.a1, 0)
    admin = login_as("org_admin", tree.a)
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get(requests_url(tree.a), query_string=query).json
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert all(r["phone"].count("*") == 4 for r in admin.get(requests_url(tree.a)).json["items"])


def test_request_list_query_count_does_not_grow_with_rows(login_as, tree, count_queries):
    admin = login_as("org_admin", tree.a)

    def measure():
        db.session.remove()
        with count_queries() as counter:
            response = admin.get(requests_url(tree.a), query_string={"state": "pending"})
        assert response.status_code == 200
        return counter.count, len(response.json["items"])

    _add_requests(3, tree.a, 0, own_branch=True)
    admin.get(requests_url(tree.a))  # warm up
    few = measure()
    _add_requests(12, tree.a, 3, own_branch=True)
    many = measure()
    assert (few[1], many[1]) == (3, 15)
    assert few[0] == many[0]


# ---- nothing half-written ---------------------------------------------------------------

def _committed(sql: str) -> list:
    """What another connection sees: only what was committed."""
    from sqlalchemy import text

    with db.engine.connect() as connection:
        return connection.execute(text(sql)).all()


def test_a_crash_while_approving_writes_nothing(login, login_as, bind, tree, monkeypatch):
    from app.members import services

    user = login("o-new")
    request_id = bind(user, "陈小文", "13812345678", branch_id=tree.a1).json["request"]["id"]
    admin = login_as("org_admin", tree.a1)

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    # the roster entry is already flushed when the identity fails
    monkeypatch.setattr(services, "_issue_identity", crash)
    body = {"join_date": "2012-07-01", "member_status": "full"}
    assert_error(admin.post(approve_url(request_id), json=body), 500, "internal_error")
    assert _committed("SELECT id FROM roster_entries") == []
    assert _committed("SELECT id FROM member_identities") == []
    assert _committed("SELECT state FROM binding_requests") == [("pending",)]
    db.session.rollback()  # what the request teardown does in production
    monkeypatch.undo()
    assert admin.post(approve_url(request_id), json=body).status_code == 200
    assert user.get(IDENTITY).json["status"] == "active"


def test_a_crash_while_binding_keeps_the_previous_request(login, bind, tree, monkeypatch):
    user = login("o-new")
    first = bind(user, "陈小文", "13812345678", branch_id=tree.a1).json["request"]["id"]

    def crash(phone):
        raise RuntimeError("boom")

    # the previous request is already withdrawn (flushed) when the new one fails
    monkeypatch.setattr(phones, "encrypt", crash)
    assert_error(bind(user, "陈小文", "13900000002", branch_id=tree.a2), 500, "internal_error")
    assert _committed("SELECT id, state FROM binding_requests") == [(first, "pending")]
    db.session.rollback()
    monkeypatch.undo()
    assert user.get(BIND).json["id"] == first


@pytest.mark.parametrize("huge", [2**31, 10**20])
def test_ids_too_large_for_the_database_are_404_or_422_not_500(login, login_as, bind, tree, huge):
    admin = login_as("org_admin", tree.a)
    assert_error(admin.post(approve_url(huge), json={}), 404, "not_found")
    assert_error(admin.post(reject_url(huge), json={"reason": "x"}), 404, "not_found")
    assert_error(admin.get(requests_url(huge)), 404, "not_found")
    for branch_id in (huge, 0, -1):
        error = assert_error(bind(login("o-new"), "陈小文", "13812345678", branch_id=branch_id),
                             422, "validation_failed")
        assert "branch_id" in error["details"]["fields"]
    # the session is still usable afterwards
    assert bind(login("o-new"), "陈小文", "13812345678", branch_id=tree.a1).status_code == 202
