"""Photo uploads."""
from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, url_for

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.schemas import Integer, AwareDateTime, Schema
from app.errors import NotFound, PayloadTooLarge, ValidationFailed
from app.uploads import services

blp = Blueprint("uploads", __name__, description="Photo uploads")


class UploadFileSchema(Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadSchema(Schema):
    id = Integer()
    content_type = ma.fields.String()
    size = Integer()
    width = Integer()
    height = Integer()
    url = ma.fields.Function(lambda u: url_for("uploads.get_upload", upload_id=u.id))
    created_at = AwareDateTime()


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
