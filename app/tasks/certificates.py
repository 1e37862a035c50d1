"""Certificates of volunteer service (志愿服务证明).

A volunteer asks for one for a period, optionally for one organization's
services; the certificate freezes what it certifies (the volunteer's name,
each service from the hours ledger's frozen records, the total) and gets a
serial. Its PDF carries a QR of the verification URL: the serial and a
signature over it, so serials cannot be guessed and walked. Anyone may
verify; the issuing organization's admins may revoke, and a revoked
certificate verifies as revoked.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
from decimal import Decimal
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, select

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.common import poster_font, qr
from app.common.db import LOCAL_TZ, utcnow
from app.common.pagination import Page, keyset_page
from app.common.work import unit_of_work
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.phones import mask_name
from app.members.services import identity_of
from app.orgs.models import OrgNode
from app.tasks.models import HoursEntry, Volunteer, VolunteerCertificate

MAX_PERIOD_DAYS = 366 * 5


class NoServiceInPeriod(ValidationFailed):
    code = "no_service_in_period"
    zh = "所选期间内没有已确认的志愿服务记录。"
    en = "There is no confirmed volunteer service in this period."


class NameRequired(Conflict):
    code = "name_required"
    zh = "请先在志愿者登记中填写姓名，证明上需要写明您的姓名。"
    en = "Add your name to your volunteer registration first: a certificate names its holder."


class CertificateRevoked(Conflict):
    code = "certificate_revoked"
    zh = "该证明已被撤销。"
    en = "This certificate has been revoked."


# ---- issuing -------------------------------------------------------------------

def holder_name(user: User) -> str | None:
    """A member's name from the roster, else the one given at volunteer registration."""
    identity = identity_of(user.id)
    if identity is not None and identity.roster_entry is not None:
        return identity.roster_entry.name
    return db.session.scalar(select(Volunteer.name).where(Volunteer.user_id == user.id))


def issue(user: User, day_from: dt.date, day_to: dt.date, org_id: int | None) -> VolunteerCertificate:
    """Certify the user's confirmed services that started within the period
    (local days, both included), in ``org_id``'s subtree if given."""
    if day_to < day_from:
        raise ValidationFailed({"fields": {"to": ["不能早于开始日期。"]}})
    if (day_to - day_from).days > MAX_PERIOD_DAYS:
        raise ValidationFailed({"fields": {"to": ["期间不能超过五年。"]}})
    org = db.session.get(OrgNode, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        raise NotFound()
    name = holder_name(user)
    if not name:
        raise NameRequired()
    services = _services(user.id, day_from, day_to, org)
    if not services:
        raise NoServiceInPeriod()
    paths = [service.pop("community_path") for service in services]
    issuer = org or _common_ancestor(paths)
    certificate = VolunteerCertificate(
        serial=_new_serial(), user_id=user.id, issuer_id=issuer.id, holder_name=name,
        period_from=day_from, period_to=day_to, services=services,
        total_hours=sum((Decimal(s["hours"]) for s in services), Decimal(0)))
    db.session.add(certificate)
    db.session.commit()
    return certificate


def _services(user_id: int, day_from: dt.date, day_to: dt.date, org: OrgNode | None) -> list[dict]:
    """One line per participation: its frozen record and its hours (credit
    plus corrections), in the order they took place; none with zero hours."""
    start = dt.datetime.combine(day_from, dt.time(), LOCAL_TZ)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
    credit = HoursEntry.kind == "credit"
    credits = (select(HoursEntry, OrgNode.path).join(OrgNode, OrgNode.id == HoursEntry.community_id)
               .where(HoursEntry.user_id == user_id, credit, HoursEntry.service_started_at >= start,
                      HoursEntry.service_started_at < end)
               .order_by(HoursEntry.service_started_at, HoursEntry.id))
    if org is not None:
        credits = credits.where(subtree_clause(OrgNode.path, org.path))
    rows = db.session.execute(credits).all()
    totals = dict(db.session.execute(
        select(HoursEntry.participation_id, func.sum(HoursEntry.hours))
        .where(HoursEntry.participation_id.in_([entry.participation_id for entry, _ in rows]))
        .group_by(HoursEntry.participation_id)).all()) if rows else {}
    return [{"service_name": entry.service_name, "organizer": entry.organizer, "place": entry.place,
             "started_at": _iso(entry.service_started_at), "ended_at": _iso(entry.service_ended_at),
             "hours": str(Decimal(totals[entry.participation_id]).quantize(Decimal("0.01"))),
             "confirmed_by": entry.confirmed_by, "community_path": path}
            for entry, path in rows if totals.get(entry.participation_id, 0) > 0]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _common_ancestor(paths: list[str]) -> OrgNode:
    """The lowest organization whose subtree holds every one of ``paths``."""
    parts = [path.strip("/").split("/") for path in paths]
    common = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return db.session.get_one(OrgNode, int(common[-1]))


def _new_serial() -> str:
    """``ZY2026-7KQ3M9XW2C``: the year, then 10 random base32 characters."""
    return f"ZY{utcnow().astimezone(LOCAL_TZ).year}-{base64.b32encode(secrets.token_bytes(10)).decode()[:10]}"


def my_certificates(user: User, limit: int, cursor: str | None) -> Page:
    return keyset_page(select(VolunteerCertificate).where(VolunteerCertificate.user_id == user.id),
                       (VolunteerCertificate.id,), limit, cursor, descending=True)


def own_certificate(user: User, serial: str) -> VolunteerCertificate:
    certificate = _by_serial(serial)
    if certificate is None or certificate.user_id != user.id:
        raise NotFound()
    return certificate


# ---- verifying and revoking ----------------------------------------------------

def signature(serial: str) -> str:
    key = hashlib.sha256(b"volunteer-certificate:" + current_app.config["SECRET_KEY"].encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, serial.encode(), hashlib.sha256).digest()[:12]).decode()


