"""Ending a use case whose text passed the content check."""
from __future__ import annotations

from app.common.work import unit_of_work
from app.moderation.services import Verdict, after_commit, record


def record_and_commit(verdict: Verdict, obj: object, *, org_id: int, author_id: int | None) -> None:
    """Record the check's verdict on ``obj`` and commit the use case; a verdict
    that cannot be recorded undoes the whole change. The re-checks WeChat owes
    are enqueued only once committed, so that a worker never looks for an
    item that is not there yet."""
    with unit_of_work():
        record(verdict, obj, org_id=org_id, author_id=author_id)
    after_commit(verdict)
