from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import AwareDateTime, Integer, PageArgsSchema, Schema, page_schema
from app.members.models import IDENTITY_STATUSES, MEMBER_STATUSES
from app.orgs.schemas import ID_RANGE, OrgRefSchema


class IdentitySchema(Schema):
    """The member card."""

    id = Integer()
    identity_no = ma.fields.String()
    name = ma.fields.String(attribute="roster_entry.name")
    branch = ma.fields.Nested(OrgRefSchema)
    status = ma.fields.String(metadata={"enum": list(IDENTITY_STATUSES)})
    member_status = ma.fields.String(attribute="roster_entry.member_status",
                                     metadata={"enum": list(MEMBER_STATUSES)})
    member_since = ma.fields.Date(attribute="roster_entry.join_date")
    phone = ma.fields.String(attribute="roster_entry.phone_masked")
    issued_at = AwareDateTime()


class MemberAdminSchema(IdentitySchema):
    user_id = Integer(validate=ID_RANGE)
    status_reason = ma.fields.String(allow_none=True)
    status_changed_at = AwareDateTime(allow_none=True)


class RosterEntrySchema(Schema):
    id = Integer()
    name = ma.fields.String()
    phone = ma.fields.String(attribute="phone_masked")
    branch = ma.fields.Nested(OrgRefSchema)
    join_date = ma.fields.Date()
    member_status = ma.fields.String()
    updated_at = AwareDateTime()


class RosterFileSchema(Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RosterImportResultSchema(Schema):
    created = Integer()
    updated = Integer()
    unchanged = Integer()


class BindingCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(1, 50))
    phone_code = ma.fields.String(required=True, validate=validate.Length(1, 128))
    branch_id = Integer(load_default=None, validate=ID_RANGE, metadata={
        "description": "Your branch, needed only when your phone is on no roster"})


class BindingRequestSchema(Schema):
    id = Integer()
    user_id = Integer(validate=ID_RANGE)
    name = ma.fields.String()
    phone = ma.fields.String(attribute="phone_masked")
    org = ma.fields.Nested(OrgRefSchema)
    mismatch = ma.fields.String()
    state = ma.fields.String()
    created_at = AwareDateTime()
    decided_at = AwareDateTime(allow_none=True)
    reject_reason = ma.fields.String(allow_none=True)


class BindingResultSchema(Schema):
    state = ma.fields.String(metadata={"enum": ["active", "pending"]})
    identity = ma.fields.Nested(IdentitySchema, allow_none=True)
    request = ma.fields.Nested(BindingRequestSchema, allow_none=True)


class ApproveSchema(Schema):
    join_date = ma.fields.Date(load_default=None)
    member_status = ma.fields.String(load_default=None, validate=validate.OneOf(MEMBER_STATUSES))


class RejectSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))


class StatusChangeSchema(Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class BindingListArgsSchema(PageArgsSchema):
    state = ma.fields.String(validate=validate.OneOf(["pending", "approved", "rejected", "withdrawn"]))


class MemberListArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=validate.OneOf(IDENTITY_STATUSES))


RosterPageSchema = page_schema(RosterEntrySchema, "RosterPageSchema")
BindingRequestPageSchema = page_schema(BindingRequestSchema, "BindingRequestPageSchema")
MemberPageSchema = page_schema(MemberAdminSchema, "MemberPageSchema")
