"""Accepting a photo: JPEG, PNG or WebP judged by its content (never its name),
at most ``MAX_UPLOAD_BYTES``, re-encoded without its metadata (EXIF GPS!)
after applying its orientation.

Then WeChat checks it (content security). The rule:

* Once stored, a job (:func:`check_photo`) hands WeChat a signed, expiring
  link to the bytes (``media_check_async``, version 2) and records the
  ``trace_id``; WeChat fetches the photo and pushes its verdict to
  ``/wechat/push`` (app/wechat/push.py), which calls :func:`apply_media_result`.
* Who sees a photo (:func:`shown_to`): ``pass`` everyone who sees what it is
  attached to; ``pending`` and ``review`` only its uploader and the admins who
  moderate it (the answer says which state, so pages say "审核中"); ``risky``
  nobody.
* ``risky`` (WeChat's verdict, or an admin's rejection) deletes the stored
  bytes, not a quarantine: the app keeps no copy of what WeChat judged
  illegal, and the row (trace_id, label, who decided) remains the record. The
  uploader is told by a ``photo_rejected`` notice.
* The first verdict wins: a replayed push, or one for a photo an admin
  already decided, changes nothing.
"""
from __future__ import annotations

import hashlib
import io
import logging
import secrets
import time
import warnings
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import CursorResult, delete, select, update

from app.audit import log as audit
from app.auth.models import User
from app.common import signed_codes
from app.common.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from app.extensions import db
from app.jobs.queue import enqueue, once
from app.notices.services import notify
from app.uploads.models import UNDECIDED, Upload
from app.uploads.storage import get_storage

log = logging.getLogger(__name__)

# WeChat's scenes: 1 profile, 2 comment, 3 forum, 4 social log. Photos go on
# grid events that others read and answer, like a forum post.
MEDIA_SCENE = 3
# WeChat fetches the photo within minutes (its result comes within 30); a
# retried job signs a fresh link.
MEDIA_LINK_SECONDS = 3600
WECHAT_SUGGESTIONS = ("pass", "review", "risky")

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True}, "WEBP": {"quality": 85}}
MAX_PIXELS = 40_000_000


class UnsupportedImage(ValidationFailed):
    code = "unsupported_image"
    zh = "只能上传 JPEG、PNG 或 WebP 图片（按文件内容判断）。"
    en = "Only JPEG, PNG or WebP images are accepted (judged by content)."


class MediaLinkInvalid(Forbidden):
    code = "media_link_invalid"
    zh = "图片链接无效或已过期。"
    en = "This photo link is invalid or has expired."


class NotUndecided(Conflict):
    code = "photo_already_decided"
    zh = "这张照片已审核（{check_state}），不能再放行或驳回。"
    en = "This photo was already decided ({check_state}); it cannot be released or rejected now."


class UploadNotUsable(ValidationFailed):
    code = "upload_not_usable"
    zh = "照片 {upload_id} 不存在、不属于您或已被使用。"
    en = "Photo {upload_id} does not exist, is not yours, or is already used."


def _reencode(data: bytes) -> tuple[bytes, str, int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
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
    image.save(out, format=kind, **SAVE_OPTIONS[kind])  # no exif=, comment=, xmp=: no metadata survives
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
    enqueue(check_photo, upload.id, job_id=f"mediacheck:{upload.id}")
    return upload


def claim(user: User, upload_ids: list[int]) -> list[Upload]:
    """Mark the user's unattached uploads as attached (in the caller's
    transaction: if the caller fails, nothing is claimed). A photo WeChat
    judged risky is gone and cannot be attached."""
    if not upload_ids:
        return []
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.id.in_(upload_ids)))}
    now = utcnow()
    for upload_id in upload_ids:
        upload = uploads.get(upload_id)
        if upload is None or upload.owner_id != user.id or upload.attached_at is not None \
                or upload.check_state == "risky":
            raise UploadNotUsable({"upload_id": upload_id})
        upload.attached_at = now
    return [uploads[i] for i in upload_ids]


