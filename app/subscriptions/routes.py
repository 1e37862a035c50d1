"""Your subscribe-message subscriptions."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import Integer, PageArgsSchema, Schema, page_schema
from app.errors import ValidationFailed
from app.subscriptions import services

blp = Blueprint("subscriptions", __name__, description="Subscribe messages (订阅消息)")

MAX_TEMPLATES = 20  # wx.requestSubscribeMessage asks for 3 at a time; a few calls' worth


class ChoicesSchema(Schema):
    results = ma.fields.Dict(
        required=True, validate=validate.Length(min=1, max=MAX_TEMPLATES),
        keys=ma.fields.String(validate=validate.Length(1, 64)),
        values=ma.fields.String(validate=validate.OneOf(services.CHOICES)),
        metadata={"description": "What `wx.requestSubscribeMessage` resolved with, as it is: "
                                 "template id -> accept | reject | ban | filter (its `errMsg` "
                                 "is ignored)",
                  "example": {"demo-task_cancelled": "accept", "errMsg": "requestSubscribeMessage:ok"}})

    @ma.pre_load
    def _without_errmsg(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("results"), dict):
            data = {**data, "results": {k: v for k, v in data["results"].items() if k != "errMsg"}}
        return data


class TemplateCountSchema(Schema):
    template_id = ma.fields.String()
    events = ma.fields.List(ma.fields.String(), metadata={"description": "The events this template tells of"})
    labels = ma.fields.List(ma.fields.String(), metadata={"description": "Their names, to show the user"})
    remaining = Integer(metadata={"description": "Messages of it you may still receive"})


SubscriptionPageSchema = page_schema(TemplateCountSchema, "SubscriptionPageSchema")


@blp.route("/me/subscriptions", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, SubscriptionPageSchema)
@blp.errors(ValidationFailed)
def my_subscriptions(args):
    """Every template the app sends (by template id), the events each serves,
    and how many messages of each you may still receive: the template ids to
    ask ``wx.requestSubscribeMessage`` for."""
    return services.subscription_page(current_user(), args["limit"], args["cursor"])


@blp.route("/me/subscriptions", methods=["POST"])
@login_required
@idempotent
@blp.arguments(ChoicesSchema)
@blp.response(200, SubscriptionPageSchema)
@blp.errors(ValidationFailed, idempotent=True)
def record_subscriptions(body):
    """Record what ``wx.requestSubscribeMessage`` answered: each ``accept``
    lets the app send you one message of that template (they add up, to a
    limit); ``ban`` cancels the ones you hold. A template id the app does not
    use is 422 and nothing is recorded. The answer is every count as it now
    stands, in one page."""
    return {"items": services.record_choices(current_user(), body["results"]), "next_cursor": None}
