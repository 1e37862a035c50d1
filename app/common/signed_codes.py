"""Compact signed codes: check-in codes, posters, plates, task codes (QR images)
and the expiring links WeChat fetches photos by.

A token is ``base64url(payload || mac)`` where the 12-byte payload is
``version, kind, subject id, key version, time step`` and the mac is the
first 12 bytes of HMAC-SHA256 over the payload with the subject's own key.
32 characters: small enough for a low-density QR that phones read at a
distance. The ``kind`` byte keeps one sort of code from passing as another.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

VERSION = 1
_PAYLOAD = struct.Struct(">BBIHI")
_MAC_BYTES = 12
TOKEN_BYTES = _PAYLOAD.size + _MAC_BYTES

# One byte per sort of code.
KINDS = {
    "center_rotating": ord("R"),
    "center_static": ord("S"),
    "post_plate": ord("P"),
    "merchant_plate": ord("M"),
    "task": ord("T"),
    # a link to an upload's bytes for WeChat's media check; the step is its expiry (Unix s)
    "media": ord("U"),
}
_KIND_NAMES = {value: name for name, value in KINDS.items()}


class MalformedCode(ValueError):
    """Not a token of ours at all (wrong length, alphabet, version or kind)."""


@dataclass(frozen=True)
class SignedCode:
    kind: str
    subject_id: int
    key_version: int
    step: int
    payload: bytes
    mac: bytes

    def verify(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.payload))


def new_key() -> str:
    """A fresh random HMAC key for one subject (center, post, plate, task)."""
    return secrets.token_urlsafe(32)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(kind: str, subject_id: int, key_version: int, step: int, key: bytes) -> str:
    payload = _PAYLOAD.pack(VERSION, KINDS[kind], subject_id, key_version, step)
    return base64.urlsafe_b64encode(payload + _mac(key, payload)).decode().rstrip("=")


def parse(token: str) -> SignedCode:
    """Split a token without trusting it; call :meth:`SignedCode.verify` next."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise MalformedCode("not base64url") from None
    if len(raw) != TOKEN_BYTES:
        raise MalformedCode("wrong length")
    version, kind, subject_id, key_version, step = _PAYLOAD.unpack(raw[:_PAYLOAD.size])
    if version != VERSION or kind not in _KIND_NAMES:
        raise MalformedCode("unknown version or kind")
    return SignedCode(_KIND_NAMES[kind], subject_id, key_version, step, raw[:_PAYLOAD.size],
                      raw[_PAYLOAD.size:])


def token_from_qr_text(text: str, base_url: str) -> str:
    """The token inside ``https://<host>/q/<token>`` (or a bare token).

    Raises :class:`MalformedCode` for a URL that is not ours.
    """
    text = text.strip()
    if "://" not in text:
        return text
    prefix = base_url.rstrip("/") + "/q/"
    if not text.startswith(prefix):
        raise MalformedCode("not one of our URLs")
    return text[len(prefix):].split("?", 1)[0].split("#", 1)[0]


def qr_text(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/q/{token}"
