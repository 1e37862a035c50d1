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
    jobs = click.Group("jobs", help="Background jobs (run them from cron).")

    @jobs.command("close-forgotten-checkouts")
    def close_forgotten_command():
        """Close volunteer check-outs missing 12 h after the task, flagged for review."""
        from app.jobs import close_forgotten_checkouts

        click.echo(f"closed {close_forgotten_checkouts()} forgotten check-outs")

    @jobs.command("prune-sessions")
    def prune_sessions_command():
        """Delete ended login sessions and day-old Idempotency-Key answers."""
        from app.jobs import prune_sessions

        families, answers = prune_sessions()
        click.echo(f"deleted {families} ended login sessions and {answers} old idempotent answers")

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
        grant, created = grant_role(None, org_id, user.id, role)
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
        user.disabled_at = utcnow()
        db.session.commit()
        click.echo(f"disabled user {user.id}")

    @orgs.command("create-root")
    @click.option("--name", required=True)
    def create_root_command(name):
        """Create a district (a tree root)."""
        from app.orgs.services import create_root

        node = create_root("district", name)
        click.echo(f"created district {node.id}: {node.name}")

    @demo.command("seed")
    def seed_command():
        """Build (or complete) the demo district; safe to run again."""
        from app.demo import seed

        for line in seed():
            click.echo(line)

    for group in (users, orgs, demo, jobs):
        app.cli.add_command(group)
