"""The grid events' per-day aggregate (``grid_daily``), which the grid
statistics read: each event adds its :func:`contribution` (one event, its
lateness, time to close, rework and escalations) to the row of its
community, report day (Asia/Shanghai), category and current state. Every
write that changes a counted field calls :func:`move` in its own
transaction, with the contribution before and after; the upsert adds, so
concurrent writers of one row never lose an increment."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.common.counters import add_to_rows
from app.common.db import LOCAL_TZ
from app.grid.models import GridDaily, GridEvent

KEY = ("community_id", "day", "category", "state")
FIGURES = ("events", "late", "close_microseconds", "rework", "escalations")
Contribution = tuple[tuple, tuple[int, ...]]


def contribution(event: GridEvent, state: str | None = None) -> Contribution:
    """The event's (key, figures), as it stands, or as it stood in ``state``
    (the claim of a transition changes the state and nothing else)."""
    key = (event.community_id, event.created_at.astimezone(LOCAL_TZ).date(), event.category,
           state or event.state)
    close = (event.closed_at - event.created_at) // dt.timedelta(microseconds=1) if event.closed_at else 0
    return key, (1, int(event.late), close, event.rework_count, event.escalations)


def move(before: Contribution | None, after: Contribution | None) -> None:
    """Take ``before`` out of the aggregate and add ``after`` (None: the event
    was not counted / is no more), in one statement; nothing when they agree."""
    deltas: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(FIGURES))
    for sign, part in ((-1, before), (1, after)):
        if part is not None:
            key, figures = part
            deltas[key] = [total + sign * figure for total, figure in zip(deltas[key], figures, strict=True)]
    add_to_rows(GridDaily, KEY, [{**dict(zip(KEY, key, strict=True)), **dict(zip(FIGURES, figures, strict=True))}
                                 for key, figures in deltas.items() if any(figures)])
