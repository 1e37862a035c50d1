"""The audit trail: each admin action (and each change of a person's status)
leaves exactly one row with the actor, the object, before and after, the
request id; admins read their subtree's rows; nothing changes a row."""
from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine

from app.audit.models import AuditEntry, AuditEntryImmutable
from app.extensions import db
from app.members import phones
from app.members.models import BindingRequest, RosterEntry
from tests.badges.helpers import apply_plate, business_zone
from tests.conftest import DATABASE_URL, assert_error
from tests.tasks.conftest import END, HERE, START, T0, serve, task_body

AUDIT = "/api/v1/audit"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def rows() -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()


def one_new(before: int) -> AuditEntry:
    """The one row the action wrote (and no more)."""
    new = rows()[before:]
    assert len(new) == 1, [(r.action, r.object_type) for r in new]
    return new[0]


# ---- one case per admin action: (setup -> ctx), (act) -> response, expected row ----------------

def _identity(member):
    api = member(phone="13900007777")
    return api, api.get("/api/v1/me/identity").json["id"]


def _center(admin, tree, **fields):
    body = {"org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "丰泽路 1 号",
            "location": {"lat": HERE["lat"], "lng": HERE["lng"]}, **fields}
    response = admin.post("/api/v1/centers", json=body)
    assert response.status_code == 201, response.json
    return response.json


def _pending_binding(login, wx, tree):
    api = login("o-binder")
    response = api.post("/api/v1/me/member-binding", json={
        "name": "周小平", "phone_code": wx.phone_code("13900008888"), "branch_id": tree.a1})
    assert response.status_code in (200, 201, 202), response.json
    return db.session.scalar(sa.select(BindingRequest.id).where(BindingRequest.user_id == api.user_id))


def _task(admin, tree, **fields):
    response = admin.post("/api/v1/tasks", json=task_body(tree.a, **fields))
    assert response.status_code == 201, response.json
    return response.json


def _served(admin, tree, login, travel):
    task = _task(admin, tree, hours_credited=2)
    admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})
    volunteer = login("o-volunteer")
    volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a, "name": "王小明"})
    volunteer.post(f"/api/v1/tasks/{task['id']}/accept", json={})
    return volunteer, serve(volunteer, task["id"], travel, START, END)


