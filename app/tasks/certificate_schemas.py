"""Schemas of volunteer certificates (app.tasks.certificates)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    Integer,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.orgs.schemas import OrgRefSchema


class CertificateRequestSchema(Schema):
    from_ = ma.fields.Date(data_key="from", required=True, metadata={"description": "First day (local)"})
    to = ma.fields.Date(required=True, metadata={"description": "Last day (local), included"})
    org_id = Integer(load_default=None, allow_none=True, validate=ID_RANGE, metadata={
        "description": "Only this organization's services, and it issues the certificate; "
                       "without it, the lowest organization over all of them issues it"})


class CertifiedServiceSchema(Schema):
    service_name = ma.fields.String()
    organizer = ma.fields.String()
    place = ma.fields.String()
    started_at = ma.fields.String()
    ended_at = ma.fields.String()
    hours = ma.fields.String(metadata={"description": "Hours credited, corrections included"})
    confirmed_by = ma.fields.String(metadata={"enum": ["requester", "organizer"]})


class CertificateSchema(Schema):
    serial = ma.fields.String()
    holder_name = ma.fields.String()
    issuer = ma.fields.Nested(OrgRefSchema)
    period_from = ma.fields.Date()
    period_to = ma.fields.Date()
    total_hours = ma.fields.Decimal(places=2, as_string=False)
    services = ma.fields.List(ma.fields.Nested(CertifiedServiceSchema))
    issued_at = AwareDateTime()
    revoked_at = AwareDateTime(allow_none=True)
    verify_url = ma.fields.String(metadata={"description": "What the PDF's QR holds"})
    pdf_url = ma.fields.String()


CertificatePageSchema = page_schema(CertificateSchema, "CertificatePageSchema")


class CertificateListArgsSchema(PageArgsSchema):
    pass


class VerifyArgsSchema(Schema):
    sig = ma.fields.String(required=True, validate=validate.Length(1, 64))


class CertificateVerificationSchema(Schema):
    valid = ma.fields.Boolean()
    state = ma.fields.String(metadata={"enum": ["valid", "revoked"]})
    serial = ma.fields.String()
    holder = ma.fields.String(metadata={"description": "The holder's name, masked (陈*文)"})
    issuer = ma.fields.String()
    period_from = ma.fields.Date()
    period_to = ma.fields.Date()
    total_hours = ma.fields.Decimal(places=2, as_string=False)
    service_count = Integer()
    issued_at = AwareDateTime()
    revoked_at = AwareDateTime(allow_none=True)


class RevokeSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))
