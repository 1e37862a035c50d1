"""The exports' query parameters: those of the JSON statistics they mirror.

One operation serves the four workbooks (the period's type depends on the
statistics: whole days for check-ins, times with their offset for volunteer
service and grid events, none for badges), so the period is read here as
text and checked by :func:`app.stats.services.period_of` for the workbook asked."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import ID_RANGE, Integer, Schema


class ExportArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)
    from_ = ma.fields.String(data_key="from", load_default=None, validate=validate.Length(1, 40), metadata={
        "description": "checkins: a date (YYYY-MM-DD, included); volunteers, grid: a time with its offset; "
                       "badges: not used (totals so far)"})
    to = ma.fields.String(load_default=None, validate=validate.Length(1, 40), metadata={
        "description": "checkins: a date (included, at most 366 days after 'from'); volunteers, grid: "
                       "a time with its offset (excluded)"})