CASES = {
    "org.create": (
        lambda c: None,
        lambda c, _: c.admin.post("/api/v1/orgs", json={"parent_id": c.tree.a, "kind": "party_branch",
                                                        "name": "丰泽社区第三党支部"}),
        lambda row, c, _: row.after["name"] == "丰泽社区第三党支部" and row.before is None),
    "org.rename": (
        lambda c: None,
        lambda c, _: c.admin.patch(f"/api/v1/orgs/{c.tree.a1}", json={"name": "第一支部"}),
        lambda row, c, _: (row.before, row.after) == ({"name": "丰泽社区第一党支部"}, {"name": "第一支部"})),
    "role.grant": (
        lambda c: c.login("o-new-admin").user_id,
        lambda c, user_id: c.admin.post(f"/api/v1/orgs/{c.tree.a1}/roles",
                                        json={"user_id": user_id, "role": "org_admin"}),
        lambda row, c, user_id: row.after == {"user_id": user_id, "role": "org_admin", "org_id": c.tree.a1}),
    "role.revoke": (
        lambda c: c.admin.post(f"/api/v1/orgs/{c.tree.a1}/roles", json={
            "user_id": c.login("o-old-admin").user_id, "role": "org_admin"}).json["id"],
        lambda c, grant_id: c.admin.delete(f"/api/v1/orgs/{c.tree.a1}/roles/{grant_id}"),
        lambda row, c, grant_id: row.object_id == grant_id and row.before["role"] == "org_admin"
        and row.after is None),
    "identity.suspend": (
        lambda c: _identity(c.member)[1],
        lambda c, identity: c.admin.post(f"/api/v1/members/{identity}/suspend", json={"reason": "转出中"}),
        lambda row, c, identity: row.object_id == identity and row.before["status"] == "active"
        and row.after == {"status": "suspended", "status_reason": "转出中"}),
    "identity.revoke": (
        lambda c: _identity(c.member)[1],
        lambda c, identity: c.admin.post(f"/api/v1/members/{identity}/revoke", json={"reason": "停止党籍"}),
        lambda row, c, identity: row.after["status"] == "revoked"),
    "binding.approve": (
        lambda c: _pending_binding(c.login, c.wx, c.tree),
        lambda c, request_id: c.admin.post(f"/api/v1/binding-requests/{request_id}/approve", json={
            "join_date": "2015-07-01", "member_status": "full"}),
        lambda row, c, request_id: row.object_id == request_id and row.after["state"] == "approved"),
    "binding.reject": (
        lambda c: _pending_binding(c.login, c.wx, c.tree),
        lambda c, request_id: c.admin.post(f"/api/v1/binding-requests/{request_id}/reject",
                                           json={"reason": "查无此人"}),
        lambda row, c, request_id: row.after == {"state": "rejected", "reason": "查无此人"}),
    "roster.import": (
        lambda c: c.member(name="陈小文", phone="13800138000"),
        lambda c, _: c.admin.post(f"/api/v1/orgs/{c.tree.a}/roster", data={"file": (io.BytesIO(
            "姓名,手机号,支部,入党日期,党员状态\n陈晓文,13800138000,丰泽社区第一党支部,2010-07-01,正式党员\n"
            .encode()), "roster.csv")}, content_type="multipart/form-data"),
        lambda row, c, _: row.after["updated"] == 1 and row.after["overwritten"][0]["before"] == {"name": "陈小文"}
        and row.after["overwritten"][0]["after"] == {"name": "陈晓文"}),
    "center.create": (
        lambda c: None,
        lambda c, _: c.admin.post("/api/v1/centers", json={
            "org_id": c.tree.a, "name": "新中心", "address": "丰泽路 2 号",
            "location": {"lat": HERE["lat"], "lng": HERE["lng"]}}),
        lambda row, c, _: row.after["name"] == "新中心" and "code_key" not in row.after),
    "center.update": (
        lambda c: _center(c.admin, c.tree)["id"],
        lambda c, center: c.admin.patch(f"/api/v1/centers/{center}", json={"radius_m": 300}),
        lambda row, c, center: row.after == {"radius_m": 300} and row.before["radius_m"] != 300),
    "center.rotate_key": (
        lambda c: _center(c.admin, c.tree)["id"],
        lambda c, center: c.admin.post(f"/api/v1/centers/{center}/rotate-key", json={}),
        lambda row, c, center: (row.before, row.after) == ({"key_version": 1}, {"key_version": 2})),
    "center.delete": (
        lambda c: _center(c.admin, c.tree)["id"],
        lambda c, center: c.admin.delete(f"/api/v1/centers/{center}"),
        lambda row, c, center: row.after["deleted_at"] is not None),
    "display_device.create": (
        lambda c: _center(c.admin, c.tree)["id"],
        lambda c, center: c.admin.post(f"/api/v1/centers/{center}/display-devices", json={"name": "大厅屏"}),
        lambda row, c, center: row.after == {"center_id": center, "name": "大厅屏"}),
    "post.create": (
        lambda c: None,
        lambda c, _: c.admin.post("/api/v1/posts", json={"org_id": c.tree.a, "name": "示范岗", "unit": "社区",
                                                         "window": "1 号窗口", "service_items": ["咨询"]}),
        lambda row, c, _: row.after["name"] == "示范岗" and "code_key" not in row.after),
    "help_request.reject": (
        lambda c: c.login("o-asker").post("/api/v1/help-requests", json={
            "community_id": c.tree.a, "category": "errands", "description": "帮忙买菜", "address": "",
            "window_start": START.isoformat(), "window_end": END.isoformat(),
            "contact_phone": "13900009999"}).json["id"],
        lambda c, request_id: c.admin.post(f"/api/v1/help-requests/{request_id}/reject", json={"reason": "重复"}),
        lambda row, c, request_id: row.after == {"state": "rejected", "reason": "重复"}),
    "task.create": (
        lambda c: None,
        lambda c, _: c.admin.post("/api/v1/tasks", json=task_body(c.tree.a)),
        lambda row, c, _: row.after["title"] == "清洁家园" and row.after["state"] == "draft"),
    "task.update": (
        lambda c: _task(c.admin, c.tree)["id"],
        lambda c, task: c.admin.patch(f"/api/v1/tasks/{task}", json={"places": 5}),
        lambda row, c, task: (row.before, row.after) == ({"places": 3}, {"places": 5})),
    "task.cancel": (
        lambda c: _task(c.admin, c.tree)["id"],
        lambda c, task: c.admin.post(f"/api/v1/tasks/{task}/cancel", json={"reason": "下雨"}),
        lambda row, c, task: row.before == {"state": "draft"}
        and row.after == {"state": "cancelled", "reason": "下雨"}),
    "participation.set_times": (
        lambda c: _served(c.admin, c.tree, c.login, c.travel)[1]["id"],
        lambda c, pid: c.admin.post(f"/api/v1/participations/{pid}/set-times", json={
            "checked_in_at": (START - dt.timedelta(minutes=30)).isoformat(), "checked_out_at": END.isoformat()}),
        lambda row, c, pid: row.before["checked_in_at"] == START.isoformat()
        and row.after["checked_in_at"] == (START - dt.timedelta(minutes=30)).isoformat()),
    "participation.confirm": (
        lambda c: _served(c.admin, c.tree, c.login, c.travel)[1]["id"],
        lambda c, pid: c.admin.post(f"/api/v1/participations/{pid}/confirm", json={"score": 5, "comment": ""}),
        lambda row, c, pid: row.after == {"state": "confirmed", "hours": "2.00"}),
    "merchant_plate.approve": (
        lambda c: apply_plate(c.member(phone="13900006666"), business_zone(c.tree.street))["id"],
        lambda c, plate: c.street_admin.post(f"/api/v1/merchant-plates/{plate}/approve", json={}),
        lambda row, c, plate: (row.before["state"], row.after["state"]) == ("pending", "approved")),
    "grid.create": (
        lambda c: None,
        lambda c, _: c.admin.post("/api/v1/grids", json={"community_id": c.tree.a, "name": "第一网格",
                                                         "households": 10}),
        lambda row, c, _: row.after["name"] == "第一网格"),
    "time_limit.set": (
        lambda c: c.district_admin.put("/api/v1/grid-event-categories/facilities", json={"name": "设施损坏"}),
        lambda c, _: c.district_admin.put("/api/v1/grid-time-limits/facilities/normal", json={
            "accept_hours": 2, "handle_hours": 10, "verify_hours": 4}),
        lambda row, c, _: row.org_id == c.tree.district and row.after["handle_hours"] == 10),
    "badge_key.rotate": (
        lambda c: None,
        lambda c, _: c.district_admin.post("/api/v1/badges/keys/rotate", json={}),
        lambda row, c, _: row.org_id == c.tree.district and row.after["kid"]),
}


