from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import (
    AwareDateTime,
    Integer,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.moderation.models import CONTENT_STATES, ITEM_STATES
from app.moderation.services import KINDS
from app.orgs.schemas import OrgRefSchema

QUEUE_STATES = ("review", "unchecked", "rejected")


class TextItemSchema(Schema):
    id = Integer()
    kind = ma.fields.String(metadata={"enum": list(KINDS)})
    object_id = Integer()
    field = ma.fields.String()
    excerpt = ma.fields.String(metadata={"description": "The text's first 200 characters"})
    author_id = Integer(allow_none=True)
    org = ma.fields.Nested(OrgRefSchema)
    state = ma.fields.String(metadata={"enum": list(ITEM_STATES)})
    label = Integer(allow_none=True, metadata={"description": "WeChat's label (100 normal, 20001 politics...)"})
    trace_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    decided_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()


TextItemPageSchema = page_schema(TextItemSchema, "TextItemPageSchema")


class TextQueueArgsSchema(PageArgsSchema):
    state = ma.fields.String(load_default="review", validate=validate.OneOf(QUEUE_STATES))


class TextRejectSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))


def content_state_field() -> ma.fields.String:
    """The ``content_state`` every checked object answers with."""
    return ma.fields.String(metadata={"enum": list(CONTENT_STATES), "description": (
        "The content check: visible; unchecked (WeChat was unreachable: shown, re-checked "
        "later); review (held: only you and the admins see it until released); rejected")})
