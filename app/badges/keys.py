"""Badge signing keys (Ed25519) and the badge token.

A badge token is ``PB1.<payload>.<signature>`` (base64url, no padding). The
payload is compact JSON: ``k`` key id, ``r`` the identity's badge reference
(random, not its id), ``n`` masked name, ``b`` branch name, ``m`` member
status, ``y`` the year the member joined, ``i`` issued at and ``e`` expires at
(Unix seconds): what a verifier needs, and no more (no internal id, no date
of birth or joining that would help find the person). The signature is Ed25519
over the ASCII bytes ``PB1.<payload>``. Anyone holding the published public
keys (``GET /api/v1/badges/keys``) can check a badge offline; only the
server can also tell whether the identity was revoked since it was issued.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.badges.models import BadgeKey
from app.common.db import UTC, utcnow
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity
from app.members.services import IdentityInactive

PREFIX = "PB1"
PUBLISHED = ("current", "previous")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fernet() -> Fernet:
    secret = current_app.config.get("BADGE_KEY") or current_app.config["SECRET_KEY"]
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"badge-signing-keys").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _new_key(state: str) -> BadgeKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    return BadgeKey(kid=secrets.token_hex(4), state=state,
                    public_key=private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                 serialization.PublicFormat.Raw),
                    private_key_encrypted=_fernet().encrypt(raw_private).decode())


def current_key() -> BadgeKey:
    """The signing key, created on first use (the partial unique index on
    ``state = 'current'`` settles a race between two first uses)."""
    key = db.session.scalar(select(BadgeKey).where(BadgeKey.state == "current"))
    if key is not None:
        return key
    db.session.add(_new_key("current"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    return db.session.scalars(select(BadgeKey).where(BadgeKey.state == "current")).one()


def rotate() -> BadgeKey:
    """A new current key, added to the session (the caller records and commits);
    the old current one stays published as ``previous`` (its badges verify until
    they expire), the older previous one retires."""
    now = utcnow()
    for key in db.session.scalars(select(BadgeKey).where(BadgeKey.state.in_(PUBLISHED))):
        if key.state == "previous":
            key.state, key.retired_at = "retired", now
        else:
            key.state = "previous"
    db.session.flush()
    key = _new_key("current")
    db.session.add(key)
    return key


def published_keys() -> list[BadgeKey]:
    current_key()
    return list(db.session.scalars(select(BadgeKey).where(BadgeKey.state.in_(PUBLISHED))
                                   .order_by(BadgeKey.id.desc())))


def jwk(key: BadgeKey) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": key.kid,
            "x": _b64(key.public_key), "status": key.state}


def sign_badge(identity: MemberIdentity, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A short-lived badge token for an active identity, and when it expires."""
    key = current_key()
    ttl = current_app.config["BADGE_TTL"]
    expires = int((now + dt.timedelta(seconds=ttl)).timestamp())
    entry = identity.roster_entry
    if entry is None:  # a closed identity has let go of its entry: it is not active
        raise IdentityInactive({"status": identity.status})
    payload = {"k": key.kid, "r": identity.badge_ref, "n": phones.mask_name(entry.name),
               "b": identity.branch.name, "m": entry.member_status, "y": entry.join_date.year,
               "i": int(now.timestamp()), "e": expires}
    signed = f"{PREFIX}.{_b64(json.dumps(payload, ensure_ascii=False, separators=(',', ':')).encode())}"
    private = Ed25519PrivateKey.from_private_bytes(_fernet().decrypt(key.private_key_encrypted.encode()))
    return f"{signed}.{_b64(private.sign(signed.encode()))}", dt.datetime.fromtimestamp(expires, UTC)


@dataclass(frozen=True)
class BadgeCheck:
    valid: bool
    reason: str | None
    payload: dict | None = None


def check_signature(token: str, now: dt.datetime) -> BadgeCheck:
    """Everything an offline verifier can check: format, key, signature, expiry."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return BadgeCheck(False, "not_a_badge")
    try:
        payload = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
        kid = payload["k"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return BadgeCheck(False, "malformed")
    key = db.session.scalar(select(BadgeKey).where(BadgeKey.kid == str(kid),
                                                   BadgeKey.state.in_(PUBLISHED)))
    if key is None:
        return BadgeCheck(False, "unknown_key")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(
            signature, f"{parts[0]}.{parts[1]}".encode())
    except (InvalidSignature, ValueError):
        return BadgeCheck(False, "bad_signature")
    if not isinstance(payload.get("e"), int) or not isinstance(payload.get("r"), str):
        return BadgeCheck(False, "malformed")
    if now.timestamp() >= payload["e"]:
        return BadgeCheck(False, "expired", payload)
    return BadgeCheck(True, None, payload)