@pytest.fixture
def ctx(admin, street_admin, district_admin, tree, login, member, wx, travel):
    return SimpleNamespace(admin=admin, street_admin=street_admin, district_admin=district_admin, tree=tree,
                           login=login, member=member, wx=wx, travel=travel)


# Who acts, where it is not the admin of community A.
ACTORS = {"merchant_plate.approve": "street_admin", "time_limit.set": "district_admin",
          "badge_key.rotate": "district_admin"}


@pytest.mark.parametrize("action", sorted(CASES))
def test_each_admin_action_leaves_exactly_one_row(ctx, action):
    setup, act, expect = CASES[action]
    prepared = setup(ctx)
    before = len(rows())
    response = act(ctx, prepared)
    assert response.status_code in (200, 201, 204), response.get_json()
    row = one_new(before)
    actor = getattr(ctx, ACTORS.get(action, "admin"))
    assert (row.action, row.actor_id) == (action, actor.user_id)
    assert row.request_id == response.headers["X-Request-ID"]
    assert row.at is not None and row.org_id is not None
    assert expect(row, ctx, prepared), (row.before, row.after)


def test_a_refused_action_leaves_no_row(admin_b, member):
    _, identity = _identity(member)
    before = len(rows())
    assert_error(admin_b.post(f"/api/v1/members/{identity}/suspend", json={}), 404, "not_found")
    assert len(rows()) == before


def test_an_identity_keeps_its_full_status_history(admin, member, tree):
    _, identity = _identity(member)
    for action, reason in (("suspend", "转出中"), ("reinstate", None), ("suspend", "长期失联"), ("revoke", "停止党籍")):
        assert admin.post(f"/api/v1/members/{identity}/{action}", json={"reason": reason} if reason else {}
                          ).status_code == 200
    history = admin.get(AUDIT, query_string={"org_id": tree.a, "object_type": "member_identities",
                                             "object_id": identity}).json["items"]
    assert [(h["action"], h["after"]["status"], h["after"]["status_reason"]) for h in reversed(history)] == [
        ("identity.suspend", "suspended", "转出中"), ("identity.reinstate", "active", None),
        ("identity.suspend", "suspended", "长期失联"), ("identity.revoke", "revoked", "停止党籍")]


