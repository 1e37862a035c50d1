"""A bare endpoint for the benchmark: the same middleware and auth as every
view, and one ORM insert. Registered only when ``BENCH_ENDPOINT`` is set, so
that every figure of ``bench/`` can be read as a ratio of this one."""
from __future__ import annotations

from flask import jsonify

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.extensions import db
from app.notices.models import Notice

blp = Blueprint("bench", __name__, description="Benchmark baseline (off unless BENCH_ENDPOINT=1)")


@blp.route("/bench/insert", methods=["POST"])
@login_required
@blp.response(201)
@blp.errors()
def bench_insert():
    """Insert one row and commit: the baseline the hot paths are measured against."""
    notice = Notice(user_id=current_user().id, kind="bench", data={})
    db.session.add(notice)
    db.session.commit()
    return jsonify({"id": notice.id}), 201
