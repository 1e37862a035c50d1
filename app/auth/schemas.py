from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import AwareDateTime, Integer, Schema
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


class CancellationSchema(Schema):
    confirmation = ma.fields.String(metadata={"description": "Send it with DELETE /me within ten "
                                              "minutes to close the account"})
    expires_at = AwareDateTime()
    removed = ma.fields.List(ma.fields.String(), metadata={"description": "What closing removes"})
    kept = ma.fields.List(ma.fields.String(), metadata={"description": "What is kept, without "
                                                        "the person's identity, and why"})


class CancelAccountSchema(Schema):
    confirmation = ma.fields.String(required=True, validate=validate.Length(1, 512))


class ClosedAccountSchema(Schema):
    closed_at = AwareDateTime(attribute="deleted_at")


class ConsoleTicketSchema(Schema):
    ticket = ma.fields.String()
    poll_secret = ma.fields.String(metadata={"description": "Only the page that created the ticket "
                                             "holds it; redeeming needs it"})
    qr_text = ma.fields.String(metadata={"description": "The QR's text: <QR_BASE_URL>/l/<ticket>"})
    qr_svg = ma.fields.String(metadata={"description": "The QR as an SVG document"})
    state = ma.fields.String()
    expires_at = AwareDateTime()


class ConsoleTicketStateSchema(Schema):
    ticket = ma.fields.String()
    state = ma.fields.String(metadata={"description": "pending | confirmed | redeemed"})
    expires_at = AwareDateTime()


class ConsoleRedeemSchema(Schema):
    poll_secret = ma.fields.String(required=True, validate=validate.Length(1, 128))


class ConsoleRedeemAnswerSchema(TokenSchema):
    state = ma.fields.String(metadata={"description": "pending (202, poll again) or redeemed "
                                       "(200, with the token pair)"})
    expires_at = AwareDateTime()
