"""``Idempotency-Key`` for writes a phone may retry.

The same key from the same user on the same endpoint within 24 h returns the
first answer (status, body and ``Location``) and runs nothing again. A key
reused with a different body is refused (422), and a retry that arrives
while the first request is still running gets 409 rather than a second run.
Responses of 5xx are not kept, so the client may retry them.

Where it is kept: every finished answer is stored in the database
(:class:`IdempotentAnswer`), so that it survives a Redis restart, and in
Redis, which also holds the in-flight claim. The claim expires after
``PENDING_SECONDS``: a request that crashed midway does not block its key
for longer than that. Whether the database already holds an answer for the
key is asked by the user query of authentication (see
:func:`lookup_column`), so a first request costs one INSERT and no extra
read; only a request that arrives when Redis has forgotten the key (after a
restart) reads the stored answer.

What it cannot cover: a process that dies after the view's own commit and
before the answer is stored leaves nothing to replay, and the retry runs the
view again once the claim has expired; the natural keys of check-ins and
acceptances still keep that from counting twice.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from typing import Any, cast

from flask import current_app, g, request
from sqlalchemy import CursorResult, Index, String, Text, UniqueConstraint, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.common.db import UtcDateTime, utcnow
from app.errors import Conflict, ValidationFailed, dependency_of
from app.extensions import Model, db, get_redis

log = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 60
MAX_KEY_LENGTH = 128


class IdempotentAnswer(Model):
    """The first answer to a write sent with an ``Idempotency-Key``, kept 24 h."""

    __tablename__ = "idempotent_answers"
    __table_args__ = (
        UniqueConstraint("owner", "endpoint", "key"),
        Index("ix_idempotent_answers_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # "user:<id>", or "ip:<address>" without one
    endpoint: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request body
    status: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    zh = "相同的请求正在处理中，请稍后重试。"
    en = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    zh = "该 Idempotency-Key 已用于另一个不同的请求。"
    en = "This Idempotency-Key was already used for a different request."


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid_idempotency_key"
    zh = "Idempotency-Key 须为 1 到 128 个字符。"
    en = "The Idempotency-Key header must be 1 to 128 characters."


def _owner(user_id: int | None) -> str:
    return f"user:{user_id}" if user_id is not None else f"ip:{request.remote_addr}"


def _cutoff() -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=TTL_SECONDS)


def _stored(owner: str, endpoint: str | None, key: str):
    return select(IdempotentAnswer).where(
        IdempotentAnswer.owner == owner, IdempotentAnswer.endpoint == endpoint,
        IdempotentAnswer.key == key, IdempotentAnswer.created_at > _cutoff())


def _request_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    return key if key and len(key) <= MAX_KEY_LENGTH else None


def lookup_column(user_id: int):
    """For authentication's user query: the id of the answer stored for this
    request's ``Idempotency-Key`` (NULL if none), or None without a key."""
    key = _request_key()
    if key is None or request.endpoint is None:
        return None
    return (_stored(_owner(user_id), request.endpoint, key)
            .with_only_columns(IdempotentAnswer.id).scalar_subquery().label("stored_answer"))


def remember_lookup(user_id: int, answer_id: int | None) -> None:
    g.idempotency_lookup = (_owner(user_id), request.endpoint, _request_key(), answer_id)


def _find_stored(owner: str, key: str) -> IdempotentAnswer | None:
    looked_up = getattr(g, "idempotency_lookup", None)
    if looked_up is not None and looked_up[:3] == (owner, request.endpoint, key):
        answer_id = looked_up[3]
        return db.session.get(IdempotentAnswer, answer_id) if answer_id is not None else None
    return db.session.scalar(_stored(owner, request.endpoint, key))


