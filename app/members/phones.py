"""Phone numbers at rest: encrypted (Fernet) with a keyed hash for look-up.

Both keys are derived from ``PHONE_KEY`` (falling back to ``SECRET_KEY``
outside production) with HKDF, so one secret serves and neither key is the
secret itself. Responses only ever carry :func:`mask`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize(raw: str) -> str | None:
    """A mainland mobile number as 11 digits, or None if it is not one."""
    digits = re.sub(r"[\s\-()]", "", str(raw or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MAINLAND_MOBILE.match(digits) else None


def _derive(purpose: bytes) -> bytes:
    secret = current_app.config.get("PHONE_KEY") or current_app.config["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


def _keys() -> tuple[Fernet, bytes]:
    cache = current_app.extensions.get("phone_keys")
    if cache is None:
        cache = (Fernet(base64.urlsafe_b64encode(_derive(b"phone-encryption"))), _derive(b"phone-lookup"))
        current_app.extensions["phone_keys"] = cache
    return cache


def encrypt(phone: str) -> str:
    return _keys()[0].encrypt(phone.encode()).decode()


def decrypt(token: str) -> str:
    return _keys()[0].decrypt(token.encode()).decode()


def lookup_hash(phone: str) -> str:
    return hmac.new(_keys()[1], phone.encode(), hashlib.sha256).hexdigest()


def mask(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str) -> str:
    """``陈小文`` -> ``陈*文``; ``王五`` -> ``王*``."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
