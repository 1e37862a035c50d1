"""WeChat unreachable on the write path: fail open (stored unchecked and shown,
re-checked by a job and by the periodic sweep) or fail closed (503, nothing
stored); the re-check is idempotent."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs.periodic import recheck_texts
from app.moderation.models import ModerationItem
from app.moderation.services import recheck_text
from app.notices.models import Notice
from app.tasks.models import Task
from app.wechat.client import get_wechat
from tests.conftest import assert_error
from tests.moderation.conftest import PATHS, count
from tests.tasks.conftest import task_body

QUEUE = "/api/v1/moderation/texts"


def items() -> list[ModerationItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(ModerationItem).order_by(ModerationItem.id)))


def task_state(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).content_state


@pytest.fixture
def unchecked_task(admin, tree, mock_wx, login):
    """A published task written while msg_sec_check failed twice (the write and
    its eager re-check): stored, unchecked, shown."""
    mock_wx.fail(errcode=-1, times=2)
    created = admin.post("/api/v1/tasks", json=task_body(tree.a, title="社区义诊", description=""))
    assert created.status_code == 201, created.json
    assert created.json["content_state"] == "unchecked"
    admin.post(f"/api/v1/tasks/{created.json['id']}/publish", json={})
    return created.json


def test_fail_open_stores_it_unchecked_and_shown_then_the_sweep_resolves_it(
        unchecked_task, admin, login, mock_wx):
    [item] = items()
    assert (item.state, item.field, item.kind) == ("unchecked", "title", "task")
    resident = login("o-resident")
    assert [t["id"] for t in resident.get("/api/v1/tasks").json["items"]] == [unchecked_task["id"]]
    assert [i["id"] for i in admin.get(QUEUE, query_string={"state": "unchecked"}).json["items"]] == [item.id]

    assert recheck_texts() == 1  # the periodic job, by hand: WeChat answers now
    [item] = items()
    assert item.state == "passed" and item.trace_id
    assert task_state(unchecked_task["id"]) == "visible"
    assert recheck_texts() == 0  # nothing left to re-check
    assert admin.get(QUEUE, query_string={"state": "unchecked"}).json["items"] == []


def test_the_eager_recheck_resolves_a_single_failure_at_once(admin, tree, mock_wx):
    mock_wx.fail(errcode=-1, times=1)  # only the write's own call fails
    created = admin.post("/api/v1/tasks", json=task_body(tree.a, description=""))
    assert created.status_code == 201 and created.json["content_state"] == "unchecked"
    [item] = items()
    assert item.state == "passed"  # the job ran right after the commit
    assert task_state(created.json["id"]) == "visible"


def test_a_timeout_fails_open_too(admin, tree, mock_wx, monkeypatch):
    monkeypatch.setattr(get_wechat(), "timeout", 0.5)
    mock_wx.door("slow", path="/wxa/msg_sec_check", interval_ms=100, times=1)
    created = admin.post("/api/v1/tasks", json=task_body(tree.a, description=""))
    assert created.status_code == 201 and created.json["content_state"] == "unchecked"
    assert [item.state for item in items()] == ["passed"]


@pytest.mark.parametrize("suggest, state", [("review", "review"), ("risky", "rejected")])
def test_the_recheck_hides_what_wechat_then_flags(unchecked_task, admin, login, mock_wx, suggest, state):
    mock_wx.rule("义诊", suggest)
    resident = login("o-resident")
    assert recheck_texts() == 1
    [item] = items()
    assert item.state == state
    assert task_state(unchecked_task["id"]) == state
    assert resident.get("/api/v1/tasks").json["items"] == []
    assert_error(resident.get(f"/api/v1/tasks/{unchecked_task['id']}"), 404, "not_found")
    notices = admin.get("/api/v1/me/notices").json["items"]
    assert [n["kind"] for n in notices] == (["content_rejected"] if suggest == "risky" else [])


def test_a_recheck_wechat_refuses_goes_to_review(unchecked_task, admin, mock_wx):
    mock_wx.fail(errcode=40003, times=1)  # not the text's fault, and a retry cannot help
    recheck_texts()
    [item] = items()
    assert item.state == "review"
    assert task_state(unchecked_task["id"]) == "review"


def test_a_recheck_that_fails_again_stays_unchecked_for_the_next_sweep(unchecked_task, mock_wx):
    mock_wx.fail(errcode=-1, times=1)
    assert recheck_texts() == 1
    assert [item.state for item in items()] == ["unchecked"]
    assert recheck_texts() == 1
    assert [item.state for item in items()] == ["passed"]


def test_the_recheck_is_idempotent(unchecked_task, admin, mock_wx):
    mock_wx.rule("义诊", "risky")
    [item] = items()
    assert recheck_text(item.id) == "refuse"
    assert recheck_text(item.id) is None  # a retry, or a second worker: nothing again
    recheck_texts()
    db.session.expire_all()
    assert count(Notice) == 1
    assert [i.state for i in items()] == ["rejected"]


def test_an_admin_may_decide_an_unchecked_text_before_wechat_does(unchecked_task, admin, mock_wx):
    [item] = items()
    assert admin.post(f"{QUEUE}/{item.id}/reject", json={"reason": "不宜发布"}).status_code == 200
    assert task_state(unchecked_task["id"]) == "rejected"
    assert recheck_text(item.id) is None  # the sweep leaves a decided item alone


@pytest.mark.parametrize("name", PATHS)
def test_fail_closed_answers_503_and_stores_nothing(app, write_path, mock_wx, monkeypatch, name):
    path = write_path(name)
    monkeypatch.setitem(app.config, "CONTENT_CHECK_FAILURE", "closed")
    mock_wx.fail(errcode=-1, times=1)
    before = path.rows()
    error = assert_error(path.write("一切正常"), 503, "wechat_unavailable")
    assert error["details"] == {"dependency": "wechat"}
    assert path.rows() == before
    assert items() == []


def test_fail_closed_on_a_timeout(app, admin, tree, mock_wx, monkeypatch):
    monkeypatch.setitem(app.config, "CONTENT_CHECK_FAILURE", "closed")
    monkeypatch.setattr(get_wechat(), "timeout", 0.5)
    mock_wx.door("slow", path="/wxa/msg_sec_check", interval_ms=100, times=1)
    before = count(Task)
    response = admin.post("/api/v1/tasks", json=task_body(tree.a))
    assert_error(response, 503, "wechat_unavailable")
    assert response.headers["Retry-After"]
    assert count(Task) == before


def test_the_setting_is_checked_at_start():
    from app.config import ConfigError, load_config

    with pytest.raises(ConfigError):
        load_config("testing", {"CONTENT_CHECK_FAILURE": "sometimes"})
    assert load_config("testing", {})["CONTENT_CHECK_FAILURE"] == "open"
