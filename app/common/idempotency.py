"""``Idempotency-Key`` for writes a phone may retry.

The same key from the same user on the same endpoint within 24 h returns the
first answer (status, body and ``Location``) and runs nothing again. A key
reused with a different body is refused (422), and a retry that arrives
while the first request is still running gets 409 rather than a second run.
Responses of 5xx are not kept, so the client may retry them.
"""
from __future__ import annotations

import functools
import hashlib
import json

from flask import current_app, g, request

from app.errors import Conflict, ValidationFailed
from app.extensions import get_redis

TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 60


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


def idempotent(view):
    """Make a create/act view safe to retry with an ``Idempotency-Key`` header."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 0 < len(key) <= 128:
            raise InvalidIdempotencyKey()
        user = getattr(g, "current_user", None)
        redis_key = f"idem:{user.id if user else request.remote_addr}:{request.endpoint}:{key}"
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
            response = current_app.response_class(
                saved["body"], status=saved["status"], mimetype="application/json"
            )
            if saved.get("location"):
                response.headers["Location"] = saved["location"]
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception as error:
            # Client errors are answers too: a retry must get the same one.
            status = getattr(error, "status", None)
            if isinstance(status, int) and status < 500:
                response = current_app.handle_user_exception(error)
                response = current_app.make_response(response)
            else:
                redis.delete(redis_key)
                raise
        if response.status_code >= 500:
            redis.delete(redis_key)
            return response
        redis.set(
            redis_key,
            json.dumps({
                "state": "done",
                "fp": fingerprint,
                "status": response.status_code,
                "body": response.get_data(as_text=True),
                "location": response.headers.get("Location"),
            }),
            ex=TTL_SECONDS,
        )
        return response

    return wrapper
