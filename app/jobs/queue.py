"""The job queue: RQ on the project's Redis, and jobs that never do their work twice.

How to use it, from a service, once its use case is committed::

    from app.jobs.queue import enqueue, once

    def notify_task_cancelled(task_id: int, user_id: int) -> None:   # the job
        with once() as first:              # the key this job was enqueued with
            if first:
                send_subscribe_message(...)

    db.session.commit()
    enqueue(notify_task_cancelled, task.id, user.id,
            job_id=f"notify:task_cancelled:{task.id}:{user.id}")

Rules:

* A job is a module-level function called with plain arguments (ids, not
  model objects: the job reads the rows it needs, as they are when it runs).
  It runs in a fresh app context of its own, with its own database session,
  whether on a worker or eagerly (:class:`AppJob`), and commits its own work.
* :func:`enqueue` is called after the commit of the use case it follows: a
  worker may start the job before the caller's next line, and must find the
  rows committed. It refuses a session with unflushed changes.
* ``JOBS_EAGER`` (the default when ``REDIS_URL`` is unset: a worker could not
  see an in-process Redis) runs each job in the enqueuing process, at once,
  through RQ's own synchronous queue (``Queue(is_async=False)``), the same
  job class and the same idempotency as on a worker; there are no retries
  and a failure is logged, not raised, as on a worker. Otherwise jobs go to
  Redis for ``flask jobs worker`` (README: running it for real).
* Idempotency has two layers. ``job_id`` (a key that names the event, such
  as ``notify:task_cancelled:<task_id>:<user_id>``) makes the RQ job id, so
  enqueueing the same event twice while its job is queued, running, retried
  or recently finished returns that job instead of a second one. And
  :func:`once` inside the job marks the work done in Redis, so a retry (after
  a later step failed), a re-enqueue after the job has expired, or a second
  worker running the same job never does it again.
* A job that fails is retried by RQ (``DEFAULT_RETRY``: after 10 s, 1 min
  and 5 min) and then kept in RQ's failed registry. Errors that a retry
  cannot fix (the user refused the message, the data is wrong) should be
  caught and recorded by the job, not raised.

Why the "done" marks live in Redis rather than in a table: they guard work
whose retries live in Redis too. A retry or a duplicate exists only while
RQ's job data does, and the marks outlive that (``DONE_SECONDS``, far longer
than a job's retries and results); losing Redis loses the pending retries
with the marks, so nothing is left that could run twice. A mark costs one
round trip and no migration or purge. What no mark can give is atomicity
with the outside world: if a worker dies after WeChat accepted a message
and before the mark is written, the retry sends it again. Keep the block
inside ``once()`` to the one call that must not repeat.
"""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import WatchError
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from app.config import ConfigError
from app.extensions import db, get_queue_redis, get_redis

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"    # what users wait for: messages, content checks, codes
PERIODIC_QUEUE = "periodic"  # the schedule's jobs (app/jobs/schedule.py): purges, sweeps
QUEUES = (DEFAULT_QUEUE, PERIODIC_QUEUE)

# Transient failures (WeChat busy, a connection cut) get three more tries.
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])
# RQ's own default; a job that runs longer is stopped (and retried).
JOB_TIMEOUT = 180
# How long once() remembers done work: a week, beyond any job's retries
# (about 6 minutes), its RQ result (500 s) and its failure record.
DONE_SECONDS = 7 * 24 * 3600
_VALID_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


class JobInProgress(RuntimeError):
    """Another run of the same work holds its claim: fail, so that RQ retries
    later and finds it done."""


class AppJob(Job):
    """An RQ job that runs in a fresh app context of the app that runs it: a
    worker's (``flask jobs worker`` creates the app once) or, when eager, the
    enqueuing request's. A fresh context gives the job its own database
    session, removed when it ends, and no ``g`` of a request."""

    def _execute(self):
        try:
            app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy typed as Flask
        except RuntimeError:
            raise RuntimeError(
                "jobs run in an app context: start workers with `flask --app app jobs worker`") from None
        with app.app_context():
            return super()._execute()


def init_app(app) -> None:
    """Resolve ``JOBS_EAGER`` (unset: eager exactly when Redis is in-process)."""
    if app.config.get("JOBS_EAGER") is None:
        app.config["JOBS_EAGER"] = not app.config.get("REDIS_URL")
    elif not app.config["JOBS_EAGER"] and not app.config.get("REDIS_URL"):
        raise ConfigError("JOBS_EAGER=0 needs REDIS_URL: no worker can see an in-process Redis")
    unknown = set(app.config["JOBS_QUEUES"]) - set(QUEUES)
    if unknown or not app.config["JOBS_QUEUES"]:
        raise ConfigError(f"JOBS_QUEUES: name some of {', '.join(QUEUES)} (not {sorted(unknown) or 'none'})")


