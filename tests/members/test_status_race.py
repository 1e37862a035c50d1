"""Two admins change one identity at once: exactly one wins (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.members import services
from app.members.models import BindingRequest, MemberIdentity
from tests.members.races import all_read_first, fire, one_winner

REPORT = "/api/v1/me/community-report"


def stored(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_suspend_and_revoke_at_once_one_wins(live_url, member, login_as, tree, monkeypatch):
    api = member("陈小文", "13812345678")
    identity_id = api.identity["id"]
    first, second = login_as("org_admin", tree.a), login_as("org_admin", tree.a1)
    all_read_first(monkeypatch, services, "authorize", 2)
    base = f"{live_url}/api/v1/members/{identity_id}"
    responses = fire([(f"{base}/suspend", {"reason": "转出中"}, first.headers),
                      (f"{base}/revoke", {"reason": "开除党籍"}, second.headers)])
    won, lost = one_winner(responses)
    status = won.json()["status"]
    assert status in ("suspended", "revoked")
    assert lost.json()["error"]["details"]["state"] == status  # names the status now stored
    identity = stored(MemberIdentity, identity_id)
    assert identity.status == status
    assert identity.status_reason == ("转出中" if status == "suspended" else "开除党籍")
    monkeypatch.undo()
    # either way the member is stopped at once, with the same token
    error = api.post(REPORT, json={"community_id": tree.a}).json["error"]
    assert (error["code"], error["details"]["status"]) == ("identity_inactive", status)


def test_approve_and_reject_of_one_binding_request_at_once_one_wins(
        live_url, login, wx, login_as, tree, monkeypatch):
    user = login("o-new")
    response = user.post("/api/v1/me/member-binding", json={
        "name": "陈小文", "phone_code": wx.phone_code("13812345678"), "branch_id": tree.a1})
    assert response.status_code == 202, response.json
    request_id = response.json["request"]["id"]
    admin = login_as("org_admin", tree.a1)
    all_read_first(monkeypatch, services, "authorize", 2)
    base = f"{live_url}/api/v1/binding-requests/{request_id}"
    responses = fire([(f"{base}/approve", {"join_date": "2012-07-01", "member_status": "full"},
                       admin.headers),
                      (f"{base}/reject", {"reason": "查无此人"}, admin.headers)])
    won, lost = one_winner(responses)
    state = "approved" if "identity_no" in won.json() else "rejected"
    assert lost.json()["error"]["details"]["state"] == state
    assert stored(BindingRequest, request_id).state == state
    identities = db.session.scalar(select(func.count(MemberIdentity.id))
                                   .where(MemberIdentity.user_id == user.user_id))
    assert identities == (1 if state == "approved" else 0)
