from __future__ import annotations

import unicodedata

import marshmallow as ma
from marshmallow import validate

from app.common.qr import UNPRINTABLE_CATEGORIES
from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    CoordinateSchema,
    Integer,
    LocationOutSchema,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.moderation.schemas import content_state_field
from app.orgs.schemas import OrgRefSchema

VERIFY_REASONS = ["expired", "bad_signature", "identity_revoked", "identity_suspended",
                  "unknown_key", "not_a_badge", "malformed"]


def printable(value: str) -> None:
    """Text printed on a plate: no control characters, line or paragraph
    separators, or lone surrogates (the renderer cannot lay them out)."""
    for char in value:
        if unicodedata.category(char) in UNPRINTABLE_CATEGORIES:
            raise ma.ValidationError(
                f"Contains a character that cannot be printed on a plate (U+{ord(char):04X}).")


def plate_text(low: int, high: int) -> list:
    return [validate.Length(low, high), printable]


class BadgeSchema(Schema):
    qr_text = ma.fields.String()
    expires_at = AwareDateTime()


class JwkSchema(Schema):
    kty = ma.fields.String()
    crv = ma.fields.String()
    alg = ma.fields.String()
    use = ma.fields.String()
    kid = ma.fields.String()
    x = ma.fields.String(metadata={"description": "The raw 32-byte public key, base64url"})
    status = ma.fields.String(metadata={"enum": ["current", "previous"]})


class KeySetSchema(Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema))
    token_format = ma.fields.String()


class VerifySchema(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(1, 2048))
    location = ma.fields.Nested(CoordinateSchema, load_default=None, allow_none=True)


class VerifiedMemberSchema(Schema):
    display_name = ma.fields.String()
    branch = ma.fields.String()
    member_status = ma.fields.String()
    member_since_year = Integer(metadata={"description": "The year the member joined (not the date)"})


class VerificationSchema(Schema):
    valid = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True, metadata={"enum": VERIFY_REASONS})
    member = ma.fields.Nested(VerifiedMemberSchema, allow_none=True)


class ShownSchema(Schema):
    id = Integer()
    verifier_id = Integer(validate=ID_RANGE)
    shown_at = AwareDateTime()
    location = ma.fields.Nested(LocationOutSchema, allow_none=True)


class PostInSchema(Schema):
    name = ma.fields.String(validate=plate_text(1, 100))
    unit = ma.fields.String(validate=plate_text(0, 100))
    window = ma.fields.String(validate=plate_text(0, 50))
    location = ma.fields.Nested(CoordinateSchema, allow_none=True)
    service_items = ma.fields.List(ma.fields.String(validate=plate_text(1, 50)),
                                   validate=validate.Length(max=30))


class PostCreateSchema(PostInSchema):
    org_id = Integer(required=True, validate=ID_RANGE)
    name = ma.fields.String(required=True, validate=plate_text(1, 100))


class PostSchema(Schema):
    id = Integer()
    org = ma.fields.Nested(OrgRefSchema)
    name = ma.fields.String()
    unit = ma.fields.String()
    window = ma.fields.String()
    location = ma.fields.Nested(LocationOutSchema, allow_none=True)
    service_items = ma.fields.List(ma.fields.String())
    created_at = AwareDateTime()
    content_state = content_state_field()


class PostListArgsSchema(PageArgsSchema):
    org_id = Integer(required=True, validate=ID_RANGE)


class AssignSchema(Schema):
    identity_id = Integer(required=True, validate=ID_RANGE)


class MaskedMemberSchema(Schema):
    identity_id = Integer(attribute="identity.id", validate=ID_RANGE)
    display_name = ma.fields.String(attribute="identity.display_name")
    branch = ma.fields.String(attribute="identity.branch.name")


class AssignmentSchema(MaskedMemberSchema):
    created_at = AwareDateTime()


class DutySchema(MaskedMemberSchema):
    started_at = AwareDateTime()
    ended_at = AwareDateTime(allow_none=True)


class CodeSchema(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(1, 2048))


class DutyResultSchema(Schema):
    on_duty = ma.fields.Boolean()
    session = ma.fields.Nested(DutySchema)


class RatingSummarySchema(Schema):
    count = Integer()
    average = ma.fields.Float(allow_none=True)


class MerchantPlateSchema(Schema):
    id = Integer()
    shop_name = ma.fields.String()
    address = ma.fields.String()
    zone = ma.fields.Nested(OrgRefSchema)
    owner = ma.fields.String(attribute="owner.display_name")
    state = ma.fields.String(metadata={"enum": ["pending", "approved", "rejected", "revoked"]})
    reason = ma.fields.String(allow_none=True)
    location = ma.fields.Nested(LocationOutSchema, allow_none=True)
    created_at = AwareDateTime()
    decided_at = AwareDateTime(allow_none=True)


class PublicMerchantPlateSchema(MerchantPlateSchema):
    """What customers who scan a plate see: that it was revoked, not the zone
    admin's reason why."""

    class Meta:
        exclude = ("reason", "decided_at")


class PlateViewSchema(Schema):
    kind = ma.fields.String(metadata={"enum": ["post", "merchant"]})
    valid = ma.fields.Boolean()
    post = ma.fields.Nested(PostSchema, allow_none=True)
    on_duty = ma.fields.List(ma.fields.Nested(DutySchema), allow_none=True)
    rating = ma.fields.Nested(RatingSummarySchema, allow_none=True)
    plate = ma.fields.Nested(PublicMerchantPlateSchema, allow_none=True)


class RatingInSchema(Schema):
    # strict: a score of 3.5 is refused, not silently stored as 3
    score = Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = ma.fields.String(load_default="", validate=validate.Length(max=200))


class RatingSchema(Schema):
    id = Integer()
    post_id = Integer(validate=ID_RANGE)
    score = Integer()
    comment = ma.fields.String()
    day = ma.fields.Date()
    created_at = AwareDateTime()
    content_state = content_state_field()


class RatingPageSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(RatingSchema))
    next_cursor = ma.fields.String(allow_none=True)
    summary = ma.fields.Nested(RatingSummarySchema)


class PlateApplySchema(Schema):
    zone_id = Integer(required=True, validate=ID_RANGE)
    shop_name = ma.fields.String(required=True, validate=plate_text(1, 100))
    address = ma.fields.String(required=True, validate=plate_text(1, 200))
    location = ma.fields.Nested(CoordinateSchema, load_default=None, allow_none=True)


class DecisionSchema(Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class PlateListArgsSchema(PageArgsSchema):
    zone_id = Integer(required=True, validate=ID_RANGE)
    state = ma.fields.String(validate=validate.OneOf(["pending", "approved", "rejected", "revoked"]))


class FeedbackInSchema(Schema):
    score = Integer(load_default=None, strict=True, validate=validate.Range(1, 5))
    comment = ma.fields.String(required=True, validate=validate.Length(1, 200))


class FeedbackSchema(Schema):
    id = Integer()
    plate_id = Integer(validate=ID_RANGE)
    score = Integer(allow_none=True)
    comment = ma.fields.String()
    created_at = AwareDateTime()
    content_state = content_state_field()


ShownPageSchema = page_schema(ShownSchema, "ShownPageSchema")
PostPageSchema = page_schema(PostSchema, "PostPageSchema")
AssignmentPageSchema = page_schema(AssignmentSchema, "AssignmentPageSchema")
PlatePageSchema = page_schema(MerchantPlateSchema, "PlatePageSchema")
FeedbackPageSchema = page_schema(FeedbackSchema, "FeedbackPageSchema")
