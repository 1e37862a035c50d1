"""POST/GET /me/subscriptions, the templates' configuration and WeChat's field limits."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from app.config import ConfigError
from app.subscriptions import templates as tpl
from tests.conftest import assert_error
from tests.subscriptions.conftest import SUBSCRIPTIONS

TASK = "demo-task_cancelled"
WAITLIST = "demo-waitlist_promoted"


def counts(response) -> dict[str, int]:
    assert response.status_code == 200, response.json
    return {item["template_id"]: item["remaining"] for item in response.json["items"]}


def test_the_list_names_every_template_its_events_and_zero_counts(people):
    user = people("o-user")
    items = user.get(SUBSCRIPTIONS).json["items"]
    assert {item["template_id"] for item in items} == {f"demo-{event}" for event in tpl.EVENTS}
    task = next(item for item in items if item["template_id"] == TASK)
    assert task == {"template_id": TASK, "events": ["task_cancelled"], "labels": ["志愿任务取消"],
                    "remaining": 0}


def test_accepts_add_up_rejects_and_filters_change_nothing(people):
    user = people("o-user")
    answer = {TASK: "accept", WAITLIST: "reject", "demo-task_changed": "filter",
              "errMsg": "requestSubscribeMessage:ok"}  # wx's answer, posted as it is
    first = counts(user.post(SUBSCRIPTIONS, json={"results": answer}))
    assert first[TASK] == 1 and first[WAITLIST] == 0 and first["demo-task_changed"] == 0
    again = counts(user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept", WAITLIST: "accept"}}))
    assert again[TASK] == 2 and again[WAITLIST] == 1
    assert counts(user.get(SUBSCRIPTIONS)) == again


def test_ban_cancels_what_the_user_held(people):
    user = people("o-user")
    user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}})
    user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}})
    assert counts(user.post(SUBSCRIPTIONS, json={"results": {TASK: "ban"}}))[TASK] == 0


def test_counts_are_capped(people, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBSCRIBE_MAX_PER_TEMPLATE", 2)
    user = people("o-user")
    for _ in range(4):
        last = counts(user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}}))
    assert last[TASK] == 2


def test_counts_are_per_user(people):
    one, other = people("o-one"), people("o-other")
    one.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}})
    assert counts(other.get(SUBSCRIPTIONS))[TASK] == 0


def test_an_unknown_template_is_422_and_nothing_is_recorded(people):
    user = people("o-user")
    error = assert_error(user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept", "someone-elses": "accept"}}),
                         422, "validation_failed")
    assert error["details"]["fields"] == {"results": {"someone-elses": ["Not a template of this app."]}}
    assert counts(user.get(SUBSCRIPTIONS))[TASK] == 0


@pytest.mark.parametrize("body", [
    {}, {"results": {}}, {"results": {TASK: "maybe"}}, {"results": [TASK]}, {"results": {TASK: 1}},
    {"results": {TASK: "accept"}, "extra": 1}, {"results": {"x" * 65: "accept"}},
    {"results": {f"t{i}": "accept" for i in range(21)}},
])
def test_malformed_answers_are_422(people, body):
    user = people("o-user")
    assert_error(user.post(SUBSCRIPTIONS, json=body), 422, "validation_failed")
    assert counts(user.get(SUBSCRIPTIONS))[TASK] == 0


def test_a_login_is_needed(client):
    assert_error(client.get(SUBSCRIPTIONS), 401, "unauthorized")
    assert_error(client.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}}), 401, "unauthorized")


def test_a_retried_post_with_its_idempotency_key_counts_once(people):
    user = people("o-user")
    headers = {"Idempotency-Key": "sub-1"}
    first = user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}}, headers=headers)
    second = user.post(SUBSCRIPTIONS, json={"results": {TASK: "accept"}}, headers=headers)
    assert first.json == second.json and counts(second)[TASK] == 1


def test_the_endpoints_are_documented(client):
    spec = client.get("/api/v1/openapi.json").json
    operations = spec["paths"]["/api/v1/me/subscriptions"]
    assert {"get", "post"} <= set(operations)
    assert "422" in operations["post"]["responses"]


# ---- configuration -----------------------------------------------------------------------

def test_templates_come_from_the_setting_over_the_defaults(make_app):
    app = make_app(SUBSCRIBE_TEMPLATES={"task_cancelled": {"template_id": "real-id-1", "page": "pages/t/d",
                                                           "data": {"thing7": "title", "time8": "time"}}})
    with app.app_context():
        cancelled = tpl.templates()["task_cancelled"]
        assert (cancelled.template_id, cancelled.page, cancelled.data) == (
            "real-id-1", "pages/t/d", {"thing7": "title", "time8": "time"})
        assert tpl.templates()["task_changed"].template_id == "demo-task_changed"


def test_the_setting_is_read_as_json_from_the_environment():
    from app.config import load_config

    settings = load_config("testing", {"SUBSCRIBE_TEMPLATES": json.dumps({"task_cancelled": {"template_id": "x"}})})
    assert settings["SUBSCRIBE_TEMPLATES"] == {"task_cancelled": {"template_id": "x"}}
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config("testing", {"SUBSCRIBE_TEMPLATES": "{nope"})


@pytest.mark.parametrize("overrides, complaint", [
    ({"no_such_event": {}}, "unknown events"),
    ({"task_cancelled": {"template_id": ""}}, "template_id"),
    ({"task_cancelled": {"page": "/pages/x"}}, "page"),
    ({"task_cancelled": {"page": "pages/x?id=1"}}, "page"),
    ({"task_cancelled": {"data": {"thingy": "title"}}}, "not a WeChat template key"),
    ({"task_cancelled": {"data": {"thing1": "colour"}}}, "must be one of"),
    ({"task_cancelled": {"colour": "red"}}, "unknown keys"),
])
def test_a_wrong_setting_stops_the_app(make_app, overrides, complaint):
    with pytest.raises(ConfigError, match=complaint):
        make_app(SUBSCRIBE_TEMPLATES=overrides)


def test_a_wrong_state_stops_the_app(make_app):
    with pytest.raises(ConfigError, match="SUBSCRIBE_STATE"):
        make_app(SUBSCRIBE_STATE="production")


# ---- WeChat's field limits ------------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("thing1", "清洁家园", "清洁家园"),
    ("thing1", "一" * 25, "一" * 19 + "…"),
    ("thing1", "第一行\n第二行  多空格", "第一行 第二行 多空格"),
    ("thing4", "", "无"),
    ("thing4", None, "无"),
    ("phrase2", "已接单", "已接单"),
    ("phrase2", "候补成功了吗真的", "候补成功了"),
    ("phrase2", "OK 已通过!", "已通过"),
    ("character_string3", "DY2026-0000123 号", "DY2026-0000123"),
    ("character_string3", "A" * 40, "A" * 32),
    ("number5", "12 人", "12"),
    ("name6", "欧阳娜娜娜娜娜娜娜娜娜", "欧阳娜娜娜娜娜娜娜…"),
])
def test_values_are_written_within_wechat_limits(key, value, expected):
    assert tpl.format_value(key, value) == expected


def test_times_are_beijing_time():
    when = dt.datetime(2026, 11, 26, 16, 30, tzinfo=dt.UTC)
    assert tpl.format_value("time3", when) == "2026-11-27 00:30"
    assert tpl.format_value("time3", when.isoformat()) == "2026-11-27 00:30"
    assert tpl.format_value("date3", when) == "2026-11-27"


@pytest.mark.parametrize("value", ["x" * 100, "台风预警，活动取消。请大家注意安全，关好门窗！" * 3, "😀" * 30,
                                   "a\tb\nc"])
def test_long_and_odd_texts_pass_the_mock_field_rules(value):
    from mini_program_mock.wechat.server import _field_ok

    for key in ("thing1", "phrase2", "character_string3", "name4", "number5"):
        written = tpl.format_value(key, value)
        assert _field_ok(key, {"value": written}), (key, written)
        assert re.sub(r"\s", "", written) or written


def test_the_list_costs_the_same_whatever_the_user_holds(people, count_queries):
    user = people("o-user")
    with count_queries() as before:
        user.get(SUBSCRIPTIONS)
    for template_id in (TASK, WAITLIST, "demo-grid_event_overdue"):
        user.post(SUBSCRIPTIONS, json={"results": {template_id: "accept"}})
    with count_queries() as after:
        user.get(SUBSCRIPTIONS)
    assert after.count == before.count <= 3  # the user (authentication) and the counts


def test_the_list_is_a_keyset_page(people):
    user = people("o-user")
    whole = user.get(SUBSCRIPTIONS, query_string={"limit": 100}).json
    assert whole["next_cursor"] is None
    ids = [item["template_id"] for item in whole["items"]]
    assert ids == sorted(ids)
    paged, cursor = [], None
    while True:
        page = user.get(SUBSCRIPTIONS, query_string={"limit": 5, **({"cursor": cursor} if cursor else {})}).json
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole["items"]
    for bad in ("nope", "WzFd", "e30"):  # not base64 JSON, [1], {}
        assert_error(user.get(SUBSCRIPTIONS, query_string={"cursor": bad}), 422, "validation_failed")
