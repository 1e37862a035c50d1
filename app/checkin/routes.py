"""Service centers, their codes and screens, check-ins and their figures."""
from __future__ import annotations

from flask import Response, request, url_for

from app.auth.current import authenticate, current_user, login_required
from app.checkin import attempts, centers, codes, devices, errors, scanning
from app.checkin.schemas import (
    AttemptListArgsSchema,
    AttemptPageSchema,
    CenterCreateSchema,
    CenterInSchema,
    CenterListArgsSchema,
    CenterPageSchema,
    CenterSchema,
    CheckinCreateSchema,
    CheckinPageSchema,
    CheckinResultSchema,
    CheckinSchema,
    DeviceArgsSchema,
    DeviceCreatedSchema,
    DeviceCreateSchema,
    DevicePageSchema,
    DisplayCodeSchema,
    MyAttemptPageSchema,
    OccupancySchema,
)
from app.common import code_images, qr
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.errors import Forbidden, NotFound, ValidationFailed

blp = Blueprint("checkin", __name__, description="Service centers and QR check-in")

PNG = {"200": {"description": "A QR image",
               "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}
PDF = {"200": {"description": "An A4 page at 300 dpi",
               "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
SVG = {"200": {"description": "A QR image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}}


@blp.route("/centers", methods=["POST"])
@login_required
@blp.arguments(CenterCreateSchema)
@blp.response(201, CenterSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def create_center(body):
    """Create a service center owned by an org in your subtree."""
    center = centers.create_center(current_user(), body.pop("org_id"), body)
    return center, 201, {"Location": url_for("checkin.get_center", center_id=center.id)}


@blp.route("/centers", methods=["GET"])
@login_required
@blp.arguments(CenterListArgsSchema, location="query")
@blp.response(200, CenterPageSchema)
@blp.errors(NotFound, ValidationFailed)
def list_centers(args):
    """Centers under an org (``org_id``) or near a point (``near=lat,lng``,
    within ``radius_m``, nearest first)."""
    return centers.list_centers(org_id=args.get("org_id"), near=args["near"], radius_m=args["radius_m"],
                                 limit=args["limit"], cursor=args["cursor"])


@blp.route("/centers/<int:center_id>", methods=["GET"])
@login_required
@blp.response(200, CenterSchema)
@blp.errors(NotFound)
def get_center(center_id):
    """One center (centers are public places)."""
    return centers.get_center(center_id)


@blp.route("/centers/<int:center_id>", methods=["PATCH"])
@login_required
@blp.arguments(CenterInSchema)
@blp.response(200, CenterSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def update_center(body, center_id):
    """Change a center's details, hours, closures or code settings."""
    return centers.update_center(current_user(), center_id, body)


@blp.route("/centers/<int:center_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.errors(NotFound, Forbidden)
def delete_center(center_id):
    """Retire a center: its codes stop working, its history stays."""
    centers.delete_center(current_user(), center_id)


@blp.route("/centers/<int:center_id>/rotate-key", methods=["POST"])
@login_required
@blp.response(200, CenterSchema)
@blp.errors(NotFound, Forbidden)
def rotate_key(center_id):
    """New code key: every poster and shown code of the center stops working at once."""
    return centers.rotate_key(current_user(), center_id)


@blp.route("/centers/<int:center_id>/display-devices", methods=["POST"])
@login_required
@blp.arguments(DeviceCreateSchema)
@blp.response(201, DeviceCreatedSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def create_device(body, center_id):
    """Register a screen; its ``device_token`` is shown this once."""
    device, token = devices.create_device(current_user(), center_id, body["name"])
    device.device_token = token
    return device, 201, {"Location": url_for("checkin.list_devices", center_id=center_id)}


@blp.route("/centers/<int:center_id>/display-devices", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, DevicePageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_devices(args, center_id):
    """The center's screens, oldest first, revoked ones too."""
    return devices.list_devices(current_user(), center_id, args["limit"], args["cursor"])


@blp.route("/centers/<int:center_id>/display-devices/<int:device_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.errors(NotFound, Forbidden)
def revoke_device(center_id, device_id):
    """Revoke a screen's token."""
    devices.revoke_device(current_user(), center_id, device_id)


def _display_center(center_id: int):
    """The center, for a screen's device token or a center admin's bearer token."""
    token = request.args.get("device_token") or request.headers.get("X-Device-Token")
    if token:
        return devices.center_for_device(center_id, token)
    return centers.managed_center(authenticate(), center_id, "center.operate")


@blp.route("/centers/<int:center_id>/display-code", methods=["GET"])
@blp.arguments(DeviceArgsSchema, location="query")
@blp.response(200, DisplayCodeSchema)
@blp.errors(NotFound, Forbidden, errors.InvalidDeviceToken, ValidationFailed)
def display_code(args, center_id):
    """The code the center's screen shows now (center admin, or ``device_token``).

    Show it until ``refresh_in`` seconds have passed, then fetch the next;
    scans of it count until ``expires_at``.
    """
    state = centers.display_state(_display_center(center_id))
    state.qr_svg = qr.svg(state.code.qr_text)
    return state


@blp.route("/centers/<int:center_id>/display-code.png", methods=["GET"])
@blp.arguments(DeviceArgsSchema, location="query")
@blp.doc(responses=PNG)
@blp.errors(NotFound, Forbidden, errors.InvalidDeviceToken, ValidationFailed)
def display_code_png(args, center_id):
    """The current code as a PNG image."""
    code = centers.display_state(_display_center(center_id)).code
    return Response(qr.png(code.qr_text), mimetype="image/png", headers={"Cache-Control": "no-store"})


@blp.route("/centers/<int:center_id>/display-code.svg", methods=["GET"])
@blp.arguments(DeviceArgsSchema, location="query")
@blp.doc(responses=SVG)
@blp.errors(NotFound, Forbidden, errors.InvalidDeviceToken, ValidationFailed)
def display_code_svg(args, center_id):
    """The current code as an SVG image."""
    code = centers.display_state(_display_center(center_id)).code
    return Response(qr.svg(code.qr_text), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@blp.route("/centers/<int:center_id>/poster.png", methods=["GET"])
@login_required
@blp.doc(responses=PNG)
@blp.errors(NotFound, Forbidden, errors.StaticModeRequired, *code_images.POSTER_ERRORS)
def poster(center_id):
    """A printable poster with the center's static code."""
    center, token = centers.poster(current_user(), center_id)
    return Response(code_images.poster_png(token, center.name, center.address), mimetype="image/png")


@blp.route("/centers/<int:center_id>/poster.pdf", methods=["GET"])
@login_required
@blp.doc(responses=PDF)
@blp.errors(NotFound, Forbidden, errors.StaticModeRequired, *code_images.POSTER_ERRORS)
def poster_pdf(center_id):
    """The poster on an A4 page (300 dpi), ready to print."""
    center, token = centers.poster(current_user(), center_id)
    return code_images.poster_pdf(token, center.name, center.address, f"center-{center.id}-poster.pdf")


@blp.route("/checkins", methods=["POST"])
@login_required
@idempotent
@blp.arguments(CheckinCreateSchema)
@blp.response(201, CheckinResultSchema)
@blp.alt_response(200, schema=CheckinResultSchema,
                  description="already_checked_in (the first check-in), checked_out, already_checked_out")
@blp.errors(codes.InvalidCode, codes.ExpiredCode, errors.NotAMemberScan,
            errors.IdentityInactiveScan, errors.CenterClosed, errors.LocationRequired,
            errors.OutOfRange, errors.LocationInaccurate, errors.NotCheckedIn,
            errors.ExitBeforeEntry, errors.ScannedAtInFuture, errors.ScannedAtTooOld,
            ValidationFailed, idempotent=True)
def create_checkin(body):
    """Check in (or out) by scanning a center's code.

    ``201 ok`` for a new check-in; ``200 already_checked_in`` with the first
    one when the member already checked in at this center in this window;
    ``200 checked_out`` for an exit scan, with the visit's duration. Every
    attempt is recorded, failed ones with their reason.
    """
    scan = scanning.Scan(user=current_user(), ip=request.remote_addr,
                         device=request.headers.get("User-Agent"), **body)
    status, checkin = scanning.check_in(scan)
    if status == "ok":
        return ({"status": status, "checkin": checkin}, 201,
                {"Location": url_for("checkin.get_checkin", checkin_id=checkin.id)})
    return {"status": status, "checkin": checkin}, 200


@blp.route("/checkins/<int:checkin_id>", methods=["GET"])
@login_required
@blp.response(200, CheckinSchema)
@blp.errors(NotFound)
def get_checkin(checkin_id):
    """One of your own check-ins."""
    return attempts.my_checkin(current_user(), checkin_id)


@blp.route("/me/checkins", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, CheckinPageSchema)
@blp.errors(ValidationFailed)
def my_checkins(args):
    """Your check-ins, newest first."""
    return attempts.my_checkins(current_user(), args["limit"], args["cursor"])


@blp.route("/me/checkin-attempts", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, MyAttemptPageSchema)
@blp.errors(ValidationFailed)
def my_checkin_attempts(args):
    """Your scans at centers, failed ones too, newest first: the result, the
    center, the time, the distance and the purpose."""
    return attempts.my_attempts(current_user(), args["limit"], args["cursor"])


@blp.route("/centers/<int:center_id>/checkins", methods=["GET"])
@login_required
@blp.arguments(AttemptListArgsSchema, location="query")
@blp.response(200, AttemptPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def center_checkins(args, center_id):
    """Every scan at a center (failed ones too), newest first, by day,
    purpose and status (``ok``, ``already_checked_in``, ``failed`` or a reason)."""
    return attempts.center_attempts(current_user(), center_id, day=args.get("day"),
                                    purpose=args.get("purpose"), status=args.get("status"),
                                    limit=args["limit"], cursor=args["cursor"])


@blp.route("/centers/<int:center_id>/occupancy", methods=["GET"])
@login_required
@blp.response(200, OccupancySchema)
@blp.errors(NotFound, Forbidden)
def occupancy(center_id):
    """How many are inside now (checked in today and not yet out)."""
    return attempts.occupancy(current_user(), center_id)
