"""Subscribe-message fixtures: a frozen clock, the mini-program's pages on the
mock WeChat, quota on both sides (the app's count and WeChat's), the
messages the mock delivered, and each event of the product made to happen."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.grid.categories import ensure_default_categories
from app.notices.models import Notice
from app.subscriptions import templates as tpl
from app.subscriptions.models import SubscribeDelivery
from tests.members.test_binding import add_entry

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # a Thursday, 09:00 in Yangjiang
HERE = {"lat": 21.858, "lng": 111.962}  # inside SQUARE, community A
SQUARE = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855], [111.965, 21.861],
                                              [111.959, 21.861], [111.959, 21.855]]]}
START = T0 + dt.timedelta(days=2)
END = START + dt.timedelta(hours=2)
SUBSCRIPTIONS = "/api/v1/me/subscriptions"
EVENTS = "/api/v1/grid-events"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def mini_program_pages(wechat_server):
    """The mock WeChat knows the pages the messages open (as `--page` tells it)."""
    state = wechat_server.state
    before = state.pages
    state.pages = tuple(dict.fromkeys((*before, *(page for _, page in tpl.EVENTS.values()))))
    yield state.pages
    state.pages = before


@pytest.fixture(autouse=True)
def categories(app):
    ensure_default_categories()


@pytest.fixture
def door(wechat_server):
    return wechat_server.app.test_client()


@pytest.fixture
def grant(door):
    """``grant(api, event, count=1)``: the user accepts the event's template
    ``count`` times: the app records it (POST /me/subscriptions) and WeChat
    counts it too (the mock's quota door)."""

    def do(api, event: str, count: int = 1, wechat: bool = True):
        template_id = f"demo-{event}"
        for _ in range(count):
            response = api.post(SUBSCRIPTIONS, json={"results": {template_id: "accept"}})
            assert response.status_code == 200, response.json
        if wechat:
            assert door.post("/mock/wx/subscriptions", json={
                "openid": api.openid, "template_id": template_id, "count": count}).status_code == 200

    return do


@pytest.fixture
def messages(door):
    def get(api) -> list[dict]:
        return door.get("/mock/wx/messages", query_string={"openid": api.openid}).json["messages"]

    return get


def notices(api, kind: str) -> list[dict]:
    return [n for n in api.get("/api/v1/me/notices").json["items"] if n["kind"] == kind]


def deliveries(user_id: int | None = None) -> list[SubscribeDelivery]:
    db.session.expire_all()
    stmt = select(SubscribeDelivery).order_by(SubscribeDelivery.id)
    if user_id is not None:
        stmt = stmt.where(SubscribeDelivery.user_id == user_id)
    return list(db.session.scalars(stmt))


def remaining(api, event: str) -> int:
    items = api.get(SUBSCRIPTIONS).json["items"]
    return next(i["remaining"] for i in items if i["template_id"] == f"demo-{event}")


def notice_rows(kind: str) -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.kind == kind)))


@pytest.fixture
def people(login, login_as, tree):
    """Logged-in users who remember their openid (``api.openid``)."""

    def make(openid: str, role: str | None = None, org_id: int | None = None):
        api = login_as(role, org_id, openid=openid) if role else login(openid)
        api.openid = openid
        return api

    return make


# ---- each event, made to happen ---------------------------------------------------------

class World:
    """The product's flows, just far enough for each event; ``setup`` builds
    what comes before the event, ``trigger`` makes it happen, and returns
    the object the message is about."""

    def __init__(self, people, tree, wx, travel, member):
        self.people, self.tree, self.wx, self.travel, self.member = people, tree, wx, travel, member
        self.admin = people("o-admin-a", "org_admin", tree.a)

    # volunteer service
    def volunteer(self, openid: str):
        api = self.people(openid)
        assert api.put("/api/v1/me/volunteer", json={"community_id": self.tree.a}).status_code == 201
        return api

    def task(self, places: int = 3, help_request_id: int | None = None) -> int:
        body = {"title": "清洁家园", "starts_at": START.isoformat(), "ends_at": END.isoformat(),
                "places": places}
        if help_request_id:
            body["help_request_id"] = help_request_id
        else:
            body.update(community_id=self.tree.a, category="other", description="清理楼道杂物",
                        location=HERE)
        created = self.admin.post("/api/v1/tasks", json=body)
        assert created.status_code == 201, created.json
        task_id = created.json["id"]
        assert self.admin.post(f"/api/v1/tasks/{task_id}/publish", json={}).status_code == 200
        return task_id

    def help_request(self):
        resident = self.people("o-resident")
        created = resident.post("/api/v1/help-requests", json={
            "community_id": self.tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
            "location": HERE, "window_start": START.isoformat(), "window_end": END.isoformat(),
            "contact_phone": "13900001111"})
        assert created.status_code == 201, created.json
        return resident, created.json["id"], self.task(places=1, help_request_id=created.json["id"])

    def accept(self, api, task_id: int, waitlist: bool = False):
        response = api.post(f"/api/v1/tasks/{task_id}/accept", json={"waitlist": waitlist} if waitlist else {})
        assert response.status_code in (200, 201), response.json
        return response.json

    # grid events
    def grid(self):
        if not hasattr(self, "_grid"):
            created = self.admin.post("/api/v1/grids", json={"community_id": self.tree.a, "name": "第一网格",
                                                             "households": 320, "boundary": SQUARE})
            assert created.status_code == 201, created.json
            self._grid = created.json["id"]
            self.leader = self.people("o-leader")
            assert self.admin.post(f"/api/v1/grids/{self._grid}/leaders", json={
                "user_id": self.leader.user_id, "role": "grid_leader"}).status_code == 201
        return self._grid

    def event(self) -> int:
        self.grid()
        created = self.leader.post(EVENTS, json={"category": "facilities", "title": "路灯不亮",
                                                 "description": "丰泽路 3 号路灯坏了", "location": HERE,
                                                 "urgency": "normal"})
        assert created.status_code == 201, created.json
        return created.json["event"]["id"]

    def act(self, api, event_id: int, action: str, **extra):
        response = api.post(f"{EVENTS}/{event_id}/transitions", json={"action": action, **extra})
        assert response.status_code == 200, (action, response.json)
        return response.json

    def dispatched(self, handler) -> int:
        event_id = self.event()
        self.act(self.admin, event_id, "accept")
        self.act(self.admin, event_id, "dispatch", to_user_id=handler.user_id)
        return event_id