def test_closing_an_account_is_on_record(member, admin, tree):
    api, identity = _identity(member)
    confirmation = api.post("/api/v1/me/cancellation", json={}).json["confirmation"]
    assert api.delete("/api/v1/me", json={"confirmation": confirmation}).status_code == 200
    actions = [(r.action, r.actor_id) for r in rows() if r.object_id in (identity, api.user_id)
               and r.object_type in ("member_identities", "users")]
    assert ("identity.close", api.user_id) in actions and ("account.close", api.user_id) in actions


def test_admins_read_their_subtree_newest_first_in_pages(admin, admin_b, street_admin, tree, count_queries):
    for name in ("一", "二", "三"):
        admin.patch(f"/api/v1/orgs/{tree.a1}", json={"name": f"第{name}支部"})
    admin_b.patch(f"/api/v1/orgs/{tree.b1}", json={"name": "新江支部"})
    first = admin.get(AUDIT, query_string={"org_id": tree.a, "action": "org.rename", "limit": 2}).json
    assert [i["after"]["name"] for i in first["items"]] == ["第三支部", "第二支部"]
    second = admin.get(AUDIT, query_string={"org_id": tree.a, "action": "org.rename", "limit": 2,
                                            "cursor": first["next_cursor"]}).json
    assert [i["after"]["name"] for i in second["items"]] == ["第一支部"] and second["next_cursor"] is None
    street = street_admin.get(AUDIT, query_string={"org_id": tree.street, "action": "org.rename"}).json
    assert {i["after"]["name"] for i in street["items"]} == {"第一支部", "第二支部", "第三支部", "新江支部"}
    assert_error(admin.get(AUDIT, query_string={"org_id": tree.b}), 404, "not_found")
    assert_error(admin.get(AUDIT, query_string={"org_id": tree.street}), 404, "not_found")
    with count_queries() as small:
        admin.get(AUDIT, query_string={"org_id": tree.a, "limit": 1})
    with count_queries() as large:
        assert len(admin.get(AUDIT, query_string={"org_id": tree.a, "limit": 50}).json["items"]) > 3
    assert large.count == small.count  # no query per row


def test_a_member_or_center_admin_cannot_read_the_trail(login_as, tree):
    assert_error(login_as("center_admin", tree.a).get(AUDIT, query_string={"org_id": tree.a}), 403, "forbidden")
    assert_error(login_as(None).get(AUDIT, query_string={"org_id": tree.a}), 404, "not_found")


def test_nothing_changes_or_deletes_a_row_through_the_orm(admin, tree):
    admin.patch(f"/api/v1/orgs/{tree.a1}", json={"name": "第一支部"})
    row = rows()[-1]
    row.after = {"name": "forged"}
    with pytest.raises(AuditEntryImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(rows()[-1])
    with pytest.raises(AuditEntryImmutable):
        db.session.flush()
    db.session.rollback()
    assert rows()[-1].after == {"name": "第一支部"}


@pytest.mark.skipif(not DATABASE_URL, reason="the append-only trigger is PostgreSQL's")
def test_postgresql_refuses_update_and_delete_of_the_trail(admin, tree):
    admin.patch(f"/api/v1/orgs/{tree.a1}", json={"name": "第一支部"})
    for statement in (sa.update(AuditEntry).values(action="forged"), sa.delete(AuditEntry)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
    assert rows()[-1].action == "org.rename"


def test_the_roster_entry_name_was_overwritten_and_the_trail_says_so(admin, tree):
    """What an import used to overwrite silently (a member's name) is on record."""
    db.session.add(RosterEntry(branch_id=tree.a1, name="李红梅", phone_encrypted=phones.encrypt("13900001212"),
                               phone_hash=phones.lookup_hash("13900001212"), phone_masked="139****1212",
                               join_date=dt.date(2012, 7, 1), member_status="full"))
    db.session.commit()
    csv = "姓名,手机号,支部,入党日期,党员状态\n李洪梅,13900001212,丰泽社区第一党支部,2012-07-01,正式党员\n"
    response = admin.post(f"/api/v1/orgs/{tree.a}/roster", data={"file": (io.BytesIO(csv.encode()), "r.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    entry = admin.get(AUDIT, query_string={"org_id": tree.a, "action": "roster.import"}).json["items"][0]
    assert entry["after"]["overwritten"][0]["before"] == {"name": "李红梅"}
