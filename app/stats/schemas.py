"""The statistics' answers; their query is :class:`app.stats.period.PeriodArgsSchema`
(check-ins add ``center_days``), the same for the XLSX exports."""
from __future__ import annotations

import marshmallow as ma

from app.common.schemas import ID_RANGE, Integer, Schema
from app.stats.period import PeriodArgsSchema


class PeriodSchema(Schema):
    """The period every answer echoes (defaults filled in)."""

    org_id = Integer(validate=ID_RANGE)
    from_ = ma.fields.Date(data_key="from", attribute="from")
    to = ma.fields.Date()


class CheckinStatsArgsSchema(PeriodArgsSchema):
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


class CheckinStatsSchema(PeriodSchema):
    total = Integer()
    centers = ma.fields.List(ma.fields.Nested(CenterCountSchema))
    days = ma.fields.List(ma.fields.Nested(DayCountSchema))


class VolunteerCountsSchema(Schema):
    members = Integer()
    others = Integer()
    total = Integer()


class VolunteerStatsSchema(PeriodSchema):
    volunteers = ma.fields.Nested(VolunteerCountsSchema)
    person_times = Integer()
    hours = ma.fields.Decimal(places=2, as_string=False)
    average_rating = ma.fields.Float(allow_none=True)
    requests_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    tasks_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())


class GridStatsSchema(PeriodSchema):
    grids = Integer()
    grid_party_groups = Integer()
    events_by_state = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    events_by_category = ma.fields.Dict(keys=ma.fields.String(), values=Integer())
    closed_in_time = Integer()
    closed_late = Integer()
    average_seconds_to_close = Integer(allow_none=True, metadata={
        "description": "Mean of closed_at - created_at over the period's closed events"})
    rework = Integer()
    escalations = Integer()


class BadgeStatsSchema(PeriodSchema):
    identities_shown = Integer(metadata={"description": "Badges verified in the period"})
    post_plate_scans = Integer(metadata={"description": "Post plates scanned in the period"})
    merchant_plate_scans = Integer(metadata={"description": "Merchant plates scanned in the period"})
    ratings = Integer(metadata={"description": "Post ratings given in the period"})
    average_rating = ma.fields.Float(allow_none=True, metadata={"description": "Their average"})
    posts = Integer(metadata={"description": "Posts now (a total, not of the period)"})
    on_duty_now = Integer(metadata={"description": "Members on duty now (not of the period)"})
    merchant_plates = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), metadata={
        "description": "Merchant plates by state now (totals, not of the period)"})
