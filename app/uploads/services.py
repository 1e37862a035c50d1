"""Accepting a photo: JPEG, PNG or WebP judged by its content (never its name),
at most ``MAX_UPLOAD_BYTES``, re-encoded without its metadata (EXIF GPS!)
after applying its orientation."""
from __future__ import annotations

import hashlib
import io
import secrets
import warnings

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select

from app.auth.models import User
from app.common.db import utcnow
from app.errors import ApiError, NotFound, PayloadTooLarge, ValidationFailed
from app.extensions import db
from app.uploads.models import Upload
from app.uploads.storage import get_storage

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000


class UnsupportedImage(ValidationFailed):
    code = "unsupported_image"
    zh = "只能上传 JPEG、PNG 或 WebP 图片（按文件内容判断）。"
    en = "Only JPEG, PNG or WebP images are accepted (judged by content)."


class UploadNotUsable(ApiError):
    status = 422
    code = "upload_not_usable"
    zh = "照片 {upload_id} 不存在、不属于您或已被使用。"
    en = "Photo {upload_id} does not exist, is not yours, or is already used."


def _reencode(data: bytes) -> tuple[bytes, str, int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format
            if kind not in FORMATS:
                raise UnsupportedImage()
            if image.width * image.height > MAX_PIXELS:
                raise UnsupportedImage()
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedImage() from None
    image = ImageOps.exif_transpose(image)  # keep it upright once the tag is gone
    # Pillow writes some of what it read back out (a JPEG's comment, which a
    # phone or an editor may fill with a name or a place): keep only what the
    # pixels need.
    image.info = {key: value for key, value in image.info.items() if key == "transparency"}
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True},
               "WEBP": {"quality": 85}}[kind]
    image.save(out, format=kind, **options)  # no exif=, comment=, xmp=: no metadata survives
    return out.getvalue(), FORMATS[kind], image.width, image.height


def save_upload(user: User, data: bytes) -> Upload:
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if len(data) > limit:
        raise PayloadTooLarge({"limit": limit})
    if not data:
        raise UnsupportedImage()
    clean, content_type, width, height = _reencode(data)
    key = secrets.token_hex(16)
    get_storage().save(key, clean)
    upload = Upload(owner_id=user.id, storage_key=key, content_type=content_type, size=len(clean),
                    width=width, height=height, sha256=hashlib.sha256(clean).hexdigest())
    db.session.add(upload)
    db.session.commit()
    return upload


def claim(user: User, upload_ids: list[int]) -> list[Upload]:
    """Mark the user's unattached uploads as attached (in the caller's
    transaction: if the caller fails, nothing is claimed)."""
    if not upload_ids:
        return []
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.id.in_(upload_ids)))}
    now = utcnow()
    for upload_id in upload_ids:
        upload = uploads.get(upload_id)
        if upload is None or upload.owner_id != user.id or upload.attached_at is not None:
            raise UploadNotUsable({"upload_id": upload_id})
        upload.attached_at = now
    return [uploads[i] for i in upload_ids]


def get_upload(upload_id: int) -> tuple[Upload, bytes]:
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        raise NotFound()
    return upload, get_storage().load(upload.storage_key)


def delete_unattached(*where) -> list[str]:
    """Delete the uploads matching ``where`` that nothing has taken, in the
    caller's transaction; their storage keys, for :func:`remove_files` once it
    is committed (a crash in between leaves a file without a row, never a row
    without its file). One that a report takes meanwhile is not deleted."""
    return list(db.session.scalars(delete(Upload).where(*where, Upload.attached_at.is_(None))
                                   .returning(Upload.storage_key)
                                   .execution_options(synchronize_session=False)))


def remove_files(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except OSError:
            current_app.logger.warning("could not remove the file of a deleted upload")
