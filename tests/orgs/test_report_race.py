"""A community's two admins decide one report at once: exactly one wins."""
from __future__ import annotations

from app.extensions import db
from app.orgs import reports
from app.orgs.models import MemberCommunityReport, OrgCommunityReport
from tests.members.races import all_read_first, fire, one_winner


def stored(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_confirm_and_decline_of_one_member_report_at_once_one_wins(
        live_url, member, login_as, tree, monkeypatch):
    m = member()
    # an earlier residence, confirmed: a winning confirm ends it, a winning decline keeps it
    admin_b = login_as("org_admin", tree.b)
    old = m.post("/api/v1/me/community-report", json={"community_id": tree.b}).json["id"]
    assert admin_b.post(f"/api/v1/member-reports/{old}/confirm", json={}).status_code == 200
    report_id = m.post("/api/v1/me/community-report", json={"community_id": tree.a}).json["id"]
    first, second = login_as("org_admin", tree.a), login_as("org_admin", tree.street)
    all_read_first(monkeypatch, reports, "authorize", 2)
    base = f"{live_url}/api/v1/member-reports/{report_id}"
    responses = fire([(f"{base}/confirm", {}, first.headers),
                      (f"{base}/decline", {"reason": "不在本社区"}, second.headers)])
    won, lost = one_winner(responses)
    state = won.json()["state"]
    assert state in ("confirmed", "declined")
    assert lost.json()["error"]["details"]["state"] == state
    assert stored(MemberCommunityReport, report_id).state == state
    assert stored(MemberCommunityReport, old).state == ("ended" if state == "confirmed" else "confirmed")


def test_confirm_and_decline_of_one_unit_report_at_once_one_wins(live_url, login_as, tree, monkeypatch):
    unit_admin = login_as("org_admin", tree.unit)
    response = unit_admin.post(f"/api/v1/orgs/{tree.unit}/community-reports", json={"community_id": tree.a})
    assert response.status_code == 201, response.json
    report_id = response.json["id"]
    first, second = login_as("org_admin", tree.a), login_as("org_admin", tree.a)
    all_read_first(monkeypatch, reports, "authorize", 2)
    base = f"{live_url}/api/v1/community-reports/{report_id}"
    responses = fire([(f"{base}/confirm", {}, first.headers),
                      (f"{base}/decline", {"reason": "重复"}, second.headers)])
    won, lost = one_winner(responses)
    state = won.json()["state"]
    assert lost.json()["error"]["details"]["state"] == state
    report = stored(OrgCommunityReport, report_id)
    assert (report.state, report.decline_reason) == (state, None if state == "confirmed" else "重复")
