from __future__ import annotations

import re
import zoneinfo

import marshmallow as ma
from marshmallow import ValidationError, validate, validates, validates_schema

from app.checkin.models import CODE_MODES, PURPOSES, WEEKDAYS
from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    CoordinateSchema,
    Integer,
    LatLng,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.orgs.schemas import OrgRefSchema

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ClosedDaySchema(Schema):
    day = ma.fields.Date(required=True)
    reason = ma.fields.String(load_default="", validate=validate.Length(max=100))


def _check_hours(value: dict) -> None:
    if not isinstance(value, dict):
        raise ValidationError("An object of weekday -> [[\"HH:MM\", \"HH:MM\"], ...].")
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"Unknown weekday {day!r}; use {', '.join(WEEKDAYS)}.")
        if not isinstance(spans, list) or len(spans) > 6:
            raise ValidationError(f"{day}: a list of at most 6 [open, close] pairs.")
        for span in spans:
            if (not isinstance(span, list) or len(span) != 2
                    or not all(isinstance(t, str) and _CLOCK.match(t) for t in span)
                    or span[0] >= span[1]):
                raise ValidationError(f"{day}: {span!r} is not an [\"HH:MM\", \"HH:MM\"] pair with open < close.")


class CenterInSchema(Schema):
    name = ma.fields.String(validate=validate.Length(1, 100))
    address = ma.fields.String(validate=validate.Length(max=200))
    location = ma.fields.Nested(CoordinateSchema)
    radius_m = Integer(validate=validate.Range(20, 5000))
    timezone = ma.fields.String(validate=validate.Length(max=40))
    opening_hours = ma.fields.Dict(validate=_check_hours, metadata={
        "description": "weekday -> [[open, close], ...] in local time; {} means always open",
        "example": {"mon": [["08:30", "12:00"], ["14:00", "18:00"]]}})
    closed_days = ma.fields.List(ma.fields.Nested(ClosedDaySchema), validate=validate.Length(max=366))
    code_mode = ma.fields.String(validate=validate.OneOf(CODE_MODES))
    rotation_seconds = Integer(validate=validate.Range(10, 3600))
    grace_seconds = Integer(validate=validate.Range(0, 600))
    duplicate_window_seconds = Integer(allow_none=True, validate=validate.Range(60, 7 * 86400),
                                                 metadata={"description": "null: the same local day"})

    @validates("timezone")
    def _known_zone(self, value, **kwargs):
        if value not in zoneinfo.available_timezones():
            raise ValidationError("Not an IANA time zone (e.g. Asia/Shanghai).")

    @ma.post_load
    def _plain_days(self, data, **kwargs):
        if "closed_days" in data:
            data["closed_days"] = [{"day": d["day"].isoformat(), "reason": d["reason"]}
                                   for d in data["closed_days"]]
        return data


class CenterCreateSchema(CenterInSchema):
    org_id = Integer(required=True, validate=ID_RANGE)

    @validates_schema
    def _required(self, data, **kwargs):
        missing = {f: ["Missing data for required field."] for f in ("name", "location") if f not in data}
        if missing:
            raise ValidationError(missing)


class CenterSchema(Schema):
    id = Integer()
    org = ma.fields.Nested(OrgRefSchema)
    name = ma.fields.String()
    address = ma.fields.String()
    location = ma.fields.Method("_location")
    radius_m = Integer()
    timezone = ma.fields.String()
    opening_hours = ma.fields.Dict()
    closed_days = ma.fields.List(ma.fields.Dict())
    code_mode = ma.fields.String()
    rotation_seconds = Integer()
    grace_seconds = Integer()
    duplicate_window_seconds = Integer(allow_none=True)
    key_version = Integer()
    distance_m = Integer(metadata={"description": "Only with ?near="})
    created_at = AwareDateTime()

    def _location(self, center):
        return {"lat": center.lat, "lng": center.lng, "coord_system": "gcj02"}


class CenterListArgsSchema(PageArgsSchema):
    org_id = Integer(validate=ID_RANGE)
    near = LatLng(load_default=None)
    radius_m = Integer(load_default=5000, validate=validate.Range(10, 50_000))


class DeviceCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(1, 100))


class DeviceSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    created_at = AwareDateTime()
    revoked_at = AwareDateTime(allow_none=True)


class DeviceCreatedSchema(DeviceSchema):
    device_token = ma.fields.String(metadata={"description": "Shown once; put it in the screen's URL"})


