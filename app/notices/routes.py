"""Your notices."""
from __future__ import annotations

import marshmallow as ma

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.schemas import AwareDateTime, Integer, PageArgsSchema, Schema, page_schema
from app.errors import ValidationFailed
from app.notices import services

blp = Blueprint("notices", __name__, description="Notices to the user")


class NoticeSchema(Schema):
    id = Integer()
    kind = ma.fields.String()
    data = ma.fields.Dict()
    created_at = AwareDateTime()
    read_at = AwareDateTime(allow_none=True)


class ReadSchema(Schema):
    up_to_id = Integer(required=True)


class UnreadSchema(Schema):
    unread = Integer(metadata={"description": f"Unread notices, counted up to {services.UNREAD_CAP}"})


class ReadResultSchema(Schema):
    marked = Integer()


NoticePageSchema = page_schema(NoticeSchema, "NoticePageSchema")


@blp.route("/me/notices", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, NoticePageSchema)
@blp.errors(ValidationFailed)
def my_notices(args):
    """Your notices, newest first."""
    return services.my_notices(current_user(), args["limit"], args["cursor"])


@blp.route("/me/notices/unread", methods=["GET"])
@login_required
@blp.response(200, UnreadSchema)
@blp.errors()
def unread():
    """How many of your notices are unread: the count on the notices tab."""
    return {"unread": services.unread_count(current_user())}


@blp.route("/me/notices/read", methods=["POST"])
@login_required
@blp.arguments(ReadSchema)
@blp.response(200, ReadResultSchema)
@blp.errors(ValidationFailed)
def mark_read(body):
    """Mark your notices up to ``up_to_id`` as read."""
    return {"marked": services.mark_read(current_user(), body["up_to_id"])}