def verify_url(certificate: VolunteerCertificate) -> str:
    return f"{current_app.config['QR_BASE_URL']}/certificates/{certificate.serial}?sig={signature(certificate.serial)}"


def verify(serial: str, sig: str) -> VolunteerCertificate:
    """The certificate a verification URL names; a wrong signature is the
    same 404 as an unknown serial, so neither can be probed."""
    # as bytes: compare_digest refuses str with characters beyond ASCII
    if not hmac.compare_digest(signature(serial).encode(), (sig or "").encode()):
        raise NotFound()
    certificate = _by_serial(serial)
    if certificate is None:
        raise NotFound()
    return certificate


def public_view(certificate: VolunteerCertificate) -> dict:
    """What a verifier sees: enough to match the paper, the name masked."""
    return {"valid": certificate.revoked_at is None,
            "state": "revoked" if certificate.revoked_at else "valid",
            "serial": certificate.serial, "holder": mask_name(certificate.holder_name),
            "issuer": certificate.issuer.name, "period_from": certificate.period_from,
            "period_to": certificate.period_to, "total_hours": certificate.total_hours,
            "service_count": len(certificate.services), "issued_at": certificate.issued_at,
            "revoked_at": certificate.revoked_at}


def revoke(actor: User, serial: str, reason: str) -> VolunteerCertificate:
    """An admin of the issuing organization (or above) withdraws a certificate."""
    certificate = _by_serial(serial)
    if certificate is None:
        raise NotFound()
    authorize(actor, "tasks.manage", certificate.issuer)
    if certificate.revoked_at is not None:
        raise CertificateRevoked()
    with unit_of_work():
        claimed = cast(CursorResult[Any], db.session.execute(
            VolunteerCertificate.__table__.update()
            .where(VolunteerCertificate.id == certificate.id, VolunteerCertificate.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by_id=actor.id, revoke_reason=reason))).rowcount
        if not claimed:  # a concurrent revocation won
            raise CertificateRevoked()
        audit.record(actor, "certificate.revoke", certificate, org_id=certificate.issuer_id,
                     before={"revoked_at": None}, after={"reason": reason})
    db.session.refresh(certificate)
    return certificate


def _by_serial(serial: str) -> VolunteerCertificate | None:
    return db.session.scalar(select(VolunteerCertificate).where(VolunteerCertificate.serial == serial))


# ---- the PDF -------------------------------------------------------------------

def pdf(certificate: VolunteerCertificate) -> bytes:
    """The certificate on an A4 page: real text in a font that draws Chinese
    (embedded, subset), the services as a table, and the verification QR."""
    from fpdf import FPDF

    path, index = poster_font.require_font()  # 503 poster_font_missing, never boxes
    page = FPDF(format="A4", unit="mm")
    page.set_auto_page_break(auto=True, margin=20)
    page.add_font("cjk", fname=path, collection_font_number=index)
    page.add_page()
    page.set_title(f"志愿服务证明 {certificate.serial}")
    page.set_font("cjk", size=26)
    page.cell(0, 18, "志愿服务证明", align="C", new_x="LMARGIN", new_y="NEXT")
    page.set_font("cjk", size=10)
    page.cell(0, 6, f"编号：{certificate.serial}", align="R", new_x="LMARGIN", new_y="NEXT")
    page.ln(4)
    page.set_font("cjk", size=13)
    total = f"{certificate.total_hours.normalize():f}"
    page.multi_cell(0, 8, (
        f"兹证明 {certificate.holder_name} 于 {_day(certificate.period_from)} 至 {_day(certificate.period_to)} "
        f"期间参加志愿服务 {len(certificate.services)} 次，累计服务时长 {total} 小时。"
        "以上记录真实有效，特此证明。"), new_x="LMARGIN", new_y="NEXT")
    page.ln(4)
    page.set_font("cjk", size=9)
    from fpdf.fonts import FontFace

    with page.table(col_widths=(26, 50, 40, 52, 16), text_align=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT"),
                    line_height=6, headings_style=FontFace(emphasis="", fill_color=(240, 240, 240))) as table:
        table.row(("日期", "服务项目", "组织单位", "服务地点", "时长"))
        for service in certificate.services:
            started = dt.datetime.fromisoformat(service["started_at"]).astimezone(LOCAL_TZ)
            table.row((started.strftime("%Y-%m-%d"), service["service_name"], service["organizer"],
                       service["place"] or "—", service["hours"]))
    page.ln(8)
    page.set_font("cjk", size=12)
    page.cell(0, 8, f"出具单位：{certificate.issuer.name}", align="R", new_x="LMARGIN", new_y="NEXT")
    page.cell(0, 8, f"出具日期：{_day(certificate.issued_at.astimezone(LOCAL_TZ).date())}", align="R",
              new_x="LMARGIN", new_y="NEXT")
    page.ln(4)
    code_y = page.get_y()
    page.image(io.BytesIO(qr.png(verify_url(certificate), box_size=8)), x=page.l_margin, y=code_y, w=32, h=32)
    page.set_xy(page.l_margin + 36, code_y + 8)
    page.set_font("cjk", size=9)
    page.multi_cell(0, 5, "扫描二维码在线核验本证明的真伪与状态。\n记录依据《志愿服务记录与证明出具办法》。")
    return bytes(page.output())


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
