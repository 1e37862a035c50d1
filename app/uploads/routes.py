"""Photo uploads, the photo moderation queue, and the signed links WeChat
fetches photos by (outside /api/v1: WeChat holds no token)."""
from __future__ import annotations

import flask
import marshmallow as ma
from flask import Response, current_app, url_for
from marshmallow import validate

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.schemas import AwareDateTime, Integer, PageArgsSchema, Schema, page_schema
from app.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from app.uploads import moderation, services
from app.uploads.models import CHECK_STATES, UNDECIDED

blp = Blueprint("uploads", __name__, description="Photo uploads")
moderation_blp = Blueprint("photo_moderation", __name__, url_prefix="/moderation",
                           description="Photos held for review by WeChat's content check")
media_blp = flask.Blueprint("media", __name__)

CHECK_STATE_DOC = ("WeChat's content check: `pending` (not checked yet) and `review` are shown to "
                   "the uploader and the admins only (\"审核中\"), `pass` to everyone, `risky` to nobody")


class UploadFileSchema(Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadSchema(Schema):
    id = Integer()
    content_type = ma.fields.String()
    size = Integer()
    width = Integer()
    height = Integer()
    url = ma.fields.Function(lambda u: url_for("uploads.get_upload", upload_id=u.id))
    check_state = ma.fields.String(metadata={"enum": list(CHECK_STATES), "description": CHECK_STATE_DOC})
    created_at = AwareDateTime()


class QueueArgsSchema(PageArgsSchema):
    state = ma.fields.String(load_default="review", validate=validate.OneOf(UNDECIDED),
                             metadata={"description": "`review` (WeChat asked for a person) or "
                                                      "`pending` (no result yet)"})


class QueuedPhotoSchema(Schema):
    id = Integer(attribute="upload.id")
    event_id = Integer()
    stage = ma.fields.String(metadata={"description": "report, resolve..."})
    owner_id = Integer(attribute="upload.owner_id")
    check_state = ma.fields.String(attribute="upload.check_state",
                                   metadata={"enum": list(CHECK_STATES), "description": CHECK_STATE_DOC})
    label = Integer(attribute="upload.label", allow_none=True,
                    metadata={"description": "WeChat's label (100 normal, 20002 porn...)"})
    url = ma.fields.Function(lambda q: url_for("grid.event_photo", event_id=q.event_id,
                                               upload_id=q.upload.id))
    created_at = AwareDateTime(attribute="upload.created_at")
    checked_at = AwareDateTime(attribute="upload.checked_at", allow_none=True)
    moderator_id = Integer(attribute="upload.moderator_id", allow_none=True)


QueuedPhotoPageSchema = page_schema(QueuedPhotoSchema, "QueuedPhotoPageSchema")


@blp.route("/uploads", methods=["POST"])
@login_required
@blp.arguments(UploadFileSchema, location="files")
@blp.response(201, UploadSchema)
@blp.errors(services.UnsupportedImage, PayloadTooLarge, ValidationFailed)
def upload(files):
    """Upload one photo (``multipart/form-data``, field ``file``): JPEG, PNG or
    WebP by content, at most 10 MB; it is re-encoded and its EXIF (GPS!) removed.
    Attach it to a report by its id."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = files["file"].read(limit + 1)
    saved = services.save_upload(current_user(), data)
    return saved, 201, {"Location": url_for("uploads.get_upload", upload_id=saved.id)}


@blp.route("/uploads/<int:upload_id>", methods=["GET"])
@login_required
@blp.doc(responses={"200": {"description": "The image",
                            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.errors(NotFound)
def get_upload(upload_id):
    """Your own upload (photos attached to an event are served by the event)."""
    upload, data = services.get_upload(upload_id)
    if upload.owner_id != current_user().id:
        raise NotFound()
    return Response(data, mimetype=upload.content_type)


@moderation_blp.route("/photos", methods=["GET"])
@login_required
@moderation_blp.arguments(QueueArgsSchema, location="query")
@moderation_blp.response(200, QueuedPhotoPageSchema)
@moderation_blp.errors(ValidationFailed, Forbidden)
def photo_queue(args):
    """Photos on grid events of your subtree that WeChat's check sent to
    review (``?state=pending``: no result yet), oldest first; each one's
    ``url`` shows it to you."""
    return moderation.photo_queue(current_user(), args["state"], args["limit"], args["cursor"])


def _decision(verdict: str, name: str, doc: str) -> None:
    def view(upload_id):
        return moderation.decide(current_user(), upload_id, verdict)

    view.__name__, view.__doc__ = name, doc
    moderation_blp.route(f"/photos/<int:upload_id>/{name}", methods=["POST"])(
        login_required(moderation_blp.response(200, QueuedPhotoSchema)(
            moderation_blp.errors(services.NotUndecided, Forbidden)(view))))


_decision("pass", "release", "Release a photo held for review: everyone who sees its event sees it.")
_decision("risky", "reject", "Reject a photo held for review: it is deleted and its uploader is told "
                             "(a `photo_rejected` notice).")


@media_blp.get("/media/<token>")
def media(token: str):
    """The bytes of an upload, for WeChat's media check: no login, a signed
    link that expires (app.uploads.services.media_link)."""
    upload, data = services.open_media_link(token)
    return Response(data, mimetype=upload.content_type, headers={"Cache-Control": "private, no-store"})