def _store(owner: str, key: str, saved: dict) -> None:
    """Keep the answer durably; an expired answer under the same key is replaced."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    values = {"owner": owner, "endpoint": request.endpoint, "key": key,
              "fingerprint": saved["fp"], "status": saved["status"], "body": saved["body"],
              "location": saved["location"], "created_at": utcnow()}
    statement = insert(IdempotentAnswer).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["owner", "endpoint", "key"],
        set_={name: statement.excluded[name] for name in values if name not in ("owner", "endpoint", "key")},
        where=IdempotentAnswer.created_at <= _cutoff(),
    )
    db.session.execute(statement)
    db.session.commit()


def prune_expired() -> int:
    """Delete the answers older than a day (for a periodic job); how many."""
    deleted = cast(CursorResult[Any], db.session.execute(
        delete(IdempotentAnswer).where(IdempotentAnswer.created_at <= _cutoff())
        .execution_options(synchronize_session=False))).rowcount
    db.session.commit()
    return deleted


def _replay(saved: dict):
    response = current_app.response_class(saved["body"], status=saved["status"],
                                          mimetype="application/json")
    if saved.get("location"):
        response.headers["Location"] = saved["location"]
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _saved(answer: IdempotentAnswer) -> dict:
    return {"state": "done", "fp": answer.fingerprint, "status": answer.status,
            "body": answer.body, "location": answer.location}


def _best_effort(what: str, action) -> None:
    """Run ``action``; if a dependency is down, log it and go on (the answer
    is still given; it is kept in the other store, or not at all)."""
    try:
        action()
    except Exception as error:
        if dependency_of(error) is None:
            raise
        log.warning("idempotency: could not %s (%s down)", what, dependency_of(error),
                    extra={"request_id": getattr(g, "request_id", None)})
        if dependency_of(error) == "database":
            db.session.rollback()


def idempotent(view):
    """Make a create/act view safe to retry with an ``Idempotency-Key`` header."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            raise InvalidIdempotencyKey()
        user = getattr(g, "current_user", None)
        owner = _owner(user.id if user else None)
        redis_key = f"idem:{owner}:{request.endpoint}:{key}"
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        redis = get_redis()
        pending = json.dumps({"state": "pending", "fp": fingerprint})
        if not redis.set(redis_key, pending, nx=True, ex=PENDING_SECONDS):
            stored = redis.get(redis_key)
            if stored is None:  # expired between the two calls: treat as in progress
                raise IdempotencyInProgress()
            saved = json.loads(stored)
            if saved["fp"] != fingerprint:
                raise IdempotencyKeyReused()
            if saved["state"] == "pending":
                raise IdempotencyInProgress()
            return _replay(saved)
        # We hold the claim. Redis may have lost an answer the database kept.
        try:
            answer = _find_stored(owner, key)
        except Exception:
            redis.delete(redis_key)
            raise
        if answer is not None:
            saved = _saved(answer)
            remaining = int((answer.created_at - _cutoff()).total_seconds())
            redis.set(redis_key, json.dumps(saved), ex=max(remaining, 1))
            if answer.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return _replay(saved)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception as error:
            # Client errors are answers too: a retry must get the same one.
            status = getattr(error, "status", None)
            if isinstance(status, int) and status < 500:
                db.session.rollback()  # nothing half-done may ride on the answer's commit
                response = current_app.make_response(current_app.handle_user_exception(error))
            else:
                _best_effort("release the claim", lambda: redis.delete(redis_key))
                raise
        if response.status_code >= 500:
            _best_effort("release the claim", lambda: redis.delete(redis_key))
            return response
        saved = {"state": "done", "fp": fingerprint, "status": response.status_code,
                 "body": response.get_data(as_text=True), "location": response.headers.get("Location")}
        # The view's work is committed: from here on a store that is down must
        # not turn its answer into an error. Kept in either store, a retry replays it.
        _best_effort("store the answer", lambda: _store(owner, key, saved))
        _best_effort("cache the answer", lambda: redis.set(redis_key, json.dumps(saved), ex=TTL_SECONDS))
        return response

    return wrapper
