"""The exports' query parameters: those of the JSON statistics they mirror.

One operation serves the four workbooks (the period's type depends on the
statistics: whole days for check-ins, times with their offset for volunteer
service and grid events, none for badges), so the period is read here as
text and checked by :func:`app.stats.services.period_of` for the workbook asked."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import ID_RANGE, AwareDateTime, Integer, Schema


class ExportArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)
    from_ = ma.fields.String(data_key="from", load_default=None, validate=validate.Length(1, 40), metadata={
        "description": "checkins: a date (YYYY-MM-DD, included); volunteers, grid: a time with its offset; "
                       "badges: not used (totals so far)"})
    to = ma.fields.String(load_default=None, validate=validate.Length(1, 40), metadata={
        "description": "checkins: a date (included, at most 366 days after 'from'); volunteers, grid: "
                       "a time with its offset (excluded)"})


class StatsArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)
    from_ = ma.fields.Date(data_key="from", required=True)
    to = ma.fields.Date(required=True)
    center_days = ma.fields.Boolean(load_default=False, metadata={
        "description": "Also give each center's days (centers × days rows)"})


class DayCountSchema(Schema):
    day = ma.fields.Date()
    checkins = Integer()


class CenterCountSchema(Schema):
    center_id = Integer(validate=ID_RANGE)
    name = ma.fields.String()
    checkins = Integer()
    days = ma.fields.List(ma.fields.Nested(DayCountSchema), metadata={
        "description": "This center's days (with center_days=true)"})


class CheckinStatsSchema(Schema):
    org_id = Integer(validate=ID_RANGE)
    from_ = ma.fields.Date(data_key="from", attribute="from")
    to = ma.fields.Date()
    total = Integer()
    centers = ma.fields.List(ma.fields.Nested(CenterCountSchema))
    days = ma.fields.List(ma.fields.Nested(DayCountSchema))


class VolunteerStatsArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)
    from_ = AwareDateTime(data_key="from", required=True)
    to = AwareDateTime(required=True)


class VolunteerCountsSchema(Schema):
    members = Integer()
    others = Integer()
    total = Integer()


class VolunteerStatsSchema(Schema):
    org_id = Integer(validate=ID_RANGE)
    from_ = AwareDateTime(data_key="from", attribute="from")
    to = AwareDateTime()
    volunteers = ma.fields.Nested(VolunteerCountsSchema)
    person_times = Integer()
    hours = ma.fields.Decimal(places=2, as_string=False)
    average_rating = ma.fields.Float(allow_none=True)
    requests_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    tasks_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())


class GridStatsArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)
    from_ = AwareDateTime(data_key="from", required=True)
    to = AwareDateTime(required=True)


class GridStatsSchema(Schema):
    org_id = Integer(validate=ID_RANGE)
    from_ = AwareDateTime(data_key="from", attribute="from")
    to = AwareDateTime()
    grids = Integer()
    grid_party_groups = Integer()
    events_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    events_by_category = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    closed_in_time = Integer()
    closed_late = Integer()
    average_seconds_to_close = Integer(allow_none=True)
    rework = Integer()
    escalations = Integer()


class BadgeStatsArgsSchema(Schema):
    org_id = Integer(required=True, validate=ID_RANGE)


class BadgeStatsSchema(Schema):
    org_id = Integer(validate=ID_RANGE)
    identities_shown = Integer()
    posts = Integer()
    on_duty_now = Integer()
    post_plate_scans = Integer()
    merchant_plate_scans = Integer()
    ratings = Integer()
    average_rating = ma.fields.Float(allow_none=True)
    merchant_plates = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
