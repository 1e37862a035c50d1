"""``GET /api/v1/audit``: the audit trail of a subtree, for its admins."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.audit import services
from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    Integer,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.errors import Forbidden, NotFound, ValidationFailed

blp = Blueprint("audit", __name__, description="The audit trail of admin actions")


class AuditArgsSchema(PageArgsSchema):
    org_id = Integer(required=True, validate=ID_RANGE, metadata={"description": "This organization's subtree"})
    action = ma.fields.String(validate=validate.Length(1, 48), metadata={"description": "e.g. identity.suspend"})
    object_type = ma.fields.String(validate=validate.Length(1, 48), metadata={"description": "e.g. member_identities"})
    object_id = Integer(validate=ID_RANGE)
    actor_id = Integer(validate=ID_RANGE)
    from_ = AwareDateTime(data_key="from")
    to = AwareDateTime()


class AuditEntrySchema(Schema):
    id = Integer()
    at = AwareDateTime()
    actor_id = Integer(allow_none=True, metadata={"description": "None: the system or a command"})
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = Integer(allow_none=True)
    org_id = Integer(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


AuditPageSchema = page_schema(AuditEntrySchema, "AuditPageSchema")


@blp.route("/audit", methods=["GET"])
@login_required
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, AuditPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def audit(args):
    """Who did what, when, to what, before and after, from which request: every
    admin action and every change of a person's status in the subtree, newest
    first. Filter by action, object (``object_type`` + ``object_id``: an
    identity's whole status history), actor and time."""
    filters = {**args, "from": args.pop("from_", None)}
    return services.entries(current_user(), args["org_id"], filters, args["limit"], args["cursor"])
