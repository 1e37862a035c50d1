"""Service centers: their settings, posters, code keys, and what their screens show."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.checkin import codes
from app.checkin.errors import StaticModeRequired
from app.checkin.models import CheckinDailyCount, ServiceCenter
from app.common import code_images, signed_codes
from app.common.db import utcnow
from app.common.geo import Point, to_gcj02
from app.common.near import nearest_page
from app.common.pagination import Page, keyset_page
from app.errors import NotFound
from app.extensions import db
from app.orgs.models import OrgNode
from app.orgs.services import visible_node

# ---- centers ----------------------------------------------------------------

CENTER_FIELDS = ("name", "address", "radius_m", "timezone", "opening_hours", "closed_days",
                 "code_mode", "rotation_seconds", "grace_seconds", "duplicate_window_seconds")


def _apply(center: ServiceCenter, fields: dict) -> None:
    for key in CENTER_FIELDS:
        if key in fields:
            setattr(center, key, fields[key])
    if "location" in fields:
        point = to_gcj02(fields["location"])
        center.lat, center.lng = point.lat, point.lng


def create_center(actor: User, org_id: int, fields: dict) -> ServiceCenter:
    """Create a center owned by ``org_id`` (the actor manages that org)."""
    org = visible_node(actor, org_id, "center.manage")
    center = ServiceCenter(org_id=org.id, code_key=signed_codes.new_key(), key_version=1)
    _apply(center, fields)
    db.session.add(center)
    db.session.flush()
    audit.record(actor, "center.create", center, org_id=org.id, after=audit.state(center))
    db.session.commit()
    _warm_poster(center)
    return center


def _warm_poster(center: ServiceCenter) -> None:
    """A static center's poster code, made ahead (QR_KIND=wxacode) so printing costs no WeChat call."""
    if code_images.wxacode_mode() and center.code_mode == "static":
        code_images.warm_later(codes.poster_token, center)


def get_center(center_id: int) -> ServiceCenter:
    center = db.session.get(ServiceCenter, center_id)
    if center is None or center.deleted_at is not None:
        raise NotFound()
    return center


def managed_center(actor: User, center_id: int, action: str = "center.manage") -> ServiceCenter:
    center = get_center(center_id)
    authorize(actor, action, center.org)
    return center


def update_center(actor: User, center_id: int, fields: dict) -> ServiceCenter:
    center = managed_center(actor, center_id)
    before = audit.state(center)
    _apply(center, fields)
    db.session.flush()
    audit.record_change(actor, "center.update", center, before, org_id=center.org_id)
    db.session.commit()
    codes.forget_center(center.id)
    _warm_poster(center)
    return center


def delete_center(actor: User, center_id: int) -> None:
    """Retire a center: its codes stop working; its history stays."""
    center = managed_center(actor, center_id)
    center.deleted_at = utcnow()
    audit.record(actor, "center.delete", center, org_id=center.org_id, before={"deleted_at": None},
                 after=audit.snapshot(center, "deleted_at"))
    db.session.commit()
    codes.forget_center(center.id)



def poster(actor: User, center_id: int) -> tuple[ServiceCenter, str]:
    """The center and the token of its printable (static) code."""
    center = managed_center(actor, center_id, "center.operate")
    if center.code_mode != "static":
        raise StaticModeRequired()
    return center, codes.poster_token(center)


def rotate_key(actor: User, center_id: int) -> ServiceCenter:
    """A new code key: every printed poster and shown code of the center dies."""
    center = managed_center(actor, center_id)
    before = audit.snapshot(center, "key_version")
    center.code_key = signed_codes.new_key()
    center.key_version = center.key_version % 65535 + 1
    audit.record(actor, "center.rotate_key", center, org_id=center.org_id, before=before,
                 after=audit.snapshot(center, "key_version"))
    db.session.commit()
    codes.forget_center(center.id)
    _warm_poster(center)
    return center


def list_centers(*, org_id: int | None, near: Point | None, radius_m: float, limit: int,
                 cursor: str | None) -> Page:
    """Centers are public places: any user may list them, under an org or near a
    point (nearest first, keyset-paged by distance, each with ``distance_m``)."""
    stmt = select(ServiceCenter).where(ServiceCenter.deleted_at.is_(None))
    if org_id is not None:
        org = db.session.get(OrgNode, org_id)
        if org is None:
            raise NotFound()
        stmt = stmt.join(ServiceCenter.org).where(subtree_clause(OrgNode.path, org.path))
    if near is None:
        return keyset_page(stmt, (ServiceCenter.id,), limit, cursor)
    return nearest_page(stmt, ServiceCenter.lat, ServiceCenter.lng, ServiceCenter.id, near, radius_m,
                        limit, cursor)


@dataclass
class DisplayState:
    center: ServiceCenter
    code: codes.DisplayCode
    server_time: dt.datetime
    today_count: int
    qr_svg: str | None = None  # the display-code answer's image of ``code``


def display_state(center: ServiceCenter) -> DisplayState:
    """What the center's screen shows now: the code, the name, today's count."""
    now = utcnow()
    return DisplayState(center, codes.current_code(center, now), now,
                        _count_on(center, local_time(center, now).date()))


def _count_on(center: ServiceCenter, day: dt.date) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(CheckinDailyCount.count), 0)).where(
        CheckinDailyCount.center_id == center.id, CheckinDailyCount.day == day)) or 0


def local_time(center: ServiceCenter | codes.CenterSnapshot, at: dt.datetime) -> dt.datetime:
    """``at`` on the center's own clock (its opening hours and days are local)."""
    return at.astimezone(ZoneInfo(center.timezone))
