"""Idempotency-Keys survive the loss of Redis: finished answers are kept in
the database too, Redis holds the in-flight claim and a cached copy.
``flushdb`` stands for a Redis that restarted empty."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select

from app.common import idempotency
from app.common.idempotency import IdempotentAnswer
from app.extensions import db, get_redis
from app.tasks.models import HelpRequest
from tests.conftest import assert_error
from tests.tasks.conftest import HERE, START, iso

URL = "/api/v1/help-requests"


def body(tree, **fields):
    return {"community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
            "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START),
            "window_end": iso(START + dt.timedelta(hours=2)), "contact_phone": "13900001111", **fields}


def count(model=HelpRequest):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def resident(login):
    return login("o-idem-resident")


def test_a_retry_after_redis_restarts_replays_the_first_answer_and_creates_nothing(resident, tree):
    key = {"Idempotency-Key": "help-1"}
    first = resident.post(URL, json=body(tree), headers=key)
    assert first.status_code == 201
    get_redis().flushdb()
    replay = resident.post(URL, json=body(tree), headers=key)
    assert replay.status_code == 201
    assert replay.get_data() == first.get_data()
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count() == 1
    # the answer is cached again: the next retry needs no database read
    saved = json.loads(get_redis().get(f"idem:user:{resident.user_id}:tasks.create_help_request:help-1"))
    assert saved["state"] == "done" and saved["status"] == 201


def test_after_a_restart_the_same_key_for_another_body_is_still_refused(resident, tree):
    key = {"Idempotency-Key": "help-2"}
    assert resident.post(URL, json=body(tree), headers=key).status_code == 201
    get_redis().flushdb()
    assert_error(resident.post(URL, json=body(tree, description="另一件事"), headers=key),
                 422, "idempotency_key_reused")
    assert count() == 1


def test_a_refusal_is_replayed_after_a_restart_too(resident, tree):
    key = {"Idempotency-Key": "help-3"}
    refused = resident.post(URL, json=body(tree, community_id=tree.a1), headers=key)
    assert refused.status_code >= 400 and refused.status_code < 500
    get_redis().flushdb()
    again = resident.post(URL, json=body(tree, community_id=tree.a1), headers=key)
    assert (again.status_code, again.get_data()) == (refused.status_code, refused.get_data())
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_are_per_user_in_the_database_too(login, tree):
    a, b = login("o-idem-a"), login("o-idem-b")
    key = {"Idempotency-Key": "same"}
    first = a.post(URL, json=body(tree), headers=key)
    get_redis().flushdb()
    second = b.post(URL, json=body(tree), headers=key)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.json["id"] != first.json["id"]


def test_a_request_that_crashed_midway_does_not_block_its_key(resident, tree, monkeypatch):
    from app.tasks import help_requests

    real = help_requests.create_help_request

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(help_requests, "create_help_request", crash)
    key = {"Idempotency-Key": "help-crash"}
    assert_error(resident.post(URL, json=body(tree), headers=key), 500, "internal_error")
    monkeypatch.setattr(help_requests, "create_help_request", real)
    retry = resident.post(URL, json=body(tree), headers=key)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert count() == 1 and count(IdempotentAnswer) == 1


def test_a_claim_left_by_a_dead_process_only_blocks_until_it_lapses(resident, tree):
    raw = json.dumps(body(tree)).encode()
    send = {"data": raw, "content_type": "application/json", "headers": {"Idempotency-Key": "help-dead"}}
    redis_key = f"idem:user:{resident.user_id}:tasks.create_help_request:help-dead"
    get_redis().set(redis_key, json.dumps({"state": "pending", "fp": hashlib.sha256(raw).hexdigest()}),
                    ex=idempotency.PENDING_SECONDS)
    assert_error(resident.post(URL, **send), 409, "idempotency_in_progress")
    assert 0 < get_redis().ttl(redis_key) <= idempotency.PENDING_SECONDS
    get_redis().delete(redis_key)  # what its expiry does
    assert resident.post(URL, **send).status_code == 201


def test_an_answer_older_than_a_day_is_not_replayed_and_is_replaced(resident, tree, clock, travel):
    key = {"Idempotency-Key": "help-old"}
    first = resident.post(URL, json=body(tree), headers=key)
    travel(hours=25)
    get_redis().flushdb()
    again = resident.post(URL, json=body(tree), headers=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json["id"] != first.json["id"]
    get_redis().flushdb()
    replay = resident.post(URL, json=body(tree), headers=key)
    assert replay.json["id"] == again.json["id"] and replay.headers["Idempotent-Replayed"] == "true"
    assert count(IdempotentAnswer) == 1


def test_a_first_keyed_request_costs_one_insert_and_no_extra_read(resident, tree, count_queries):
    costs = {}
    for name, headers in (("plain", {}), ("keyed", {"Idempotency-Key": "help-cost"})):
        db.session.expunge_all()
        with count_queries() as queries:
            assert resident.post(URL, json=body(tree), headers=headers).status_code == 201
        costs[name] = queries.statements
    extra = len(costs["keyed"]) - len(costs["plain"])
    assert extra == 1, costs["keyed"]
    assert costs["keyed"][-1].startswith("INSERT INTO idempotent_answers")


def test_pruning_drops_answers_older_than_a_day(resident, tree, clock):
    resident.post(URL, json=body(tree), headers={"Idempotency-Key": "old"})
    clock.shift(23 * 3600)
    resident.refresh()
    assert resident.post(URL, json=body(tree), headers={"Idempotency-Key": "young"}).status_code == 201
    clock.shift(3600 + 1)
    assert idempotency.prune_expired() == 1
    assert db.session.scalars(select(IdempotentAnswer.key)).all() == ["young"]