class DeviceArgsSchema(Schema):
    device_token = ma.fields.String(validate=validate.Length(max=100))


class DisplayCodeSchema(Schema):
    qr_text = ma.fields.String(attribute="code.qr_text")
    expires_at = AwareDateTime(attribute="code.expires_at", allow_none=True,
                               metadata={"description": "When scans of this code stop counting (null: static)"})
    refresh_in = ma.fields.Float(attribute="code.refresh_in", allow_none=True,
                                 metadata={"description": "Seconds until the next code is available"})
    server_time = AwareDateTime()
    center_name = ma.fields.String(attribute="center.name")
    today_count = Integer()
    qr_svg = ma.fields.String(metadata={"description": "The code as an SVG image, for the screen"})


class CheckinCreateSchema(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(1, 512))
    location = ma.fields.Nested(CoordinateSchema, allow_none=True, load_default=None)
    purpose = ma.fields.String(load_default="visit", validate=validate.OneOf(PURPOSES))
    type = ma.fields.String(load_default="entry", validate=validate.OneOf(["entry", "exit"]))
    scanned_at = AwareDateTime(load_default=None, metadata={
        "description": "For offline scans: when the code was scanned (up to 24 h ago)"})


class CheckinSchema(Schema):
    id = Integer()
    center_id = Integer(validate=ID_RANGE)
    purpose = ma.fields.String()
    checked_in_at = AwareDateTime()
    local_day = ma.fields.Date()
    offline = ma.fields.Boolean()
    distance_m = ma.fields.Float(allow_none=True)
    exited_at = AwareDateTime(allow_none=True)
    duration_seconds = Integer(allow_none=True)


class CheckinResultSchema(Schema):
    status = ma.fields.String(metadata={"enum": ["ok", "already_checked_in", "checked_out",
                                                 "already_checked_out"]})
    checkin = ma.fields.Nested(CheckinSchema)


class AttemptSchema(Schema):
    id = Integer()
    user_id = Integer(validate=ID_RANGE)
    checkin_id = Integer(allow_none=True, validate=ID_RANGE)
    type = ma.fields.String()
    purpose = ma.fields.String(allow_none=True)
    result = ma.fields.String()
    local_day = ma.fields.Date(allow_none=True)
    scanned_at = AwareDateTime(allow_none=True)
    server_time = AwareDateTime()
    # not the scanner's IP or user agent: kept (for RETENTION_ATTEMPT_DETAILS_DAYS)
    # to look into abuse, they are no business of a center's admins
    distance_m = ma.fields.Float(allow_none=True)
    accuracy_m = ma.fields.Float(allow_none=True)


class MyAttemptSchema(Schema):
    """One of your own scans: what happened, where and when (never the IP or
    user agent, nor the position your phone reported)."""
    id = Integer()
    center_id = Integer(allow_none=True, validate=ID_RANGE)
    center_name = ma.fields.Function(lambda a: a.center.name if a.center is not None else None,
                                     metadata={"type": "string", "nullable": True})
    checkin_id = Integer(allow_none=True, validate=ID_RANGE)
    type = ma.fields.String()
    purpose = ma.fields.String(allow_none=True)
    result = ma.fields.String(metadata={"description": "ok, already_checked_in, checked_out, "
                                                       "already_checked_out or why the scan failed"})
    local_day = ma.fields.Date(allow_none=True)
    server_time = AwareDateTime()
    distance_m = ma.fields.Float(allow_none=True)


class AttemptListArgsSchema(PageArgsSchema):
    day = ma.fields.Date()
    purpose = ma.fields.String(validate=validate.OneOf(PURPOSES))
    status = ma.fields.String(validate=validate.Length(max=32), metadata={
        "description": "ok, already_checked_in, checked_out, failed (any rejection) or a reason code"})


class OccupancySchema(Schema):
    center_id = Integer(validate=ID_RANGE)
    inside = Integer()
    day = ma.fields.Date()
    as_of = AwareDateTime()


CenterPageSchema = page_schema(CenterSchema, "CenterPageSchema")
CheckinPageSchema = page_schema(CheckinSchema, "CheckinPageSchema")
AttemptPageSchema = page_schema(AttemptSchema, "AttemptPageSchema")
MyAttemptPageSchema = page_schema(MyAttemptSchema, "MyAttemptPageSchema")
DevicePageSchema = page_schema(DeviceSchema, "DevicePageSchema")
