"""The one period every statistic and export reads: a subtree and whole days.

``org_id`` (required), ``from`` and ``to`` as dates (YYYY-MM-DD) in
Asia/Shanghai, both days included, at most ``MAX_DAYS`` days counting both
ends. Without ``to`` the period ends today (Shanghai); without ``from`` it
starts ``DEFAULT_DAYS - 1`` days before ``to``. Every answer echoes the
period as it was read, so a caller sees the defaults it got.

Daily counts (check-ins, ratings) compare the dates; datetime columns
compare with :meth:`Period.utc_bounds`, the one place a local day becomes
UTC times.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import marshmallow as ma

from app.common.db import LOCAL_TZ, utcnow
from app.common.schemas import ID_RANGE, Integer, Schema
from app.errors import field_error

MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    org_id: int
    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        """Days in the period, both ends counted."""
        return (self.last - self.first).days + 1

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[first 00:00, last + 1 00:00) in Shanghai, as aware UTC datetimes."""
        start = dt.datetime.combine(self.first, dt.time(), LOCAL_TZ)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def echo(self) -> dict[str, Any]:
        """The period as every answer repeats it."""
        return {"org_id": self.org_id, "from": self.first, "to": self.last}


def today() -> dt.date:
    return utcnow().astimezone(LOCAL_TZ).date()


def period_of(org_id: int, first: dt.date | None, last: dt.date | None) -> Period:
    """The period asked, defaults filled in. ``to`` before ``from`` and more
    than ``MAX_DAYS`` days are refused (422 naming the field the caller
    wrote: ``to``, or ``from`` when ``to`` was left to its default)."""
    if last is None:
        last = max(today(), first) if first is not None else today()
        blamed = "from"
    else:
        blamed = "to"
    if first is None:
        first = last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise field_error("to", "Must not be before 'from'.")
    period = Period(org_id, first, last)
    if period.days > MAX_DAYS:
        raise field_error(blamed, f"At most {MAX_DAYS} days per query (both ends counted).")
    return period


class PeriodArgsSchema(Schema):
    """The query of every statistic: loads into ``{"period": Period}``."""

    org_id = Integer(required=True, validate=ID_RANGE, metadata={"description": "The subtree's root"})
    from_ = ma.fields.Date(data_key="from", load_default=None, metadata={
        "description": f"First day (YYYY-MM-DD, Asia/Shanghai, included); default {DEFAULT_DAYS - 1} days "
                       "before 'to'"})
    to = ma.fields.Date(load_default=None, metadata={
        "description": f"Last day (included; default today in Asia/Shanghai); at most {MAX_DAYS} days "
                       "counting both ends"})

    @ma.post_load
    def _period(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["period"] = period_of(data.pop("org_id"), data.pop("from_"), data.pop("to"))
        return data
