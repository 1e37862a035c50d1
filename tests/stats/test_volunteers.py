"""GET /stats/volunteers: figures that equal the hours ledger for every
subtree, for the local days of the period."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.members.models import MemberIdentity
from app.tasks.models import HoursEntry, Participation, Task
from tests.conftest import assert_error
from tests.tasks import conftest
from tests.tasks.conftest import END, HERE, START, iso

URL = "/api/v1/tasks"
P = "/api/v1/participations"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# the task tests' fixtures (their conftest is not this directory's)
clock, make_task, member_volunteer, volunteer = (conftest.clock, conftest.make_task, conftest.member_volunteer,
                                                 conftest.volunteer)


def day(t: dt.datetime) -> str:
    """The Shanghai day of a time, as the statistics read it."""
    return t.astimezone(SHANGHAI).date().isoformat()


def ledger_rows():
    db.session.expire_all()
    return db.session.execute(select(HoursEntry.id, HoursEntry.participation_id, HoursEntry.kind,
                                     HoursEntry.hours, HoursEntry.reason).order_by(HoursEntry.id)).all()


def _stats(api, org_id, first=None, last=None):
    """The figures for the local days first..last (both included)."""
    response = api.get("/api/v1/stats/volunteers", query_string={
        "org_id": org_id, "from": day(first or START - dt.timedelta(days=2)),
        "to": day(last or START + dt.timedelta(days=2))})
    assert response.status_code == 200, response.json
    return response.json


def _expected_from_the_ledger(tree, until=None):
    """Sums over ledger rows and confirmed participations, by community; street = A + B."""
    db.session.expire_all()
    hours, times, scores = defaultdict(Decimal), Counter(), defaultdict(list)
    entries = select(HoursEntry.community_id, HoursEntry.hours, HoursEntry.created_at)
    for community_id, h, created_at in db.session.execute(entries):
        if until is None or created_at < until:
            hours[community_id] += Decimal(h)
    confirmed = select(Task.community_id, Participation.score).join(Task, Task.id == Participation.task_id) \
        .where(Participation.state == "confirmed")
    for community_id, score in db.session.execute(confirmed):
        times[community_id] += 1
        scores[community_id].append(score)
    for key in (tree.street, tree.district):
        hours[key] = hours[tree.a] + hours[tree.b]
        times[key] = times[tree.a] + times[tree.b]
        scores[key] = scores[tree.a] + scores[tree.b]
    return hours, times, scores


def test_statistics_equal_the_ledger_for_every_subtree(make_task, volunteer, member_volunteer, admin, admin_b,
                                                       login, login_as, travel, tree):
    street = login_as("org_admin", tree.street)
    resident = login("o-resident")
    v1, v2 = volunteer(), volunteer()
    v3 = member_volunteer()
    v4 = volunteer(community_id=tree.b)
    v5 = member_volunteer(community_id=tree.b, branch_id=tree.b1)
    volunteer(community_id=tree.b)  # registered, never served
    later = {"starts_at": iso(START + dt.timedelta(hours=3)), "ends_at": iso(START + dt.timedelta(hours=4))}
    a1 = make_task(places=3)
    a2 = make_task(places=1, hours_credited=1)
    b1 = make_task(api=admin_b, community_id=tree.b, places=2)
    request = resident.post("/api/v1/help-requests", json={
        "community_id": tree.b, "category": "errands", "description": "代买药", "location": HERE,
        "window_start": later["starts_at"], "window_end": later["ends_at"], "contact_phone": "13900002222"}).json
    b2 = admin_b.post(URL, json={"help_request_id": request["id"], "title": "代买药", "places": 2, **later}).json
    admin_b.post(f"{URL}/{b2['id']}/publish", json={})
    resident.post("/api/v1/help-requests", json={  # one more request, rejected
        "community_id": tree.a, "category": "other", "description": "帮忙搬家", "location": HERE,
        "window_start": later["starts_at"], "window_end": later["ends_at"], "contact_phone": "13900002222"})
    make_task(publish=False)  # a draft
    cancelled = make_task(places=1, **later)
    admin.post(f"{URL}/{cancelled.id}/cancel", json={"reason": "下雨"})
    for v, t in ((v1, a1.id), (v2, a1.id), (v3, a2.id), (v4, b1.id), (v5, b1.id), (v1, b2["id"]), (v4, b2["id"])):
        assert v.post(f"{URL}/{t}/accept", json={}).status_code == 201

    def check(vs, task_id, action):
        for v in vs:
            assert v.post(f"{URL}/{task_id}/{action}", json={"location": HERE}).status_code == 200

    travel(START)
    check((v1, v2), a1.id, "check-in")
    check((v3,), a2.id, "check-in")
    check((v4, v5), b1.id, "check-in")
    travel(START + dt.timedelta(hours=1, minutes=20))
    check((v2,), a1.id, "check-out")
    check((v5,), b1.id, "check-out")
    travel(END)
    check((v1,), a1.id, "check-out")
    check((v3,), a2.id, "check-out")
    check((v4,), b1.id, "check-out")
    travel(START + dt.timedelta(hours=3, minutes=5))
    check((v1, v4), b2["id"], "check-in")
    travel(START + dt.timedelta(hours=3, minutes=50))
    check((v1, v4), b2["id"], "check-out")
    travel(START + dt.timedelta(hours=5))
    ids = {(p["user_id"], p["task_id"]): p["id"]
           for api, t in ((admin, a1.id), (admin, a2.id), (admin_b, b1.id), (admin_b, b2["id"]))
           for p in api.get(f"{URL}/{t}/participants").json["items"]}

    def confirm(api, v, task_id, score):
        response = api.post(f"{P}/{ids[(v.user_id, task_id)]}/confirm", json={"score": score})
        assert response.status_code == 200, response.json

    confirm(admin, v1, a1.id, 5)
    confirm(admin, v2, a1.id, 4)
    confirm(admin, v3, a2.id, 3)
    confirm(admin_b, v4, b1.id, 5)
    # v5 (b1) checked out but is never confirmed: counts nothing
    confirm(resident, v1, b2["id"], 4)
    confirm(resident, v4, b2["id"], 2)
    admin.post(f"{URL}/{a1.id}/complete", json={})
    admin_b.post(f"{URL}/{b2['id']}/complete", json={})
    correction_day = START + dt.timedelta(days=3)
    travel(correction_day)
    admin.post(f"{P}/{ids[(v2.user_id, a1.id)]}/corrections", json={"hours": 2, "reason": "核实"})

    hours, times, scores = _expected_from_the_ledger(tree)
    assert hours[tree.a] == Decimal("2.00") + Decimal("2.00") + Decimal("1.00")  # v1 2h, v2 corrected 2h, v3 cap 1h
    assert hours[tree.b] == Decimal("2.00") + Decimal("0.75") + Decimal("0.75")
    window = {"first": START - dt.timedelta(days=2), "last": START + dt.timedelta(days=5)}
    for api, org in ((admin, tree.a), (admin_b, tree.b), (street, tree.street), (street, tree.a),
                     (street, tree.b), (login_as("district_admin", tree.district), tree.district)):
        stats = _stats(api, org, **window)
        assert Decimal(str(stats["hours"])) == hours[org], org
        assert stats["person_times"] == times[org], org
        expected_avg = round(sum(scores[org]) / len(scores[org]), 2) if scores[org] else None
        assert stats["average_rating"] == expected_avg, org
        assert stats["org_id"] == org

    a, b, s = (_stats(street, org, **window) for org in (tree.a, tree.b, tree.street))
    assert a["volunteers"] == {"members": 1, "others": 2, "total": 3}
    assert b["volunteers"] == {"members": 1, "others": 2, "total": 3}
    assert s["volunteers"] == {"members": 2, "others": 4, "total": 6}
    assert a["person_times"] == 3 and b["person_times"] == 3 and s["person_times"] == 6
    assert a["requests_by_state"] == {"submitted": 1} and b["requests_by_state"] == {"closed": 1}
    assert s["requests_by_state"] == {"submitted": 1, "closed": 1}
    assert a["tasks_by_state"] == {"completed": 1, "in_progress": 1, "draft": 1, "cancelled": 1}
    assert b["tasks_by_state"] == {"in_progress": 1, "completed": 1}
    assert s["average_rating"] == round((5 + 4 + 3 + 5 + 4 + 2) / 6, 2)

    # a period whose last day is the one before the correction leaves it out, exactly as the ledger does
    last = correction_day - dt.timedelta(days=1)
    before = _stats(street, tree.street, START - dt.timedelta(days=2), last)
    midnight = dt.datetime.combine(correction_day.astimezone(SHANGHAI).date(), dt.time(), SHANGHAI)
    early_hours, _, _ = _expected_from_the_ledger(tree, until=midnight)
    assert Decimal(str(before["hours"])) == early_hours[tree.street] == hours[tree.street] - Decimal("0.67")
    # and a window before anything happened is empty
    empty = _stats(street, tree.street, START - dt.timedelta(days=10), START - dt.timedelta(days=9))
    assert (empty["hours"], empty["person_times"], empty["average_rating"]) == (0.0, 0, None)
    assert empty["volunteers"]["total"] == 0

    # each volunteer's own record is their ledger rows
    for v in (v1, v2, v3, v4, v5):
        record = v.get("/api/v1/me/volunteer-record").json
        mine = [r for r in ledger_rows() if r.participation_id in
                {pid for (uid, _), pid in ids.items() if uid == v.user_id}]
        assert Decimal(str(record["total_hours"])) == sum((r.hours for r in mine), Decimal("0"))
        assert len(record["items"]) == len(mine)
    assert v1.get("/api/v1/me/volunteer-record").json["person_times"] == 2
    assert v1.get("/api/v1/me/volunteer-record").json["ratings"] == {"count": 2, "average": 4.5}
    assert v5.get("/api/v1/me/volunteer-record").json == {
        "total_hours": 0.0, "person_times": 0, "ratings": {"count": 0, "average": None},
        "items": [], "next_cursor": None}


def test_statistics_are_for_those_who_may_read_them(admin, admin_b, volunteer, login_as, tree):
    assert_error(admin_b.get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": day(START), "to": day(END)}), 404, "not_found")
    assert_error(admin.get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.street, "from": day(START), "to": day(END)}), 404, "not_found")
    assert_error(volunteer().get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": day(START), "to": day(END)}), 404, "not_found")
    assert login_as("center_admin", tree.a).get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": day(START), "to": day(END)}).status_code == 200
    assert_error(admin.get("/api/v1/stats/volunteers", query_string={"from": day(START)}),
                 422, "validation_failed")
    assert_error(admin.get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": "2026-11-01", "to": iso(END)}), 422, "validation_failed")  # a time: not a day



def test_statistics_refuse_a_reversed_period_and_count_members_as_they_are_now(admin, volunteer,
                                                                               member_volunteer, tree):
    assert_error(admin.get("/api/v1/stats/volunteers", query_string={
        "org_id": tree.a, "from": day(END), "to": day(START - dt.timedelta(days=1))}), 422, "validation_failed")
    volunteer(), volunteer()
    m = member_volunteer()
    assert _stats(admin, tree.a)["volunteers"] == {"members": 1, "others": 2, "total": 3}
    # revoking the member's identity makes them count as another volunteer at once
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == m.user_id))
    assert admin.post(f"/api/v1/members/{identity.id}/revoke", json={}).status_code == 200
    assert _stats(admin, tree.a)["volunteers"] == {"members": 0, "others": 3, "total": 3}
