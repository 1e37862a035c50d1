"""One unit of work per use case: the service's one commit.

A service makes its changes inside ``with unit_of_work():``. When the block
ends they are committed together; when it raises (a domain error after a
claim, a failed flush or commit) they are rolled back and the error goes on,
so no request leaves half of its writes in the session for a later commit::

    with unit_of_work():
        TASK.apply(task, "complete", completed_at=now)
        audit.record(actor, "task.complete", task, ...)

``conflict`` names the domain error a lost race on a unique index means for
this use case (the same member reporting twice at once): the request that
lost gets it, not a 500.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from app.errors import ApiError
from app.extensions import db


@contextmanager
def unit_of_work(*, conflict: type[ApiError] | None = None) -> Iterator[None]:
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if conflict is None:
            raise
        raise conflict() from None
    except BaseException:
        db.session.rollback()
        raise
