"""Fixtures for the content-security tests: the mock WeChat's doors, and every
write path whose text is checked, ready to write a given text.

``write_path(name)`` sets up what the path needs (a task, an event, an
approved plate...) and returns a :class:`WritePath`: ``write(text)`` sends
the request with ``text`` in the checked field, ``rows()`` counts what the
path stores, ``field`` is the name the 422 must give."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from tests.badges.helpers import PLATES, POSTS, approved_plate, business_zone, make_post
from tests.grid.conftest import SQUARE
from tests.grid.helpers import EVENTS, event_body
from tests.tasks.conftest import END, START, serve, task_body

# Before START (tasks run the next day), as in tests/tasks.
T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def categories(app):
    from app.grid.categories import ensure_default_categories

    ensure_default_categories()


@pytest.fixture
def mock_wx(wechat_server):
    """The mock WeChat's test doors."""

    class Doors:
        def door(self, name: str, **body):
            response = wechat_server.app.test_client().post(f"/mock/wx/{name}", json=body)
            assert response.status_code == 200, response.get_data(as_text=True)

        def rule(self, contains: str, suggest: str, label: int = 20001):
            self.door("sec-rules", contains=contains, suggest=suggest, label=label)

        def fail(self, errcode: int = -1, times: int = 1):
            self.door("fail", path="/wxa/msg_sec_check", errcode=errcode, times=times)

    return Doors()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@dataclass
class WritePath:
    name: str
    field: str
    api: object                      # who writes
    write: Callable[[str], object]   # text -> response
    rows: Callable[[], int]          # what the path stores
    kind: str


@pytest.fixture
def grid(admin, tree):
    response = admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "第一网格",
                                                 "households": 320, "boundary": SQUARE})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def write_path(app, admin, tree, login, member, travel, login_as, grid):
    """``write_path(name)``: one of :data:`PATHS`, set up and ready to write."""
    from app.badges.models import MerchantFeedback, PostRating, ServicePost
    from app.grid.models import EventComment, GridEvent
    from app.tasks.models import HelpRequest, HoursEntry, Task, Volunteer

    def resident():
        return login("o-resident")

    def volunteer_skills():
        api = login("o-volunteer")
        return WritePath("volunteer_skills", "skills", api, lambda text: api.put(
            "/api/v1/me/volunteer", json={"community_id": tree.a, "skills": ["陪护", text]}),
            lambda: count(Volunteer), "volunteer")

    def help_request(field):
        api = resident()

        def write(text):
            body = {"community_id": tree.a, "category": "errands", "description": "帮忙买菜",
                    "address": "丰泽路 3 号", "window_start": START.isoformat(),
                    "window_end": END.isoformat(), "contact_phone": "13800138000", field: text}
            return api.post("/api/v1/help-requests", json=body)

        return WritePath(f"help_request_{field}", field, api, write, lambda: count(HelpRequest),
                         "help_request")

    def task(field):
        return WritePath(f"task_{field}", field, admin,
                         lambda text: admin.post("/api/v1/tasks", json=task_body(tree.a, **{field: text})),
                         lambda: count(Task), "task")

    def task_rating():
        created = admin.post("/api/v1/tasks", json=task_body(tree.a, hours_credited=1.5)).json
        assert admin.post(f"/api/v1/tasks/{created['id']}/publish", json={}).status_code == 200
        v = login("o-served")
        assert v.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
        assert v.post(f"/api/v1/tasks/{created['id']}/accept", json={}).status_code == 201
        participation = serve(v, created["id"], travel, START, START + dt.timedelta(hours=1))
        url = f"/api/v1/participations/{participation['id']}/confirm"
        return WritePath("task_rating_comment", "comment", admin,
                         lambda text: admin.post(url, json={"score": 5, "comment": text}),
                         lambda: count(HoursEntry), "task_rating")

    def grid_event(field):
        api = resident()
        return WritePath(f"grid_event_{field}", field, api,
                         lambda text: api.post(EVENTS, json=event_body(**{field: text})),
                         lambda: count(GridEvent), "grid_event")

    def grid_comment():
        event = admin.post(EVENTS, json=event_body()).json["event"]
        return WritePath("grid_comment_body", "body", admin,
                         lambda text: admin.post(f"{EVENTS}/{event['id']}/comments", json={"body": text}),
                         lambda: count(EventComment), "grid_comment")

    def post_name():
        return WritePath("service_post_name", "name", admin,
                         lambda text: admin.post(POSTS, json={"org_id": tree.a, "name": text}),
                         lambda: count(ServicePost), "service_post")

    def post_rating():
        post = make_post(admin, tree.a)
        api = resident()
        return WritePath("post_rating_comment", "comment", api,
                         lambda text: api.post(f"{POSTS}/{post['id']}/ratings",
                                               json={"score": 4, "comment": text}),
                         lambda: count(PostRating), "post_rating")

    def plate_feedback():
        zone = business_zone(tree.street)
        plate, _code = approved_plate(member("陈小文", "13800138000"), login_as("org_admin", zone), zone)
        api = login("o-customer")
        return WritePath("plate_feedback_comment", "comment", api,
                         lambda text: api.post(f"{PLATES}/{plate['id']}/feedback",
                                               json={"score": 5, "comment": text}),
                         lambda: count(MerchantFeedback), "plate_feedback")

    paths = {
        "volunteer_skills": volunteer_skills,
        "help_request_description": lambda: help_request("description"),
        "help_request_address": lambda: help_request("address"),
        "task_title": lambda: task("title"),
        "task_description": lambda: task("description"),
        "task_rating_comment": task_rating,
        "grid_event_title": lambda: grid_event("title"),
        "grid_event_description": lambda: grid_event("description"),
        "grid_comment_body": grid_comment,
        "service_post_name": post_name,
        "post_rating_comment": post_rating,
        "plate_feedback_comment": plate_feedback,
    }
    return lambda name: paths[name]()


PATHS = ["volunteer_skills", "help_request_description", "help_request_address", "task_title",
         "task_description", "task_rating_comment", "grid_event_title", "grid_event_description",
         "grid_comment_body", "service_post_name", "post_rating_comment", "plate_feedback_comment"]
