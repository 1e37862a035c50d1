"""``flask jobs worker``: the production worker, forking a work horse per job."""
from __future__ import annotations

import signal

import pytest
from rq.job import JobStatus

from app.auth.models import User
from app.extensions import db
from app.jobs.queue import enqueue
from tests.conftest import REDIS_URL
from tests.jobs import work


def test_the_worker_refuses_to_start_when_jobs_run_eagerly(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "JOBS_EAGER" in result.output and "REDIS_URL" in result.output
    assert app.test_cli_runner().invoke(args=["jobs", "cron"]).exit_code != 0


@pytest.mark.skipif(REDIS_URL is None, reason="a forked work horse needs a Redis shared between processes")
def test_the_worker_command_runs_jobs_in_forked_work_horses(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    db.session.add(User(openid="o-forked"))
    db.session.commit()
    job = enqueue(work.record, "forked", job_id="forked:1")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst", "--queue", "default"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output
    assert job.get_status() == JobStatus.FINISHED
    assert work.effects("forked") == ["done"]
    seen = job.return_value()
    assert seen["users"] == 1 and seen["testing"] is True
