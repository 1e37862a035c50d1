"""The job queue: eager jobs, jobs on a real RQ worker, idempotency across
duplicates and retries.

The worker tests run an RQ ``SimpleWorker`` in the test process on the
test Redis (``TEST_REDIS_URL`` in CI's second run, an in-process fakeredis
otherwise), with the app's own worker set-up (``make_worker``).
"""
from __future__ import annotations

import datetime as dt
import re

import fakeredis
import pytest
from flask import g
from rq import Retry
from rq.job import JobStatus

from app.auth.models import User
from app.config import ConfigError
from app.extensions import db, get_queue_redis, get_redis
from app.jobs.queue import (
    DEFAULT_QUEUE,
    JobInProgress,
    enqueue,
    get_queue,
    job_id_for,
    once,
)
from tests.conftest import REDIS_URL
from tests.jobs import work

KEY = "notify:task_cancelled:12:34"


# ---- keys ----------------------------------------------------------------------------------------

def test_job_ids_are_deterministic_valid_and_distinct():
    assert job_id_for(KEY) == job_id_for(KEY)
    assert job_id_for(KEY).startswith("notify-task_cancelled-12-34-")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", job_id_for(KEY))
    assert job_id_for("a:b") != job_id_for("a-b") == "a-b"
    assert job_id_for("提醒:1") != job_id_for("通知:1")
    assert len(job_id_for("x:" * 500)) <= 100


def test_enqueue_gives_the_job_its_id_and_key(app):
    job = enqueue(work.record, "keyed", job_id=KEY)
    assert job.id == job_id_for(KEY)
    assert job.meta["key"] == KEY


# ---- eager -----------------------------------------------------------------------------------------

def test_eager_runs_the_job_at_once_in_an_app_context_of_its_own(app):
    db.session.add(User(openid="o-eager"))
    db.session.commit()
    g.marker = "the caller's request"
    job = enqueue(work.record, "eager", job_id=KEY)
    assert job.get_status() == JobStatus.FINISHED
    assert work.effects("eager") == ["done"]
    seen = job.return_value()
    assert seen["testing"] is True and seen["users"] == 1  # the app's config and database
    assert seen["session"] != id(db.session())  # its own session, not the caller's
    assert seen["has_request_g"] is False


def test_enqueueing_the_same_key_twice_does_the_work_once(app):
    first = enqueue(work.record, "twice", job_id=KEY)
    second = enqueue(work.record, "twice", "another value", job_id=KEY)
    assert second.id == first.id
    assert work.effects("twice") == ["done"]


def test_a_job_run_again_after_its_record_expired_does_not_redo_its_work(app):
    first = enqueue(work.record, "expired", job_id=KEY)
    first.delete()  # what RQ does when the result's time is up
    again = enqueue(work.record, "expired", "another value", job_id=KEY)
    assert again.get_status() == JobStatus.FINISHED
    assert work.effects("expired") == ["done"]  # once() remembered


def test_a_failed_eager_job_is_logged_and_does_not_raise(app, caplog):
    job = enqueue(work.fail, "eager-failure", job_id="fail:1")
    assert job.get_status() == JobStatus.FAILED
    assert any("fail-1" in r.getMessage() and "always fails" in r.getMessage() for r in caplog.records)
    # a job given up on is replaced when its event is enqueued again
    again = enqueue(work.fail, "eager-failure", job_id="fail:1")
    assert again.get_status() == JobStatus.FAILED
    assert get_redis().get("test:attempts:eager-failure") == "2"


def test_enqueue_refuses_changes_not_yet_committed(app):
    db.session.add(User(openid="o-uncommitted"))
    with pytest.raises(RuntimeError, match="after the commit"):
        enqueue(work.record, "uncommitted")
    assert work.effects("uncommitted") == []
    db.session.rollback()


def test_an_unknown_queue_is_refused(app):
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue(work.record, "nowhere", queue="urgent")


# ---- once() ----------------------------------------------------------------------------------------

def test_once_does_the_work_once_and_again_after_a_failure(app):
    with pytest.raises(ConnectionError), once("step:1") as first:
        assert first
        raise ConnectionError("failed midway")
    with once("step:1") as first:  # the claim was released: do it now
        assert first
    with once("step:1") as first:
        assert not first
    with once("step:2") as first:  # another key, another piece of work
        assert first


def test_once_refuses_while_another_run_holds_the_claim(app):
    with once("step:held") as first:
        assert first
        with pytest.raises(JobInProgress), once("step:held"):
            pass
    with once("step:held") as first:
        assert not first


