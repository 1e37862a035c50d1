"""Base schemas: unknown fields are rejected, times carry an offset."""
from __future__ import annotations

import datetime as dt
import numbers
import re
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.common.geo import Point

UTC = dt.UTC
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger one names nothing
ID_RANGE = validate.Range(1, MAX_ID)


INT32 = 2**31  # every integer column is a 32-bit INTEGER
_DIGITS = re.compile(r"[+-]?[0-9]{1,19}")


class Integer(ma.fields.Integer):
    """The one integer field: an integer, never a truncated fraction.

    Loads JSON integers (and integral floats such as ``2.0``) and, for query
    strings and forms, plain decimal digits; refuses ``1.5``, ``"1.5"``,
    ``true``, ``"1_0"`` and anything an INTEGER column cannot hold. Use it for
    every integer field, in and out (``ID_RANGE`` narrows it for ids).
    """

    default_error_messages: dict[str, str | list[Any] | dict[Any, Any]] = {  # noqa: RUF012 (marshmallow types it per instance)
        "too_large": "Number out of range."}

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, str):
            if not _DIGITS.fullmatch(value):
                raise self.make_error("invalid", input=value)
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            try:
                integral = float(value).is_integer()
            except OverflowError:
                integral = False
            if not integral:
                raise self.make_error("invalid", input=value)
        elif not isinstance(value, numbers.Integral):
            raise self.make_error("invalid", input=value)
        number = super()._validated(value)
        if not -INT32 <= number < INT32:
            raise self.make_error("too_large", input=value)
        return number


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class AwareDateTime(ma.fields.AwareDateTime):
    """ISO 8601 with an explicit offset; naive input is refused.

    Dumped values are stored as UTC; naive ones from SQLite are read as UTC.
    """

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class CoordinateSchema(Schema):
    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90))
    lng = ma.fields.Float(required=True, validate=validate.Range(-180, 180))
    coord_system = ma.fields.String(load_default="gcj02", validate=validate.OneOf(["gcj02", "wgs84"]))
    accuracy = ma.fields.Float(validate=validate.Range(min=0), allow_none=True)


class LocationOutSchema(Schema):
    """A position in every answer: GCJ-02, the system the mini-program's maps use."""

    lat = ma.fields.Float()
    lng = ma.fields.Float()
    coord_system = ma.fields.Constant("gcj02")


class LatLng(ma.fields.Field):
    """A ``lat,lng`` query parameter (GCJ-02), loaded as a :class:`Point`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("description", "lat,lng (GCJ-02)")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            lat, lng = (float(part) for part in str(value).split(","))
        except ValueError:
            raise ma.ValidationError("Use lat,lng.") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ma.ValidationError("Coordinates out of range.")
        return Point(lat, lng)


class PageArgsSchema(Schema):
    limit = Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = ma.fields.String(load_default=None, validate=validate.Length(max=512))


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"items": [...], "next_cursor": ...}`` around ``item_schema``."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
    )
