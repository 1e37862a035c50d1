from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import Integer, AwareDateTime, Schema
from app.members.schemas import IdentitySchema
from app.orgs.schemas import GrantSchema, MemberReportSchema


class LoginSchema(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(1, 128),
                            metadata={"description": "The code from wx.login()"})


class RefreshSchema(Schema):
    refresh_token = ma.fields.String(required=True, validate=validate.Length(1, 2048))


class UserSchema(Schema):
    id = Integer()
    is_member = ma.fields.Boolean()
    created_at = AwareDateTime()
    last_login_at = AwareDateTime(allow_none=True)


class TokenSchema(Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(dump_default="Bearer")
    expires_in = Integer(metadata={"description": "Seconds the access token lives"})
    user = ma.fields.Nested(UserSchema)


class MeSchema(Schema):
    user = ma.fields.Nested(UserSchema)
    roles = ma.fields.List(ma.fields.Nested(GrantSchema))
    identity = ma.fields.Nested(IdentitySchema, allow_none=True)
    community_report = ma.fields.Nested(MemberReportSchema, allow_none=True)
