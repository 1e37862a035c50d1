"""The signed codes printed on post and merchant plates, and reading one back."""
from __future__ import annotations

from flask import current_app

from app.badges import keys
from app.badges.errors import BadgeNotPlate, InvalidPlateCode
from app.badges.models import MerchantPlate, ServicePost
from app.common import signed_codes
from app.extensions import db
from app.orgs.models import MAX_ID


def _get(model, row_id: int):
    """The row, or None; also for an id no row can have (ids from a request
    body or a scanned code can exceed PostgreSQL's 32-bit integer)."""
    return db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None


def post_plate_token(post: ServicePost) -> str:
    """The code a post's plate carries, as a bare token."""
    return signed_codes.sign("post_plate", post.id, post.key_version, 0, post.code_key.encode())


def merchant_plate_token(plate: MerchantPlate) -> str:
    """The code a merchant plate carries, as a bare token."""
    return signed_codes.sign("merchant_plate", plate.id, 1, 0, plate.code_key.encode())


def _parse_plate(code: str) -> signed_codes.SignedCode:
    text = code.strip()
    base = current_app.config["QR_BASE_URL"]
    if text.startswith((base + "/b/", keys.PREFIX + ".")):
        raise BadgeNotPlate({"why": "badge"})
    try:
        parsed = signed_codes.parse(signed_codes.token_from_qr_text(text, base))
    except signed_codes.MalformedCode:
        raise InvalidPlateCode({"why": "malformed"}) from None
    if parsed.kind not in ("post_plate", "merchant_plate"):
        raise InvalidPlateCode({"why": "not_a_plate"})
    return parsed


def _verified_subject(parsed: signed_codes.SignedCode):
    if parsed.kind == "post_plate":
        subject = _get(ServicePost, parsed.subject_id)
        alive = subject is not None and subject.deleted_at is None and \
            parsed.key_version == subject.key_version
    else:
        subject = _get(MerchantPlate, parsed.subject_id)
        alive = subject is not None and subject.state in ("approved", "revoked")
    if not alive or not parsed.verify(subject.code_key.encode()):
        raise InvalidPlateCode({"why": "bad_signature"})
    return subject
