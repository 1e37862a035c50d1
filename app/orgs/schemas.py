from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.auth.permissions import ROLES
from app.common.schemas import ID_RANGE, AwareDateTime, Integer, PageArgsSchema, Schema, page_schema
from app.orgs.models import ORG_KINDS

Name = ma.fields.String(required=True, validate=validate.Length(1, 100))


class OrgRefSchema(Schema):
    id = Integer()
    kind = ma.fields.String()
    name = ma.fields.String()


class OrgSchema(Schema):
    id = Integer()
    kind = ma.fields.String(metadata={"enum": list(ORG_KINDS)})
    name = ma.fields.String()
    parent_id = Integer(allow_none=True)
    depth = Integer()
    created_at = AwareDateTime()


class OrgCreateSchema(Schema):
    parent_id = Integer(required=True, validate=ID_RANGE)
    kind = ma.fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    name = ma.fields.String(required=True, validate=validate.Length(1, 100))


class OrgRenameSchema(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(1, 100))


class OrgMoveSchema(Schema):
    parent_id = Integer(required=True, validate=ID_RANGE)


class DirectoryArgsSchema(PageArgsSchema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(["street", "community", "party_branch"]))
    parent_id = Integer(validate=ID_RANGE)
    q = ma.fields.String(validate=validate.Length(1, 50), metadata={"description": "Part of the name"})


class DirectoryEntrySchema(OrgRefSchema):
    parent = ma.fields.Nested(OrgRefSchema, attribute="parent_ref", allow_none=True,
                              metadata={"description": "The node it belongs to"})


DirectoryPageSchema = page_schema(DirectoryEntrySchema, "DirectoryPageSchema")


class OrgListArgsSchema(PageArgsSchema):
    parent_id = Integer(validate=ID_RANGE)
    kind = ma.fields.String(validate=validate.OneOf(ORG_KINDS))


class GrantSchema(Schema):
    id = Integer()
    user_id = Integer()
    role = ma.fields.String()
    org = ma.fields.Nested(OrgRefSchema)
    created_at = AwareDateTime()


class GrantCreateSchema(Schema):
    user_id = Integer(required=True, validate=ID_RANGE)
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))


class CommunityReportCreateSchema(Schema):
    community_id = Integer(required=True, validate=ID_RANGE)


class DecideSchema(Schema):
    reason = ma.fields.String(validate=validate.Length(max=200), load_default=None)


class ReportListArgsSchema(PageArgsSchema):
    state = ma.fields.String(validate=validate.OneOf(
        ["pending", "confirmed", "declined", "withdrawn", "ended"]))


class MemberReportSchema(Schema):
    id = Integer()
    user_id = Integer()
    community = ma.fields.Nested(OrgRefSchema)
    state = ma.fields.String()
    created_at = AwareDateTime()
    decided_at = AwareDateTime(allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)
    ended_at = AwareDateTime(allow_none=True)


class OrgReportSchema(Schema):
    id = Integer()
    org = ma.fields.Nested(OrgRefSchema)
    community = ma.fields.Nested(OrgRefSchema)
    state = ma.fields.String()
    created_at = AwareDateTime()
    decided_at = AwareDateTime(allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)


OrgPageSchema = page_schema(OrgSchema, "OrgPageSchema")
GrantPageSchema = page_schema(GrantSchema, "GrantPageSchema")
MemberReportPageSchema = page_schema(MemberReportSchema, "MemberReportPageSchema")
OrgReportPageSchema = page_schema(OrgReportSchema, "OrgReportPageSchema")
