"""Text content security through the mock WeChat: risky text refused with
nothing stored, review text held until an admin releases it, and WeChat
unreachable (fail open with a re-check, or fail closed)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.moderation.models import ModerationItem
from tests.conftest import assert_error
from tests.grid.helpers import EVENTS, event_body
from tests.moderation.conftest import PATHS
from tests.tasks.conftest import task_body

QUEUE = "/api/v1/moderation/texts"
RISKY, REVIEW = "违禁词", "待审词"


def items(**where) -> list[ModerationItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(ModerationItem).filter_by(**where).order_by(ModerationItem.id)))


def state_of(response) -> str:
    body = response.json
    return (body.get("event") or body)["content_state"]


def object_id(response) -> int:
    body = response.json
    return (body.get("event") or body)["id"]


def queue_ids(api, **query) -> list[int]:
    response = api.get(QUEUE, query_string=query)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


# ---- risky: 422, nothing stored ----------------------------------------------------

@pytest.mark.parametrize("name", PATHS)
def test_risky_text_is_refused_naming_the_field_and_nothing_is_stored(write_path, mock_wx, name):
    path = write_path(name)
    mock_wx.rule(RISKY, "risky", label=20001)
    before = path.rows()
    error = assert_error(path.write(f"这里有{RISKY}"), 422, "content_rejected")
    assert error["details"]["field"] == path.field
    assert error["details"]["label"] == 20001
    assert path.rows() == before
    assert items() == []
    # the same write with a clean text goes through, visible
    response = path.write("一切正常")
    assert response.status_code in (200, 201), response.json
    assert state_of(response) == "visible"
    assert path.rows() == before + 1
    assert items() == []


def test_a_risky_edit_of_a_task_changes_nothing(admin, tree, mock_wx):
    task = admin.post("/api/v1/tasks", json=task_body(tree.a)).json
    mock_wx.rule(RISKY, "risky")
    assert_error(admin.patch(f"/api/v1/tasks/{task['id']}", json={"title": RISKY, "places": 5}),
                 422, "content_rejected")
    again = admin.get(f"/api/v1/tasks/{task['id']}").json
    assert (again["title"], again["places"]) == (task["title"], task["places"])


def test_empty_fields_are_not_sent(app, admin, tree, mock_wx, wechat_server):
    mock_wx.fail(errcode=-1, times=1)  # the one call there is fails
    response = admin.post("/api/v1/tasks", json=task_body(tree.a, description=""))
    assert response.status_code == 201
    assert [item.field for item in items()] == ["title"]  # description empty: never asked about


# ---- review: stored, held, released ----------------------------------------------------

@pytest.mark.parametrize("name", PATHS)
def test_review_text_is_stored_held_and_queued_for_the_right_admins(
        write_path, mock_wx, name, street_admin, admin_b, district_admin):
    path = write_path(name)
    mock_wx.rule(REVIEW, "review", label=20002)
    before = path.rows()
    response = path.write(f"内容{REVIEW}")
    assert response.status_code in (200, 201), response.json
    assert state_of(response) == "review"  # the author sees it, marked
    assert path.rows() == before + 1
    [item] = items()
    assert (item.kind, item.field, item.state, item.label, item.author_id) == \
        (path.kind, path.field, "review", 20002, path.api.user_id)
    assert REVIEW in item.excerpt and item.trace_id
    assert queue_ids(street_admin) == [item.id] == queue_ids(district_admin)
    assert queue_ids(admin_b) == []  # another community's admin
    assert_error(admin_b.post(f"{QUEUE}/{item.id}/release", json={}), 404, "not_found")

    released = street_admin.post(f"{QUEUE}/{item.id}/release", json={})
    assert released.status_code == 200, released.json
    assert released.json["state"] == "released"
    assert queue_ids(street_admin) == []
    from app.moderation.services import model_of

    assert db.session.get(model_of(item.kind), item.object_id).content_state == "visible"
    assert_error(street_admin.post(f"{QUEUE}/{item.id}/release", json={}), 409, "moderation_decided")


def test_a_task_in_review_is_hidden_from_others_until_released(admin, admin_b, tree, mock_wx, login,
                                                              street_admin):
    mock_wx.rule(REVIEW, "review")
    created = admin.post("/api/v1/tasks", json=task_body(tree.a, title=f"义诊{REVIEW}"))
    task_id = created.json["id"]
    assert admin.post(f"/api/v1/tasks/{task_id}/publish", json={}).status_code == 200
    clean = admin.post("/api/v1/tasks", json=task_body(tree.a, title="清洁家园")).json
    admin.post(f"/api/v1/tasks/{clean['id']}/publish", json={})
    resident = login("o-resident")

    def listed(api, **query):
        return [t["id"] for t in api.get("/api/v1/tasks", query_string=query).json["items"]]

    near = {"near": f"{task_body(tree.a)['location']['lat']},{task_body(tree.a)['location']['lng']}"}
    for other in (resident, admin_b):
        assert listed(other) == [clean["id"]]
        assert listed(other, **near) == [clean["id"]]  # tasks near me
        assert_error(other.get(f"/api/v1/tasks/{task_id}"), 404, "not_found")
    mine = admin.get(f"/api/v1/tasks/{task_id}").json
    assert mine["content_state"] == "review"
    assert task_id in listed(admin)

    [item] = items()
    street_admin.post(f"{QUEUE}/{item.id}/release", json={})
    assert sorted(listed(resident)) == sorted([task_id, clean["id"]])
    assert resident.get(f"/api/v1/tasks/{task_id}").json["content_state"] == "visible"


def test_a_grid_event_and_a_comment_in_review_are_hidden_from_leaders(admin, grid, login, mock_wx):
    leader = login("o-leader")
    assert admin.post(f"/api/v1/grids/{grid['id']}/leaders",
                      json={"user_id": leader.user_id, "role": "grid_leader"}).status_code == 201
    resident = login("o-resident")
    mock_wx.rule(REVIEW, "review")
    held = resident.post(EVENTS, json=event_body(title=f"楼道{REVIEW}")).json["event"]
    shown = resident.post(EVENTS, json=event_body(title="路灯不亮", category="sanitation")).json["event"]

    def board(api):
        return [e["id"] for e in api.get(EVENTS).json["items"]]

    assert board(leader) == [shown["id"]]  # the grid board of a non-admin
    assert_error(leader.get(f"{EVENTS}/{held['id']}"), 404, "not_found")
    assert sorted(board(resident)) == sorted([held["id"], shown["id"]])  # the reporter's own
    assert resident.get(f"{EVENTS}/{held['id']}").json["content_state"] == "review"
    assert held["id"] in board(admin)

    # a comment held for review: the leader does not see it, its author does (marked)
    comment = leader.post(f"{EVENTS}/{shown['id']}/comments", json={"body": f"已到场{REVIEW}"})
    assert comment.status_code == 201 and comment.json["content_state"] == "review"
    other = resident.get(f"{EVENTS}/{shown['id']}/timeline").json["comments"]
    assert other == []
    assert [c["content_state"] for c in leader.get(f"{EVENTS}/{shown['id']}/timeline").json["comments"]] \
        == ["review"]
    assert len(admin.get(f"{EVENTS}/{shown['id']}/timeline").json["comments"]) == 1

    for item in items():
        assert admin.post(f"{QUEUE}/{item.id}/release", json={}).status_code == 200
    assert sorted(board(leader)) == sorted([held["id"], shown["id"]])
    assert len(resident.get(f"{EVENTS}/{shown['id']}/timeline").json["comments"]) == 1


def test_a_post_whose_name_is_in_review_is_not_public(admin, tree, login, mock_wx):
    from tests.badges.helpers import POSTS, SCAN, post_plate_code

    mock_wx.rule(REVIEW, "review")
    post = admin.post(POSTS, json={"org_id": tree.a, "name": f"示范岗{REVIEW}"}).json
    assert post["content_state"] == "review"
    resident = login("o-resident")
    assert_error(resident.get(f"{POSTS}/{post['id']}"), 404, "not_found")
    assert_error(resident.post(f"{POSTS}/{post['id']}/ratings", json={"score": 5}), 404, "not_found")
    scanned = resident.post(SCAN, json={"code": post_plate_code(admin, post["id"])}).json
    assert (scanned["valid"], scanned["post"]) == (False, None)
    assert admin.get(f"{POSTS}/{post['id']}").status_code == 200

    [item] = items()
    admin.post(f"{QUEUE}/{item.id}/release", json={})
    assert resident.get(f"{POSTS}/{post['id']}").json["name"] == f"示范岗{REVIEW}"


def test_a_rating_comment_in_review_is_hidden_from_the_volunteer(write_path, mock_wx, login):
    path = write_path("task_rating_comment")
    mock_wx.rule(REVIEW, "review")
    confirmed = path.write(f"服务很好{REVIEW}")
    assert confirmed.json["comment"] == f"服务很好{REVIEW}"  # the author's own answer
    volunteer = login("o-served")  # the same user, logged in again
    [mine] = volunteer.get("/api/v1/me/tasks").json["items"]
    assert (mine["comment"], mine["content_state"]) == (None, "review")
    [item] = items()
    path.api.post(f"{QUEUE}/{item.id}/release", json={})
    assert volunteer.get("/api/v1/me/tasks").json["items"][0]["comment"] == f"服务很好{REVIEW}"


def test_reject_hides_for_good_and_tells_the_author(admin, grid, login, tree, mock_wx):
    mock_wx.rule(REVIEW, "review")
    resident = login("o-resident")
    created = resident.post(EVENTS, json=event_body(description=f"描述{REVIEW}")).json["event"]
    [item] = items()
    assert_error(admin.post(f"{QUEUE}/{item.id}/reject", json={}), 422, "validation_failed")
    rejected = admin.post(f"{QUEUE}/{item.id}/reject", json={"reason": "含不实信息"})
    assert rejected.status_code == 200 and rejected.json["state"] == "rejected"
    assert_error(admin.post(f"{QUEUE}/{item.id}/release", json={}), 409, "moderation_decided")
    assert queue_ids(admin) == [] and queue_ids(admin, state="rejected") == [item.id]
    assert resident.get(f"{EVENTS}/{created['id']}").json["content_state"] == "rejected"
    [notice] = resident.get("/api/v1/me/notices").json["items"]
    assert notice["kind"] == "content_rejected"
    assert notice["data"] == {"object_kind": "grid_event", "object_id": created["id"], "field": "description",
                              "reason": "含不实信息"}


def test_the_queue_is_for_admins_and_its_input_is_checked(login, admin, login_as, tree):
    assert_error(login("o-nobody").get(QUEUE), 403, "forbidden")
    assert_error(login_as("center_admin", tree.a).get(QUEUE), 403, "forbidden")
    assert_error(admin.get(QUEUE, query_string={"state": "passed"}), 422, "validation_failed")
    assert_error(admin.post(f"{QUEUE}/999/release", json={}), 404, "not_found")


def test_the_queue_is_paged_in_constant_queries(admin, tree, mock_wx, count_queries):
    mock_wx.rule(REVIEW, "review")
    for n in range(5):
        assert admin.post("/api/v1/tasks", json=task_body(tree.a, title=f"任务{n}{REVIEW}")).status_code == 201
    with count_queries() as small:
        first = admin.get(QUEUE, query_string={"limit": 2})
    with count_queries() as large:
        every = admin.get(QUEUE, query_string={"limit": 5})
    assert len(first.json["items"]) == 2 and first.json["next_cursor"]
    assert len(every.json["items"]) == 5
    assert small.count == large.count
    rest = admin.get(QUEUE, query_string={"limit": 2, "cursor": first.json["next_cursor"]}).json
    assert [i["id"] for i in rest["items"]] == [i["id"] for i in every.json["items"][2:4]]


def test_lists_stay_constant_in_queries_with_held_rows(admin, tree, mock_wx, count_queries, login):
    mock_wx.rule(REVIEW, "review")
    resident = login("o-resident")

    def publish(title):
        task = admin.post("/api/v1/tasks", json=task_body(tree.a, title=title)).json
        admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})

    publish(f"甲{REVIEW}")
    publish("乙")
    with count_queries() as few:
        assert len(resident.get("/api/v1/tasks").json["items"]) == 1
    for n in range(4):
        publish(f"丙{n}")
        publish(f"丁{n}{REVIEW}")
    with count_queries() as many:
        assert len(resident.get("/api/v1/tasks").json["items"]) == 5
    assert few.count == many.count


def test_a_help_request_in_review_is_hidden_from_its_volunteers_until_released(
        admin, tree, login, mock_wx, write_path):
    path = write_path("help_request_description")
    mock_wx.rule(REVIEW, "review")
    request = path.write(f"帮忙买菜{REVIEW}").json
    assert path.api.get(f"/api/v1/help-requests/{request['id']}").json["content_state"] == "review"
    task = admin.post("/api/v1/tasks", json={**task_body(tree.a), "community_id": None,
                                             "help_request_id": request["id"], "description": "买菜"})
    assert task.status_code == 201, task.json
    assert admin.post(f"/api/v1/tasks/{task.json['id']}/publish", json={}).status_code == 200
    volunteer = login("o-helper")
    volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a})
    assert volunteer.post(f"/api/v1/tasks/{task.json['id']}/accept", json={}).status_code == 201
    assert_error(volunteer.get(f"/api/v1/help-requests/{request['id']}"), 404, "not_found")

    [item] = items(kind="help_request")
    admin.post(f"{QUEUE}/{item.id}/release", json={})
    shown = volunteer.get(f"/api/v1/help-requests/{request['id']}")
    assert shown.status_code == 200 and shown.json["contact_phone"] == "13800138000"
