"""The codes printed on post and merchant plates, and reading a scanned one back.

A plate is a static signed code (the shared signed-code mechanism, with its
own kind byte, so a badge is never a plate and a plate never a badge).
"""
from __future__ import annotations

from flask import current_app

from app.badges import keys
from app.badges.errors import BadgeNotPlate, InvalidPlateCode
from app.badges.models import MerchantPlate, ServicePost
from app.common import signed_codes
from app.common.rows import get_row


def post_plate_token(post: ServicePost) -> str:
    """The code a post's plate carries, as a bare token."""
    return signed_codes.sign("post_plate", post.id, post.key_version, 0, post.code_key.encode())


def merchant_plate_token(plate: MerchantPlate) -> str:
    """The code a merchant plate carries, as a bare token."""
    return signed_codes.sign("merchant_plate", plate.id, 1, 0, plate.code_key.encode())


def parse_plate(code: str) -> signed_codes.SignedCode:
    """A scanned text as a plate code; a badge or anything else is refused with why."""
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


def verified_post(parsed: signed_codes.SignedCode) -> ServicePost:
    """The post a code names, if it stands and the code is signed under its current key."""
    post = get_row(ServicePost, parsed.subject_id)
    if post is None or post.deleted_at is not None or parsed.key_version != post.key_version \
            or not parsed.verify(post.code_key.encode()):
        raise InvalidPlateCode({"why": "bad_signature"})
    return post


def verified_plate(parsed: signed_codes.SignedCode) -> MerchantPlate:
    """The merchant plate a code names, if it was ever approved and the code is its own."""
    plate = get_row(MerchantPlate, parsed.subject_id)
    if plate is None or plate.state not in ("approved", "revoked") or not parsed.verify(plate.code_key.encode()):
        raise InvalidPlateCode({"why": "bad_signature"})
    return plate


def verified_subject(parsed: signed_codes.SignedCode) -> ServicePost | MerchantPlate:
    """The post or merchant plate a parsed code names (see :func:`parse_plate`)."""
    return verified_post(parsed) if parsed.kind == "post_plate" else verified_plate(parsed)