@pytest.fixture
def world(people, tree, wx, travel, member):
    return World(people, tree, wx, travel, member)


def _help_request_accepted(world):
    resident, request_id, task_id = world.help_request()
    volunteer = world.volunteer("o-vol")
    return resident, request_id, lambda: world.accept(volunteer, task_id)


def _help_request_completed(world):
    resident, request_id, task_id = world.help_request()
    world.accept(world.volunteer("o-vol"), task_id)
    return resident, request_id, lambda: world.admin.post(f"/api/v1/tasks/{task_id}/complete", json={})


def _task_cancelled(world):
    task_id = world.task()
    volunteer = world.volunteer("o-vol")
    world.accept(volunteer, task_id)
    return volunteer, task_id, lambda: world.admin.post(f"/api/v1/tasks/{task_id}/cancel",
                                                        json={"reason": "台风预警，活动取消"})


def _task_changed(world):
    task_id = world.task()
    volunteer = world.volunteer("o-vol")
    world.accept(volunteer, task_id)
    later = START + dt.timedelta(hours=3)
    return volunteer, task_id, lambda: world.admin.patch(f"/api/v1/tasks/{task_id}", json={
        "starts_at": later.isoformat(), "ends_at": (later + dt.timedelta(hours=2)).isoformat()})


def _waitlist_promoted(world):
    task_id = world.task(places=1)
    first, second = world.volunteer("o-vol-1"), world.volunteer("o-vol-2")
    world.accept(first, task_id)
    assert world.accept(second, task_id, waitlist=True)["state"] == "waitlisted"
    return second, task_id, lambda: first.post(f"/api/v1/tasks/{task_id}/withdraw", json={})


def _grid_event_dispatched(world):
    handler = world.people("o-handler")
    event_id = world.event()
    world.act(world.admin, event_id, "accept")
    return handler, event_id, lambda: world.act(world.admin, event_id, "dispatch", to_user_id=handler.user_id)


def _grid_event_returned(world):
    handler = world.people("o-handler")
    event_id = world.dispatched(handler)
    return world.admin, event_id, lambda: world.act(handler, event_id, "return", reason="不属于我的职责范围")


def _grid_event_closed(world):
    handler = world.people("o-handler")
    event_id = world.dispatched(handler)
    world.act(handler, event_id, "take")
    world.act(handler, event_id, "resolve", note="已更换灯泡")
    return world.leader, event_id, lambda: world.act(world.admin, event_id, "verify_ok")


def _grid_event_overdue(world):
    from app.jobs.periodic import remind_overdue_events

    event_id = world.event()

    def overdue():
        world.travel(T0 + dt.timedelta(hours=24, minutes=10))  # the accept step took 24 h
        assert remind_overdue_events() == (1, 0)

    return world.admin, event_id, overdue


def _grid_event_escalation(world):
    from app.jobs.periodic import remind_overdue_events

    street_admin = world.people("o-admin-street", "org_admin", world.tree.street)
    event_id = world.event()

    def escalation():
        world.travel(T0 + dt.timedelta(hours=48, minutes=10))  # 24 h beyond the deadline
        assert remind_overdue_events() == (1, 1)

    return street_admin, event_id, escalation


def _identity_approved(world):
    add_entry("陈小文", "13812345678", world.tree.a1)
    user = world.people("o-chen")
    pending = user.post("/api/v1/me/member-binding",
                        json={"name": "陈晓文", "phone_code": world.wx.phone_code("13812345678")})
    assert pending.status_code == 202, pending.json
    request_id = pending.json["request"]["id"]
    def approve():
        return world.admin.post(f"/api/v1/binding-requests/{request_id}/approve", json={})
    return user, None, approve


def _identity_revoked(world):
    user = world.member(openid="o-member")
    user.openid = "o-member"
    identity_id = user.identity["id"]
    return user, identity_id, lambda: world.admin.post(f"/api/v1/members/{identity_id}/revoke",
                                                       json={"reason": "组织关系转出"})


SCENARIOS = {
    "help_request_accepted": _help_request_accepted,
    "help_request_completed": _help_request_completed,
    "task_cancelled": _task_cancelled,
    "task_changed": _task_changed,
    "waitlist_promoted": _waitlist_promoted,
    "grid_event_dispatched": _grid_event_dispatched,
    "grid_event_returned": _grid_event_returned,
    "grid_event_overdue": _grid_event_overdue,
    "grid_event_closed": _grid_event_closed,
    "grid_event_escalation": _grid_event_escalation,
    "identity_approved": _identity_approved,
    "identity_revoked": _identity_revoked,
}


@pytest.fixture
def scenario(world):
    """``scenario(event)`` -> (recipient, object id or None, trigger)."""

    def make(event: str):
        recipient, object_id, trigger = SCENARIOS[event](world)
        return SimpleNamespace(recipient=recipient, object_id=object_id, trigger=_checked(trigger))

    return make


def _checked(trigger):
    def run():
        response = trigger()
        if response is not None and hasattr(response, "status_code"):
            assert response.status_code == 200, response.json
        return response

    return run
