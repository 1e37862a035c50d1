"""The periodic jobs: RQ's cron scheduler loads the one schedule, enqueues
what is due on the periodic queue, and a worker runs it against the app."""
from __future__ import annotations

import datetime as dt
import signal

import pytest
from rq import SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import func, select

from app.auth.models import TokenFamily
from app.extensions import db, get_queue_redis
from app.jobs.queue import PERIODIC_QUEUE, get_queue, make_worker

SCHEDULE_MODULE = "app.jobs.schedule"
PERIODIC = {"close-forgotten-checkouts": "app.jobs.periodic.close_forgotten_checkouts",
            "prune-sessions": "app.jobs.periodic.prune_sessions",
            "remind-overdue-events": "app.jobs.periodic.remind_overdue_events",
            "recheck-texts": "app.jobs.periodic.recheck_texts",
            "purge-personal-data": "app.jobs.periodic.purge_personal_data"}
# Deadlines are told soon after they pass, and a text WeChat could not judge
# is shown unchecked meanwhile: every 10 minutes, 5 minutes apart.
EVERY_TEN_MINUTES = {"remind-overdue-events": "*/10 * * * *", "recheck-texts": "5-59/10 * * * *"}
DAILY = {"purge-personal-data"}


@pytest.fixture
def cron(app, monkeypatch):
    """RQ's cron scheduler on the test Redis, the schedule loaded as `rq cron` loads it."""
    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    scheduler = CronScheduler(connection=get_queue_redis(), logging_level="WARNING")
    scheduler.load_config_from_file(SCHEDULE_MODULE)
    return scheduler


def test_the_schedule_lists_the_periodic_jobs(cron):
    jobs = {job.name: job for job in cron.get_jobs()}
    assert {name: job.func_name for name, job in jobs.items()} == PERIODIC
    for job in jobs.values():
        assert job.queue_name == PERIODIC_QUEUE
        if job.name in EVERY_TEN_MINUTES:
            assert job.cron == EVERY_TEN_MINUTES[job.name]
            continue
        minute, hour, *rest = job.cron.split()
        assert rest == ["*", "*", "*"] and 0 <= int(minute) < 60
        assert (0 <= int(hour) < 24) if job.name in DAILY else hour == "*"  # daily or hourly
    assert len({job.cron for job in jobs.values()}) == len(jobs)  # not all at once


def test_each_scheduler_that_loads_the_schedule_gets_each_job_once(cron):
    again = CronScheduler(connection=get_queue_redis(), logging_level="WARNING")
    again.load_config_from_file(SCHEDULE_MODULE)  # a restarted `flask jobs cron`
    assert sorted(job.name for job in again.get_jobs()) == sorted(PERIODIC)
    assert sorted(job.name for job in cron.get_jobs()) == sorted(PERIODIC)


def test_every_periodic_job_can_also_be_run_by_hand(app):
    commands = app.cli.commands["jobs"].commands
    assert set(PERIODIC) <= set(commands)
    listed = app.test_cli_runner().invoke(args=["jobs", "schedule"])
    assert listed.exit_code == 0, listed.output
    for name, func_name in PERIODIC.items():
        assert name in listed.output and func_name in listed.output


def test_due_jobs_are_enqueued_and_run_by_a_worker(app, cron, login, clock):
    ended = login("o-ended")
    assert ended.post("/api/v1/auth/logout", json={}).status_code in (200, 204)
    login("o-live")
    due = min(job.next_enqueue_time for job in cron.get_jobs())
    clock.move_to(due - dt.timedelta(seconds=1))
    assert cron.enqueue_jobs() == []
    clock.move_to(max(job.next_enqueue_time for job in cron.get_jobs())
                  + dt.timedelta(seconds=app.config["ACCESS_TOKEN_TTL"]))
    enqueued = cron.enqueue_jobs()
    assert sorted(job.name for job in enqueued) == sorted(PERIODIC)
    assert get_queue(PERIODIC_QUEUE).count == len(PERIODIC)
    assert cron.enqueue_jobs() == []  # each once per slot

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert make_worker([PERIODIC_QUEUE], worker_class=SimpleWorker).work(
            burst=True, logging_level="WARNING")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    queue = get_queue(PERIODIC_QUEUE)
    finished = [queue.fetch_job(job_id) for job_id in queue.finished_job_registry.get_job_ids()]
    results = {job.func_name: job.return_value() for job in finished}
    assert results == {"app.jobs.periodic.close_forgotten_checkouts": 0, "app.jobs.periodic.prune_sessions": (1, 0),
                       "app.jobs.periodic.remind_overdue_events": (0, 0),
                       "app.jobs.periodic.recheck_texts": 0,
                       "app.jobs.periodic.purge_personal_data": {"attempt_details": 0, "checkin_positions": 0,
                                                        "badge_check_positions": 0, "orphan_uploads": 0}}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TokenFamily)) == 1  # the live session
