"""A center's QR codes: rotating codes for its screen, a static one for posters.

A rotating code is signed for one time step of ``rotation_seconds``. It is
shown during its step and still accepted for ``grace_seconds`` after it, so
that a scan started just before the screen changed still counts, while a
photo sent to a friend at home is dead within a minute. Rotating the
center's key (a new key version) invalidates every code and poster at once.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, fields

from flask import current_app

from app.checkin.models import ServiceCenter
from app.common import signed_codes
from app.common.rotating import Rotation
from app.common.schemas import MAX_ID
from app.errors import BadRequest
from app.extensions import db


class CheckinRejected(Exception):
    """A mixin for the errors of a scan that does not count; its ``code`` is
    recorded as the attempt's reason (the status comes from the other base)."""

    code: str
    details: dict
    center: CenterSnapshot | None = None


class InvalidCode(CheckinRejected, BadRequest):
    code = "invalid_code"
    zh = "无法识别的签到码（{why_zh}），请扫描服务中心现场的二维码。"
    en = "This is not a valid check-in code ({why}); scan the code shown at the center."


class ExpiredCode(CheckinRejected, BadRequest):
    code = "expired_code"
    zh = "签到码已过期，请扫描屏幕上最新的二维码。"
    en = "This check-in code has expired; scan the current code on the screen."


WHY_ZH = {
    "not_our_code": "不是本系统的二维码",
    "malformed": "二维码内容不完整",
    "not_a_checkin_code": "不是签到码",
    "unknown_center": "服务中心不存在或已停用",
    "key_rotated": "二维码已作废",
    "bad_signature": "签名校验失败",
    "mode_changed": "该中心已更换签到方式",
    "not_yet_valid": "二维码尚未生效",
}


def invalid(why: str) -> InvalidCode:
    return InvalidCode({"why": why, "why_zh": WHY_ZH[why]})


def _base_url() -> str:
    return current_app.config["QR_BASE_URL"]


@dataclass(frozen=True)
class DisplayCode:
    qr_text: str
    step: int
    expires_at: dt.datetime | None  # when scans of it stop being accepted
    refresh_in: float | None  # seconds until the next code is available


def rotation(center: ServiceCenter | CenterSnapshot) -> Rotation:
    """The timing of a center's rotating codes (its own settings)."""
    return Rotation(center.rotation_seconds, center.grace_seconds)


def current_code(center: ServiceCenter, now: dt.datetime) -> DisplayCode:
    """The code a center's screen (or poster) shows at ``now``."""
    key = center.code_key.encode()
    if center.code_mode == "static":
        token = signed_codes.sign("center_static", center.id, center.key_version, 0, key)
        return DisplayCode(signed_codes.qr_text(token, _base_url()), 0, None, None)
    shown = rotation(center).show("center_rotating", center.id, center.key_version, key, now)
    return DisplayCode(qr_text=signed_codes.qr_text(shown.token, _base_url()), step=shown.step,
                       expires_at=shown.expires_at, refresh_in=shown.refresh_in)


def poster_token(center: ServiceCenter) -> str:
    """The static code printed on a poster (static centers only), as a bare token."""
    return signed_codes.sign("center_static", center.id, center.key_version, 0, center.code_key.encode())


def poster_code(center: ServiceCenter) -> str:
    """The static code printed on a poster, as the URL a QR code carries."""
    return signed_codes.qr_text(poster_token(center), _base_url())


@dataclass(frozen=True)
class CenterSnapshot:
    """What a scan is judged by: a center's settings, copied out of the session
    so that it can be kept between requests."""

    id: int
    org_id: int
    lat: float
    lng: float
    radius_m: int
    timezone: str
    opening_hours: dict
    closed_days: list
    code_mode: str
    rotation_seconds: int
    grace_seconds: int
    duplicate_window_seconds: int | None
    code_key: str
    key_version: int

    @classmethod
    def of(cls, center: ServiceCenter) -> CenterSnapshot:
        return cls(**{f.name: getattr(center, f.name) for f in fields(cls)})


def _cache() -> dict:
    return current_app.extensions.setdefault("center_cache", {})


def forget_center(center_id: int) -> None:
    """Drop this process's copy after a change (other processes' copies expire)."""
    _cache().pop(center_id, None)


def _cached(center_id: int) -> CenterSnapshot | None:
    """This process's copy of the center, if it is at most ``CENTER_CACHE_SECONDS`` old."""
    if current_app.config["CENTER_CACHE_SECONDS"] <= 0:
        return None
    hit = _cache().get(center_id)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def _load(center_id: int) -> CenterSnapshot | None:
    """The center from the database (None when unknown or deleted), kept as this process's copy."""
    ttl = current_app.config["CENTER_CACHE_SECONDS"]
    cache = _cache()
    center = db.session.get(ServiceCenter, center_id, populate_existing=True) if center_id <= MAX_ID else None
    if center is None or center.deleted_at is not None:
        cache.pop(center_id, None)
        return None
    snapshot = CenterSnapshot.of(center)
    if ttl > 0:
        cache[center_id] = (time.monotonic() + ttl, snapshot)
    return snapshot


def center_for_code(text: str, at: dt.datetime, fresh: bool = True) -> CenterSnapshot:
    """The center a scanned code belongs to, if the code is valid at ``at``
    (judged by a cached copy of the center unless ``fresh``).

    A cached copy may say yes (the check-in's statement re-checks it) but never
    no: a code it refuses is judged again by the database, so that a code made
    after the copy (a new key version or mode, set on another worker) works at
    once.

    Raises :class:`InvalidCode` (with ``details.why``) or :class:`ExpiredCode`.
    """
    try:
        code = signed_codes.parse(signed_codes.token_from_qr_text(text, _base_url()))
    except signed_codes.MalformedCode as error:
        raise invalid("not_our_code" if "URL" in str(error) else "malformed") from None
    if code.kind not in ("center_rotating", "center_static"):
        raise invalid("not_a_checkin_code")
    cached = None if fresh else _cached(code.subject_id)
    if cached is not None:
        try:
            return _judge(code, at, cached)
        except CheckinRejected:
            pass  # the copy may be older than the code: ask the database
    return _judge(code, at, _load(code.subject_id))  # a forged id beyond INTEGER is simply unknown


def _judge(code: signed_codes.SignedCode, at: dt.datetime, center: CenterSnapshot | None) -> CenterSnapshot:
    if center is None:
        raise invalid("unknown_center")
    if code.key_version != center.key_version:
        raise invalid("key_rotated")
    if not code.verify(center.code_key.encode()):
        raise invalid("bad_signature")
    # From here on the code is genuinely this center's: a rejection names it,
    # so that the attempt shows in the center's record.
    if code.kind != f"center_{center.code_mode}":
        raise _at_center(invalid("mode_changed"), center)
    if code.kind == "center_rotating":
        if rotation(center).too_early(code.step, at, current_app.config["CHECKIN_CLOCK_SKEW"]):
            raise _at_center(invalid("not_yet_valid"), center)
        if rotation(center).expired(code.step, at):
            raise _at_center(ExpiredCode(), center)
    return center


def _at_center(error: CheckinRejected, center: CenterSnapshot) -> CheckinRejected:
    error.center = center
    return error
