"""Liveness and readiness probes for the process manager and load balancer."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.errors import RETRY_AFTER_SECONDS, ServiceUnavailable
from app.extensions import db, get_redis

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


class NotReady(ServiceUnavailable):
    code = "not_ready"
    zh = "依赖服务不可用：{failed_names}。"
    en = "A dependency is not available: {failed_names}."


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    """The database and Redis answer; 503 names the one that does not."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        log.exception("readiness: database check failed")
        db.session.rollback()
        checks["database"] = "failed"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception:
        log.exception("readiness: redis check failed")
        checks["redis"] = "failed"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        raise NotReady({"checks": checks, "failed": failed, "failed_names": ", ".join(failed)},
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return jsonify({"status": "ok", "checks": checks})