def get_upload(upload_id: int) -> tuple[Upload, bytes]:
    """The upload and its bytes; a risky one has none left (404)."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.check_state == "risky":
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

def shown_to(viewer_id: int, owner_id: int, check_state: str, moderates: bool) -> bool:
    """Whether a viewer sees a photo (of something the viewer may see): a
    passed one always, an undecided one only its uploader and its moderators,
    a risky one never."""
    if check_state == "pass":
        return True
    return check_state in UNDECIDED and (viewer_id == owner_id or moderates)


# ---- WeChat's media check ------------------------------------------------------------------

def _link_key() -> bytes:
    """The HMAC key of media links, derived from SECRET_KEY (so it is not the secret itself)."""
    key = current_app.extensions.get("media_link_key")
    if key is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"media-links").derive(current_app.config["SECRET_KEY"].encode())
        current_app.extensions["media_link_key"] = key
    return key


def media_link(upload_id: int, expires_at: int | None = None) -> str:
    """An unauthenticated URL of the upload's bytes that WeChat can fetch,
    on ``PUBLIC_BASE_URL``, valid until ``expires_at`` (Unix seconds)."""
    expires_at = expires_at or int(time.time()) + MEDIA_LINK_SECONDS
    token = signed_codes.sign("media", upload_id, 0, expires_at, _link_key())
    return f"{current_app.config['PUBLIC_BASE_URL']}/media/{token}"


def open_media_link(token: str) -> tuple[Upload, bytes]:
    """The upload a media link names, if its signature holds and it has not
    expired; MediaLinkInvalid otherwise (forged, expired, not a media link)."""
    try:
        code = signed_codes.parse(token)
    except signed_codes.MalformedCode:
        raise MediaLinkInvalid() from None
    if code.kind != "media" or not code.verify(_link_key()) or time.time() >= code.step:
        raise MediaLinkInvalid()
    return get_upload(code.subject_id)


def check_photo(upload_id: int) -> None:
    """The job: ask WeChat to check a photo and record the check's trace_id.

    WeChat busy or unreachable raises (RQ retries; ``once`` keeps a retry from
    asking twice once a trace_id was had). WeChat refusing the call itself
    (the user unknown to it, say) cannot be retried: the photo goes to
    ``review``, for a person to judge."""
    from app.wechat.client import get_wechat
    from app.wechat.errors import WeChatRejected

    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.check_state != "pending" or upload.trace_id:
        return  # gone, decided, or already asked
    owner = db.session.get_one(User, upload.owner_id)
    with once() as first:
        if not first:
            return
        try:
            upload.trace_id = get_wechat().media_check_async(media_link(upload.id), owner.openid,
                                                             MEDIA_SCENE)
        except WeChatRejected as refused:
            log.warning("media check of upload %s refused by WeChat (errcode %s): to review",
                        upload.id, refused.errcode)
            upload.check_state, upload.checked_at = "review", utcnow()
        db.session.commit()


def apply_media_result(trace_id: str, suggest: str, label: int | None) -> Upload | None:
    """WeChat's verdict on the check ``trace_id``: the photo leaves
    ``pending`` for ``suggest``. None when no photo has this trace_id (logged:
    WeChat is answered all the same, so that it stops pushing). The first
    verdict wins: a replay, or a verdict on a photo already decided, changes
    nothing."""
    upload = db.session.scalar(select(Upload).where(Upload.trace_id == trace_id))
    if upload is None:
        log.warning("media check result for an unknown trace_id %r: ignored", trace_id)
        return None
    if _decide(upload, suggest, label, moderator_id=None, undecided=("pending",)):
        log.info("upload %s checked by WeChat: %s (label %s)", upload.id, suggest, label)
    else:
        log.info("media check result for upload %s (already %s): ignored", upload.id,
                 upload.check_state)
    return upload


def moderate(moderator: User, upload: Upload, verdict: str) -> Upload:
    """An admin releases (``pass``) or rejects (``risky``) an undecided photo."""
    if not _decide(upload, verdict, upload.label, moderator_id=moderator.id, undecided=UNDECIDED):
        raise NotUndecided({"check_state": upload.check_state})
    return upload


def _decide(upload: Upload, state: str, label: int | None, *, moderator_id: int | None,
            undecided: tuple[str, ...]) -> bool:
    """Move the photo out of an undecided state by one conditional UPDATE (of
    concurrent decisions, exactly one wins), commit, and for ``risky`` tell
    the uploader and delete the bytes. False when it was decided already."""
    now = utcnow()
    previous = upload.check_state
    claimed = cast(CursorResult[Any], db.session.execute(
        update(Upload).where(Upload.id == upload.id, Upload.check_state.in_(undecided))
        .values(check_state=state, label=label, checked_at=now, moderator_id=moderator_id)
        .execution_options(synchronize_session=False))).rowcount
    if not claimed:
        db.session.rollback()
        db.session.refresh(upload)
        return False
    event_id = _event_of(upload.id)
    if state == "risky":
        notify([upload.owner_id], "photo_rejected", upload_id=upload.id,
               event_id=event_id, label=label, by="admin" if moderator_id else "wechat")
    if moderator_id is not None:
        from app.grid.models import GridEvent

        audit.record(moderator_id, "photo.release" if state == "pass" else "photo.reject", upload,
                     org_id=db.session.scalar(select(GridEvent.community_id).where(GridEvent.id == event_id)),
                     before={"check_state": previous}, after={"check_state": state})
    db.session.commit()
    db.session.refresh(upload)
    if state == "risky":
        get_storage().delete(upload.storage_key)  # after the commit: never a shown photo without bytes
    return True


def _event_of(upload_id: int) -> int | None:
    from app.grid.models import EventPhoto

    return db.session.scalar(select(EventPhoto.event_id).where(EventPhoto.upload_id == upload_id))