def get_queue(name: str = DEFAULT_QUEUE) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; use one of {QUEUES}")
    return Queue(name, connection=get_queue_redis(), job_class=AppJob,
                 is_async=not current_app.config["JOBS_EAGER"], default_timeout=JOB_TIMEOUT)


def job_id_for(key: str) -> str:
    """The RQ job id of an idempotency key, the same for the same key. RQ ids
    allow letters, digits, ``_`` and ``-``: other keys keep a readable part
    and gain a hash of the whole, so that ``a:b`` and ``a-b`` stay distinct."""
    if _VALID_JOB_ID.fullmatch(key):
        return key
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key)[:80].strip("-")
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def enqueue(func: Callable, *args, job_id: str | None = None, queue: str = DEFAULT_QUEUE,
            retry: Retry | None = DEFAULT_RETRY, **kwargs) -> Job:
    """Run ``func(*args, **kwargs)`` as a background job; call it after the commit.

    ``job_id`` is the idempotency key of the event (any string; see
    :func:`job_id_for`): while a job with that key exists (queued, scheduled
    for a retry, running, or finished less than RQ's ``result_ttl`` ago) this
    returns it and enqueues nothing. A job with that key that failed for good
    (or was stopped or cancelled) is replaced by a new one. The job finds the
    key in ``job.meta["key"]``, which :func:`once` uses by default.

    Returns the RQ job (when eager, already run: see ``job.get_status()``).
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("enqueue() after the commit: the job runs in its own session and "
                           "must find the rows it reads committed")
    target = get_queue(queue)
    if job_id is None:
        return _ran(target.enqueue_call(func, args=args, kwargs=kwargs, retry=retry))
    rq_id = job_id_for(job_id)
    for _ in range(3):
        try:
            return _ran(target.enqueue_call(func, args=args, kwargs=kwargs, retry=retry, job_id=rq_id,
                                            unique=True, meta={"key": job_id}))
        except DuplicateJobError:
            try:
                existing = AppJob.fetch(rq_id, connection=target.connection)
            except NoSuchJobError:
                continue  # it expired in between: enqueue anew
            if existing.get_status() not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                log.info("job %s is already enqueued (%s)", rq_id, existing.get_status())
                return existing
            # Given up on: a new run may succeed; once() keeps what the old one did.
            existing.delete()
    raise RuntimeError(f"could not enqueue job {rq_id}: its key keeps changing hands")


def _ran(job: Job) -> Job:
    """Log an eager job's failure, as a worker would (the caller's answer stands)."""
    if job.is_failed:
        result = job.latest_result()
        log.error("job %s (%s) failed:\n%s", job.id, job.func_name,
                  result.exc_string if result is not None else "(no traceback)")
    return job


@contextmanager
def once(key: str | None = None, *, keep: int = DONE_SECONDS) -> Iterator[bool]:
    """Do a piece of work at most once per ``key``, across retries and workers.

    ``with once(key) as first:`` gives ``first`` True when the work is still to
    be done: the block then holds a claim on the key (for the job's timeout)
    and, when it ends without an exception, marks the key done for ``keep``
    seconds. If it raises, the claim is released and the error goes on, so
    that a retry does the work. ``first`` is False when the work is done.
    A claim held by another run raises :class:`JobInProgress`.

    Without ``key``, the key the current job was enqueued with (``job_id``).
    """
    job = get_current_job()
    if key is None:
        if job is None or not job.meta.get("key"):
            raise RuntimeError("once() without a key runs in a job enqueued with a job_id")
        key = job.meta["key"]
    redis = get_redis()
    name = f"jobs:once:{key}"
    claim = f"running:{uuid.uuid4().hex}"
    claim_seconds = int(job.timeout if job is not None and job.timeout else JOB_TIMEOUT) + 30
    if not redis.set(name, claim, nx=True, ex=claim_seconds):
        if redis.get(name) == "done":
            yield False
            return
        raise JobInProgress(f"another run holds {key!r}")
    try:
        yield True
    except BaseException:
        _release(redis, name, claim)
        raise
    redis.set(name, "done", ex=keep)


def _release(redis, name: str, claim: str) -> None:
    """Drop our claim, and only ours: it may have expired and been taken."""
    with redis.pipeline() as pipe:
        try:
            pipe.watch(name)
            if pipe.get(name) == claim:
                pipe.multi()
                pipe.delete(name)
                pipe.execute()
        except WatchError:
            pass  # changed hands meanwhile: not ours to drop


def make_worker(queues: Sequence[str] | None = None, worker_class: type[Worker] = Worker) -> Worker:
    """An RQ worker on this app's Redis for ``queues`` (default
    ``JOBS_QUEUES``), running :class:`AppJob` jobs. ``Worker`` forks a work
    horse per job; tests pass ``SimpleWorker`` to run them in their process."""
    names = list(queues or current_app.config["JOBS_QUEUES"])
    return worker_class([get_queue(name) for name in names], connection=get_queue_redis(),
                        job_class=AppJob)