def test_once_without_a_key_needs_a_keyed_job(app):
    with pytest.raises(RuntimeError, match="job_id"), once():
        pass
    job = enqueue(work.record, "unkeyed")  # in a job without a key: fails, and says why
    assert job.get_status() == JobStatus.FAILED
    assert "job_id" in job.latest_result().exc_string


# ---- on a worker -----------------------------------------------------------------------------------

def test_the_worker_runs_on_the_test_redis(app, queued):
    assert isinstance(get_queue_redis(), fakeredis.FakeRedis) is (REDIS_URL is None)
    get_queue().enqueue(work.record, "probe")
    assert get_redis().llen(f"rq:queue:{DEFAULT_QUEUE}") == 1  # one Redis, seen by both clients


def test_a_worker_runs_queued_jobs_in_an_app_context(app, run_worker):
    db.session.add(User(openid="o-worker"))
    db.session.commit()
    job = enqueue(work.record, "worker", job_id=KEY)
    assert job.get_status() == JobStatus.QUEUED
    assert work.effects("worker") == []  # not yet: a worker runs it
    assert run_worker()
    assert job.get_status() == JobStatus.FINISHED
    assert work.effects("worker") == ["done"]
    seen = job.return_value()
    assert seen["testing"] is True and seen["users"] == 1


def test_the_same_event_enqueued_twice_is_one_job(app, run_worker):
    first = enqueue(work.record, "dup", job_id=KEY)
    second = enqueue(work.record, "dup", "another value", job_id=KEY)
    assert second.id == first.id
    assert get_queue().count == 1
    run_worker()
    assert work.effects("dup") == ["done"]
    third = enqueue(work.record, "dup", "a third", job_id=KEY)  # finished, result still kept
    assert third.id == first.id and get_queue().count == 0


def test_a_retry_after_a_failure_does_not_send_again(app, run_worker, clock):
    job = enqueue(work.record_then_fail_first_time, "retry", job_id=KEY, retry=Retry(max=2, interval=10))
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED  # failed; back in 10 s
    assert work.effects("retry") == ["sent"]
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED  # not due yet
    clock.shift(dt.timedelta(seconds=11))
    run_worker()
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "finished"
    job.refresh()
    assert job.retries_left == 1  # one retry used
    assert work.effects("retry") == ["sent"]  # once, not twice


def test_a_retry_does_the_work_that_failed(app, run_worker, clock):
    job = enqueue(work.fail_inside_once_first_time, "redo", job_id=KEY, retry=Retry(max=2, interval=10))
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED
    assert work.effects("redo") == []
    clock.shift(dt.timedelta(seconds=11))
    run_worker()
    assert job.get_status() == JobStatus.FINISHED
    assert work.effects("redo") == ["sent"]


def test_a_job_out_of_retries_is_failed_and_kept(app, run_worker, clock):
    job = enqueue(work.fail, "hopeless", job_id="fail:hopeless", retry=Retry(max=1, interval=10))
    run_worker()
    clock.shift(dt.timedelta(seconds=11))
    run_worker()
    assert job.get_status() == JobStatus.FAILED
    assert get_redis().get("test:attempts:hopeless") == "2"
    assert job.id in get_queue().failed_job_registry.get_job_ids()


def test_two_jobs_for_one_event_do_the_work_once(app, run_worker):
    """Two jobs for one event (enqueued without the shared job id) both run:
    the second finds the work done."""
    enqueue(work.record, "both", job_id="event:1")
    other = get_queue().enqueue_call(work.record, args=("both", "second"), meta={"key": "event:1"})
    run_worker()
    assert other.get_status() == JobStatus.FINISHED
    assert work.effects("both") == ["done"]


# ---- configuration ---------------------------------------------------------------------------------

def test_jobs_are_eager_exactly_when_redis_is_in_process(make_app):
    assert make_app(REDIS_URL=None, JOBS_EAGER=None).config["JOBS_EAGER"] is True
    assert make_app(REDIS_URL="redis://127.0.0.1:9/0", JOBS_EAGER=None).config["JOBS_EAGER"] is False
    assert make_app(REDIS_URL="redis://127.0.0.1:9/0", JOBS_EAGER=True).config["JOBS_EAGER"] is True


def test_queued_jobs_without_a_real_redis_are_refused(make_app):
    with pytest.raises(ConfigError, match="REDIS_URL"):
        make_app(REDIS_URL=None, JOBS_EAGER=False)
    with pytest.raises(ConfigError, match="JOBS_QUEUES"):
        make_app(JOBS_QUEUES=["default", "urgent"])
