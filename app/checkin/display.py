"""The page a center's screen (tablet) shows: the current code, large."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from app.checkin import centers, devices
from app.common import headers, qr

blp = Blueprint("display", __name__)


@blp.get("/display/centers/<int:center_id>")
def center_screen(center_id: int):
    """Plain HTML + a few lines of JS that poll the display-code JSON and
    swap the code before it expires; a code past ``expires_at`` is hidden."""
    token = request.args.get("device_token", "")
    center = devices.center_for_device(center_id, token)
    state = centers.display_state(center)
    page = render_template("display_center.html", center=center, token=token, state=state,
                           qr_svg=qr.svg(state.code.qr_text))
    return page, {"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": headers.DISPLAY_PAGE}
