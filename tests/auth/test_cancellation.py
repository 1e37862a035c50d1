"""Account cancellation (注销账号): confirm, close, remove personal data, keep
the anonymized records."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.cancellation import POLICY
from app.auth.models import RoleGrant, TokenFamily, User
from app.checkin.models import Checkin, CheckinAttempt
from app.extensions import db
from app.members.models import BindingRequest, MemberIdentity, RosterEntry
from app.notices.models import Notice
from app.tasks.models import HelpRequest, HoursEntry, Participation, Volunteer
from app.uploads.models import Upload
from app.uploads.storage import get_storage
from tests.conftest import assert_error
from tests.grid.helpers import upload_id
from tests.tasks.conftest import END, HERE, START, T0, iso, serve, task_body

PHONE = "13900002222"
NAME = "陈小文"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _confirmation(api) -> str:
    response = api.post("/api/v1/me/cancellation", json={})
    assert response.status_code == 200, response.json
    return response.json["confirmation"]


def _close(api):
    return api.delete("/api/v1/me", json={"confirmation": _confirmation(api)})


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_every_column_pointing_at_a_user_has_a_rule(app):
    """A new table that points at users must say what closing an account does to it."""
    pointing = {(table.name, column.name) for table in db.metadata.sorted_tables
                for column in table.columns for fk in column.foreign_keys
                if fk.column.table.name == "users"}
    assert pointing == set(POLICY), "add the new column to app.auth.cancellation.POLICY"


def test_the_first_step_says_what_goes_and_what_stays(member):
    api = member(name=NAME, phone=PHONE)
    response = api.post("/api/v1/me/cancellation", json={})
    assert response.status_code == 200
    body = response.json
    assert body["confirmation"] and body["removed"] and body["kept"]
    assert any("志愿服务记录" in line for line in body["kept"])
    assert dt.datetime.fromisoformat(body["expires_at"]) == T0 + dt.timedelta(minutes=10)
    assert api.get("/api/v1/me").status_code == 200  # nothing closed yet


@pytest.mark.parametrize("confirmation", ["", "x" * 600])
def test_a_missing_or_malformed_confirmation_is_a_422(member, confirmation):
    api = member(name=NAME, phone=PHONE)
    assert_error(api.delete("/api/v1/me", json={"confirmation": confirmation}), 422, "validation_failed")
    assert_error(api.delete("/api/v1/me", json={}), 422, "validation_failed")
    assert api.get("/api/v1/me").status_code == 200


def test_a_forged_expired_or_someone_elses_confirmation_closes_nothing(member, login, clock):
    api = member(name=NAME, phone=PHONE)
    other = login("o-other")
    assert_error(api.delete("/api/v1/me", json={"confirmation": "forged.token.here"}), 422,
                 "confirmation_invalid")
    assert_error(api.delete("/api/v1/me", json={"confirmation": _confirmation(other)}), 422,
                 "confirmation_invalid")
    stale = _confirmation(api)
    clock.shift(dt.timedelta(minutes=10, seconds=1))
    assert_error(api.delete("/api/v1/me", json={"confirmation": stale}), 422, "confirmation_invalid")
    assert api.get("/api/v1/me").status_code == 200
    assert db.session.get(User, api.user_id).deleted_at is None


def test_closing_ends_every_session_at_once(member, client, login):
    api = member(name=NAME, phone=PHONE)
    second = login(f"openid-of-{api.user_id}")  # not the same WeChat user: a control
    response = _close(api)
    assert response.status_code == 200, response.json
    assert response.json["closed_at"]
    assert_error(api.get("/api/v1/me"), 401, "invalid_token")
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": api.tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert second.get("/api/v1/me").status_code == 200
    assert _count(TokenFamily, TokenFamily.user_id == api.user_id, TokenFamily.revoked_at.is_(None)) == 0


def test_the_same_wechat_user_starts_again_with_an_empty_account(member, login, wx, tree):
    api = member(name=NAME, phone=PHONE, openid="o-leaver")
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == api.user_id))
    entry_id = identity.roster_entry_id
    assert _close(api).status_code == 200

    again = login("o-leaver")
    assert again.user_id != api.user_id
    me = again.get("/api/v1/me").json
    assert me["identity"] is None and me["roles"] == []
    # the branch's roster entry is free to bind again
    bound = again.post("/api/v1/me/member-binding", json={"name": NAME, "phone_code": wx.phone_code(PHONE)})
    assert bound.status_code in (200, 201), bound.json
    db.session.expire_all()
    assert db.session.get(MemberIdentity, identity.id).status == "closed"
    assert db.session.scalar(select(MemberIdentity.roster_entry_id).where(
        MemberIdentity.user_id == again.user_id)) == entry_id


def test_personal_data_goes_and_the_records_stay_without_the_person(
        member, login, admin, tree, travel, wechat_server):
    api = member(name=NAME, phone=PHONE, openid="o-leaver")
    user_id = api.user_id
    # a volunteer with skills, who served one task and holds a place on the next
    assert api.put("/api/v1/me/volunteer", json={"community_id": tree.a, "skills": ["维修"]}).status_code == 201
    served = admin.post("/api/v1/tasks", json=task_body(tree.a, places=1, hours_credited=1.5)).json
    admin.post(f"/api/v1/tasks/{served['id']}/publish", json={})
    later = admin.post("/api/v1/tasks", json=task_body(
        tree.a, places=1, starts_at=iso(START + dt.timedelta(days=3)),
        ends_at=iso(END + dt.timedelta(days=3)))).json
    admin.post(f"/api/v1/tasks/{later['id']}/publish", json={})
    assert api.post(f"/api/v1/tasks/{served['id']}/accept", json={}).status_code in (200, 201)
    assert api.post(f"/api/v1/tasks/{later['id']}/accept", json={}).status_code in (200, 201)
    waiting = login("o-waiting")
    waiting.put("/api/v1/me/volunteer", json={"community_id": tree.a})
    assert waiting.post(f"/api/v1/tasks/{later['id']}/accept", json={"waitlist": True}).status_code in (200, 201)
    # a help request with a phone and an address, and an unattached photo
    help_request = api.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
        "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START + dt.timedelta(days=5)),
        "window_end": iso(END + dt.timedelta(days=5)), "contact_phone": "13900003333"}).json
    photo = upload_id(api)
    storage_key = db.session.get(Upload, photo).storage_key
    serve(api, served["id"], travel, START, START + dt.timedelta(hours=2))
    participation_id = db.session.scalar(select(Participation.id).where(
        Participation.task_id == served["id"], Participation.user_id == user_id))
    confirmed = admin.post(f"/api/v1/participations/{participation_id}/confirm",
                           json={"score": 5, "comment": "很好"})
    assert confirmed.status_code == 200, confirmed.json
    db.session.expire_all()
    hours_before = db.session.scalar(select(func.sum(HoursEntry.hours)).where(HoursEntry.user_id == user_id))
    assert hours_before and _count(Notice, Notice.user_id == user_id) >= 0

    response = _close(api)
    assert response.status_code == 200, response.json
    db.session.expire_all()

    user = db.session.get(User, user_id)
    assert user.deleted_at is not None and user.openid == f"closed:{user_id}"
    assert user.unionid is None
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == user_id))
    assert (identity.status, identity.roster_entry_id) == ("closed", None)
    assert identity.branch_id == tree.a1  # still counted where it served
    assert _count(RosterEntry) == 1  # the branch's list is the branch's
    for model, column in ((Volunteer, Volunteer.user_id), (Notice, Notice.user_id),
                          (RoleGrant, RoleGrant.user_id), (BindingRequest, BindingRequest.user_id),
                          (CheckinAttempt, CheckinAttempt.user_id)):
        assert _count(model, column == user_id) == 0, model.__name__
    # the help request is cancelled and holds nothing personal
    stored = db.session.get(HelpRequest, help_request["id"])
    assert stored.state == "cancelled"
    assert (stored.phone_encrypted, stored.phone_masked, stored.address, stored.lat) == ("", "", "", None)
    assert "老人" not in stored.description
    # the photo nobody took is gone, with its file
    assert db.session.get(Upload, photo) is None
    with pytest.raises(FileNotFoundError):
        get_storage().load(storage_key)
    # the place on the next task went to the waitlist; the served hours stay
    places = {p.user_id: p.state for p in db.session.scalars(
        select(Participation).where(Participation.task_id == later["id"]))}
    assert places == {user_id: "withdrawn", waiting.user_id: "accepted"}
    assert db.session.get(Participation, participation_id).state == "confirmed"
    assert db.session.scalar(select(func.sum(HoursEntry.hours)).where(
        HoursEntry.user_id == user_id)) == hours_before


def test_check_ins_stay_counted_without_their_position(member, admin, tree, wechat_server):
    api = member(name=NAME, phone=PHONE)
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "丰泽路 1 号",
        "location": {"lat": HERE["lat"], "lng": HERE["lng"]}}).json
    code = admin.get(f"/api/v1/centers/{center['id']}/display-code").json["qr_text"]
    checked = api.post("/api/v1/checkins", json={"code": code, "location": {**HERE, "accuracy": 20}})
    assert checked.status_code in (200, 201), checked.json
    assert _count(CheckinAttempt, CheckinAttempt.user_id == api.user_id) >= 1
    figures = {"org_id": tree.a, "from": "2026-11-26", "to": "2026-11-27"}
    before = admin.get("/api/v1/stats/checkins", query_string=figures).json
    assert before["total"] == 1

    assert _close(api).status_code == 200
    db.session.expire_all()
    rows = db.session.scalars(select(Checkin).where(Checkin.user_id == api.user_id)).all()
    assert len(rows) == 1 and (rows[0].lat, rows[0].lng) == (None, None)
    assert _count(CheckinAttempt, CheckinAttempt.user_id == api.user_id) == 0
    assert admin.get("/api/v1/stats/checkins", query_string=figures).json == before


def test_an_admin_who_leaves_loses_the_roles(login_as, tree):
    api = login_as("community_admin", tree.a)
    assert _count(RoleGrant, RoleGrant.user_id == api.user_id) == 1
    assert _close(api).status_code == 200
    db.session.expire_all()
    assert _count(RoleGrant, RoleGrant.user_id == api.user_id) == 0


def test_a_closed_members_badge_no_longer_verifies(member, login):
    api = member(name=NAME, phone=PHONE)
    badge = api.get("/api/v1/me/badge")
    assert badge.status_code == 200, badge.json
    assert _close(api).status_code == 200
    checker = login("o-checker")
    verified = checker.post("/api/v1/badges/verify", json={"code": badge.json["qr_text"]})
    assert verified.status_code == 200, verified.json
    assert verified.json["valid"] is False


def test_a_failure_midway_closes_nothing(member, monkeypatch):
    api = member(name=NAME, phone=PHONE)
    from app.auth import cancellation
    from app.errors import Conflict

    def broken(user_id, column, after_commit):
        raise Conflict()

    monkeypatch.setitem(cancellation.POLICY, ("volunteers", "user_id"), broken)
    assert _close(api).status_code == 409
    db.session.expire_all()
    assert db.session.get(User, api.user_id).deleted_at is None
    assert api.get("/api/v1/me").status_code == 200
