"""Command-line tools: bootstrap users and roles, and the demo district."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from app.auth.models import User
from app.auth.permissions import ROLES
from app.extensions import db


def init_cli(app: Flask) -> None:
    users = click.Group("users", help="Users and roles.")
    orgs = click.Group("orgs", help="The organization tree.")
    demo = click.Group("demo", help="The demo district.")
    jobs = click.Group("jobs", help="Background jobs: the worker, the cron scheduler, periodic jobs by hand.")

    @jobs.command("worker")
    @click.option("--queue", "-q", "queues", multiple=True,
                  help="A queue to take jobs from (repeat; default JOBS_QUEUES, in that order).")
    @click.option("--burst", is_flag=True, help="Run the jobs queued now, then stop.")
    def worker_command(queues, burst):
        """Run an RQ worker: each job in a work horse of its own and a fresh app
        context, with RQ's scheduler (it brings failed jobs back for their retries)."""
        from app.jobs.queue import make_worker

        _needs_redis()
        # Work horses are forked: none may inherit a pooled database connection.
        db.engine.dispose()
        make_worker(queues).work(burst=burst, with_scheduler=True)

    @jobs.command("cron")
    def cron_command():
        """Run RQ's cron scheduler on app/jobs/schedule.py (one per deployment):
        it enqueues the periodic jobs that the workers run."""
        _needs_redis()
        _cron_scheduler().start()

    @jobs.command("schedule")
    def schedule_command():
        """List the periodic jobs, their cron lines and next runs."""
        for job in _cron_scheduler(logging_level="WARNING").get_jobs():
            click.echo(f"{job.name:28} {job.cron:12} next {job.next_enqueue_time.isoformat()} "
                       f"on {job.queue_name}: {job.func_name}")

    @jobs.command("close-forgotten-checkouts")
    def close_forgotten_command():
        """Close volunteer check-outs missing 12 h after the task, flagged for review."""
        from app.jobs.periodic import close_forgotten_checkouts

        click.echo(f"closed {close_forgotten_checkouts()} forgotten check-outs")

    @jobs.command("prune-sessions")
    def prune_sessions_command():
        """Delete ended login sessions and day-old Idempotency-Key answers."""
        from app.jobs.periodic import prune_sessions

        families, answers = prune_sessions()
        click.echo(f"deleted {families} ended login sessions and {answers} old idempotent answers")

    @jobs.command("purge-personal-data")
    def purge_personal_data_command():
        """Remove personal details whose retention period is over (positions, IPs, orphan photos)."""
        from app.jobs.periodic import purge_personal_data

        for kind, count in purge_personal_data().items():
            click.echo(f"{kind}: {count}")

    @jobs.command("remind-overdue-events")
    def remind_overdue_command():
        """Tell of grid events newly overdue; remind the level above of long-overdue ones."""
        from app.jobs.periodic import remind_overdue_events

        overdue, escalated = remind_overdue_events()
        click.echo(f"told {overdue} overdue events, reminded the level above of {escalated}")

    @jobs.command("recheck-texts")
    def recheck_texts_command():
        """Re-enqueue the content re-check of the texts still unchecked."""
        from app.jobs.periodic import recheck_texts

        click.echo(f"re-enqueued the re-check of {recheck_texts()} unchecked texts")

    @users.command("grant-role")
    @click.option("--openid", required=True, help="The user's WeChat openid (created if new).")
    @click.option("--org-id", type=int, required=True)
    @click.option("--role", type=click.Choice(ROLES), required=True)
    def grant_role_command(openid, org_id, role):
        """Grant a role without an admin: bootstraps the first district admin."""
        from app.orgs.services import grant_role

        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            user = User(openid=openid)
            db.session.add(user)
            db.session.commit()
        _grant, created = grant_role(None, org_id, user.id, role)
        click.echo(f"{'granted' if created else 'already held'}: {role} on org {org_id} "
                   f"to user {user.id} ({openid})")

    @users.command("disable")
    @click.option("--openid", required=True)
    def disable_command(openid):
        """Disable a user: every token they hold stops working at once."""
        from app.common.db import utcnow

        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            raise click.ClickException(f"no user with openid {openid}")
        from app.audit import log as audit

        user.disabled_at = utcnow()
        audit.record(None, "user.disable", user, org_id=None, before={"disabled_at": None},
                     after=audit.snapshot(user, "disabled_at"))
        db.session.commit()
        click.echo(f"disabled user {user.id}")

    @orgs.command("create-root")
    @click.option("--name", required=True)
    def create_root_command(name):
        """Create a district (a tree root)."""
        from app.orgs.services import create_root

        node = create_root("district", name)
        click.echo(f"created district {node.id}: {node.name}")

    keys = click.Group("keys", help="Encryption keys.")

    @keys.command("rotate-phones")
    @click.option("--batch", default=500, show_default=True, help="Rows per commit.")
    def rotate_phones_command(batch):
        """Re-encrypt and rehash every stored phone under the current PHONE_KEY
        (PHONE_KEY_VERSION); run after deploying a new key, then drop the old
        one from PHONE_KEYS_OLD."""
        from app.members.rotation import rotate_phones

        for table, count in rotate_phones(batch).items():
            click.echo(f"{table}: {count} re-encrypted")

    @demo.command("seed")
    def seed_command():
        """Build (or complete) the demo district; safe to run again."""
        from app.demo import seed

        for line in seed():
            click.echo(line)

    for group in (users, orgs, demo, jobs, keys):
        app.cli.add_command(group)


def _needs_redis() -> None:
    from flask import current_app

    if current_app.config["JOBS_EAGER"]:
        raise click.ClickException(
            "jobs run in the web process (JOBS_EAGER, the default without REDIS_URL): "
            "set REDIS_URL (and leave JOBS_EAGER unset) to run workers")


def _cron_scheduler(logging_level: str = "INFO"):
    """RQ's cron scheduler with the schedule loaded, as `rq cron` loads it."""
    from rq.cron import CronScheduler

    from app.extensions import get_queue_redis

    scheduler = CronScheduler(connection=get_queue_redis(), logging_level=logging_level)
    scheduler.load_config_from_file("app.jobs.schedule")
    return scheduler
