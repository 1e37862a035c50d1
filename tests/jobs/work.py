"""Job functions for the queue's tests: RQ finds them by their dotted path.

Each leaves its side effects in the app's Redis (lists named by the test),
which it can only reach through an app context.
"""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db, get_redis
from app.jobs.queue import once


def effects(name: str) -> list[str]:
    return get_redis().lrange(f"test:effects:{name}", 0, -1)


def _effect(name: str, value: str) -> None:
    get_redis().rpush(f"test:effects:{name}", value)


def _attempt(name: str) -> int:
    return get_redis().incr(f"test:attempts:{name}")


def record(name: str, value: str = "done") -> dict:
    """Once per job key: record ``value``; answer what the job could see."""
    with once() as first:
        if first:
            _effect(name, value)
    return {"testing": current_app.config["TESTING"], "users": db.session.scalar(select(func.count(User.id))),
            "session": id(db.session()), "has_request_g": hasattr(g, "marker")}


def record_then_fail_first_time(name: str) -> str:
    """Sends (the effect), then fails on a later step the first time: the
    retry must not send again."""
    with once() as first:
        if first:
            _effect(name, "sent")
    if _attempt(name) == 1:
        raise ConnectionError("the step after the message failed")
    return "finished"


def fail_inside_once_first_time(name: str) -> str:
    """The work itself fails the first time: the retry must do it."""
    with once() as first:
        if first:
            if _attempt(name) == 1:
                raise ConnectionError("WeChat is busy")
            _effect(name, "sent")
    return "finished"


def fail(name: str) -> None:
    _attempt(name)
    raise ValueError("always fails")
