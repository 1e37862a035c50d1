"""Certificates of volunteer service: issue, list, PDF, verify, revoke."""
from __future__ import annotations

from flask import Blueprint as PageBlueprint
from flask import render_template, request, url_for

from app.auth.current import current_user, login_required
from app.common import headers, qr
from app.common.blueprint import Blueprint
from app.common.db import LOCAL_TZ
from app.errors import Forbidden, NotFound, ValidationFailed
from app.tasks import certificates
from app.tasks.certificate_schemas import (
    CertificateListArgsSchema,
    CertificatePageSchema,
    CertificateRequestSchema,
    CertificateSchema,
    CertificateVerificationSchema,
    RevokeSchema,
    VerifyArgsSchema,
)

blp = Blueprint("certificates", __name__, description="Certificates of volunteer service (志愿服务证明)")
PDF = {"200": {"description": "The certificate, A4", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}


def _with_links(certificate):
    certificate.verify_url = certificates.verify_url(certificate)
    certificate.pdf_url = url_for("certificates.certificate_pdf", serial=certificate.serial)
    return certificate


@blp.route("/me/volunteer-certificate", methods=["POST"])
@login_required
@blp.arguments(CertificateRequestSchema)
@blp.response(201, CertificateSchema)
@blp.errors(certificates.NoServiceInPeriod, certificates.NameRequired, NotFound, ValidationFailed)
def issue_certificate(body):
    """Ask for a certificate of your volunteer service in a period (optionally
    one organization's): it lists each confirmed service and the total hours,
    gets a serial and a QR anyone can scan to verify it."""
    certificate = certificates.issue(current_user(), body["from_"], body["to"], body["org_id"])
    return _with_links(certificate), 201, {"Location": url_for(
        "certificates.certificate_pdf", serial=certificate.serial)}


@blp.route("/me/volunteer-certificates", methods=["GET"])
@login_required
@blp.arguments(CertificateListArgsSchema, location="query")
@blp.response(200, CertificatePageSchema)
@blp.errors(ValidationFailed)
def my_certificates(args):
    """The certificates you were issued, newest first."""
    page = certificates.my_certificates(current_user(), args["limit"], args["cursor"])
    for certificate in page.items:
        _with_links(certificate)
    return page


@blp.route("/me/volunteer-certificates/<serial>.pdf", methods=["GET"])
@login_required
@blp.doc(responses=PDF)
@blp.errors(NotFound)
def certificate_pdf(serial):
    """Your certificate as a PDF (A4, Chinese text, the verification QR)."""
    certificate = certificates.own_certificate(current_user(), serial)
    return qr.pdf_response(certificates.pdf(certificate), f"{certificate.serial}.pdf")


@blp.route("/certificates/<serial>/verify", methods=["GET"])
@blp.arguments(VerifyArgsSchema, location="query")
@blp.response(200, CertificateVerificationSchema)
@blp.doc(security=[])
@blp.errors(NotFound, ValidationFailed, auth=False)
def verify_certificate(args, serial):
    """Verify a certificate from its QR (serial and signature): who it was
    issued to (name masked), by whom, for how many hours, and whether it
    still stands. An unknown serial or a wrong signature is 404."""
    return certificates.public_view(certificates.verify(serial, args["sig"]))


@blp.route("/certificates/<serial>/revoke", methods=["POST"])
@login_required
@blp.arguments(RevokeSchema)
@blp.response(200, CertificateSchema)
@blp.errors(certificates.CertificateRevoked, NotFound, Forbidden, ValidationFailed)
def revoke_certificate(body, serial):
    """Revoke a certificate (an admin of the issuing organization or above):
    from now on it verifies as revoked."""
    return _with_links(certificates.revoke(current_user(), serial, body["reason"]))


pages = PageBlueprint("certificate_pages", __name__)


@pages.get("/certificates/<serial>")
def verification_page(serial: str):
    """The page the certificate's QR opens in any phone's browser."""
    try:
        view = certificates.public_view(certificates.verify(serial, request.args.get("sig", "")))
    except NotFound:
        view = None
    page = render_template("certificate_verify.html", view=view, serial=serial, tz=LOCAL_TZ)
    return page, (200 if view else 404), {"Content-Security-Policy": headers.PAGE}
