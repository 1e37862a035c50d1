"""Phone numbers at rest: encrypted (Fernet) with a keyed hash for look-up.

Both keys are derived from ``PHONE_KEY`` (falling back to ``SECRET_KEY``
outside production) with HKDF, so one secret serves and neither key is the
secret itself. Responses only ever carry :func:`mask`.

Keys have versions, so that a leaked or old key can be replaced: set the new
secret as ``PHONE_KEY`` with ``PHONE_KEY_VERSION`` one higher, move the old
one to ``PHONE_KEYS_OLD`` (``1:<secret>``), deploy, and run ``flask keys
rotate-phones``, which re-encrypts and rehashes every stored phone under the
new key. Until it has, phones under the old key are still read (the
ciphertext names its version) and found (:func:`lookup_hashes`); afterwards
the old key can go.
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


class PhoneKeyMissing(RuntimeError):
    """A stored phone was encrypted under a key version the configuration no
    longer has (``PHONE_KEYS_OLD``)."""


def _secrets() -> dict[int, str]:
    """Every configured phone key by version; the current one is
    ``PHONE_KEY_VERSION``. Outside production SECRET_KEY stands in as version 1."""
    config = current_app.config
    current = config.get("PHONE_KEY") or config["SECRET_KEY"]
    return {**config.get("PHONE_KEYS_OLD", {}), config.get("PHONE_KEY_VERSION", 1): current}


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


def _keys() -> dict[int, tuple[Fernet, bytes]]:
    """(encryption, look-up) keys per version, derived once per app."""
    cache = current_app.extensions.get("phone_keys")
    if cache is None:
        cache = {version: (Fernet(base64.urlsafe_b64encode(_derive(secret, b"phone-encryption"))),
                           _derive(secret, b"phone-lookup"))
                 for version, secret in _secrets().items()}
        current_app.extensions["phone_keys"] = cache
    return cache


def current_version() -> int:
    return current_app.config.get("PHONE_KEY_VERSION", 1)


def version_of(token: str) -> int:
    """The key version a stored phone is encrypted under: ``v<n>:`` in front,
    or none (what was written before key versions) for version 1."""
    prefix, sep, _ = token.partition(":")
    return int(prefix[1:]) if sep and prefix[:1] == "v" and prefix[1:].isdigit() else 1


def encrypt(phone: str) -> str:
    version = current_version()
    return f"v{version}:" + _keys()[version][0].encrypt(phone.encode()).decode()


def decrypt(token: str) -> str:
    version = version_of(token)
    keys = _keys().get(version)
    if keys is None:
        raise PhoneKeyMissing(f"phone key version {version} is not configured (PHONE_KEYS_OLD)")
    return keys[0].decrypt(token.partition(":")[2].encode() if ":" in token else token.encode()).decode()


def lookup_hash(phone: str) -> str:
    """The keyed hash stored with a phone, under the current key."""
    return hmac.new(_keys()[current_version()][1], phone.encode(), hashlib.sha256).hexdigest()


def lookup_hashes(phone: str) -> list[str]:
    """The phone's hash under every configured key, the current first: what a
    look-up must match while ``flask keys rotate-phones`` has not yet rehashed
    every row."""
    current = current_version()
    return [lookup_hash(phone)] + [hmac.new(lookup_key, phone.encode(), hashlib.sha256).hexdigest()
                                   for version, (_, lookup_key) in _keys().items() if version != current]


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
