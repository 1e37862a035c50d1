"""The display devices (tablets) allowed to show a center's rotating code."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from app.audit import log as audit
from app.auth.models import User
from app.checkin.centers import get_center, managed_center
from app.checkin.errors import InvalidDeviceToken
from app.checkin.models import DisplayDevice, ServiceCenter
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.errors import NotFound
from app.extensions import db

# ---- display devices ------------------------------------------------------------

def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_device(actor: User, center_id: int, name: str) -> tuple[DisplayDevice, str]:
    """A token for a center's screen; shown once, stored only as a hash."""
    center = managed_center(actor, center_id, "center.operate")
    token = "dev_" + secrets.token_urlsafe(32)
    device = DisplayDevice(center_id=center.id, name=name, token_hash=hash_device_token(token),
                           created_by_id=actor.id)
    db.session.add(device)
    audit.record(actor, "display_device.create", device, org_id=center.org_id,
                 after={"center_id": center.id, "name": name})
    db.session.commit()
    return device, token


def list_devices(actor: User, center_id: int, limit: int, cursor: str | None) -> Page:
    """The center's screens, oldest first (revoked ones too, so the console shows them)."""
    center = managed_center(actor, center_id, "center.operate")
    stmt = select(DisplayDevice).where(DisplayDevice.center_id == center.id)
    return keyset_page(stmt, (DisplayDevice.id,), limit, cursor)


def revoke_device(actor: User, center_id: int, device_id: int) -> None:
    center = managed_center(actor, center_id, "center.operate")
    device = db.session.get(DisplayDevice, device_id)
    if device is None or device.center_id != center.id:
        raise NotFound()
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit.record(actor, "display_device.revoke", device, org_id=center.org_id, before={"revoked_at": None},
                     after=audit.snapshot(device, "revoked_at"))
    db.session.commit()


def center_for_device(center_id: int, token: str) -> ServiceCenter:
    device = db.session.scalar(select(DisplayDevice).where(
        DisplayDevice.token_hash == hash_device_token(token)))
    if device is None or device.revoked_at is not None or device.center_id != center_id:
        raise InvalidDeviceToken()
    return get_center(center_id)
