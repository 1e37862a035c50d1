"""The periodic jobs: the one schedule, in RQ's cron configuration format.

``flask --app app jobs cron`` runs RQ's ``CronScheduler`` on this module
(``rq cron app.jobs.schedule --url $REDIS_URL`` would do the same); it only
enqueues, on the ``periodic`` queue, and the workers run the jobs. Run one
cron scheduler per deployment: RQ's does not coordinate with another, and
while these jobs are harmless to run twice (each does what is still left to
do), twice is wasted work. ``flask jobs schedule`` lists them, and each one
is also a ``flask jobs <name>`` command that runs it at once, by hand.

Importing this module registers the jobs with ``rq.cron``'s loader (that is
how RQ reads a cron configuration): only the cron runner imports it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rq import cron

from app.jobs.periodic import (
    close_forgotten_checkouts,
    prune_sessions,
    purge_personal_data,
    recheck_texts,
    remind_overdue_events,
)
from app.jobs.queue import PERIODIC_QUEUE


@dataclass(frozen=True)
class Periodic:
    name: str        # also the `flask jobs <name>` command
    func: Callable
    cron: str        # minute hour day month weekday, in the scheduler's local time
    timeout: int = 600


# Different minutes, so that the hourly jobs do not all start together.
SCHEDULE: tuple[Periodic, ...] = (
    Periodic("close-forgotten-checkouts", close_forgotten_checkouts, "5 * * * *"),
    Periodic("prune-sessions", prune_sessions, "35 * * * *"),
    # Deadlines are hours long: told within 10 minutes of passing.
    Periodic("remind-overdue-events", remind_overdue_events, "*/10 * * * *"),
    # A text WeChat could not judge is shown meanwhile (fail-open): not for long.
    Periodic("recheck-texts", recheck_texts, "5-59/10 * * * *"),
    Periodic("purge-personal-data", purge_personal_data, "15 3 * * *", timeout=1800),  # daily, at night
)

for periodic in SCHEDULE:
    cron.register(periodic.func, PERIODIC_QUEUE, cron=periodic.cron, name=periodic.name,
                  job_timeout=periodic.timeout)
