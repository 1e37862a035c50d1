"""The console's text moderation queue."""
from __future__ import annotations

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.transitions import StateChanged
from app.errors import Forbidden, NotFound, ValidationFailed
from app.moderation import services
from app.moderation.schemas import (
    TextItemPageSchema,
    TextItemSchema,
    TextQueueArgsSchema,
    TextRejectSchema,
)

blp = Blueprint("moderation", __name__, description="Content security: the text moderation queue")
STATE = (services.ModerationNotOpen, StateChanged)


@blp.route("/moderation/texts", methods=["GET"])
@login_required
@blp.arguments(TextQueueArgsSchema, location="query")
@blp.response(200, TextItemPageSchema)
@blp.errors(Forbidden, ValidationFailed)
def list_texts(args):
    """Texts held for review (``state=review``, the default), not yet checked
    because WeChat was unreachable (``unchecked``: shown meanwhile) or
    rejected, in the subtrees you administer; newest first."""
    return services.list_items(current_user(), args["state"], args["limit"], args["cursor"])


@blp.route("/moderation/texts/<int:item_id>/release", methods=["POST"])
@login_required
@blp.response(200, TextItemSchema)
@blp.errors(NotFound, Forbidden, *STATE)
def release_text(item_id):
    """Let the text be seen by everyone."""
    return services.release(current_user(), item_id)


@blp.route("/moderation/texts/<int:item_id>/reject", methods=["POST"])
@login_required
@blp.arguments(TextRejectSchema)
@blp.response(200, TextItemSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def reject_text(body, item_id):
    """Hide the text for good; its author gets a notice with the reason."""
    return services.reject(current_user(), item_id, body["reason"])
