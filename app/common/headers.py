"""Security headers on every response, set in one ``after_request`` hook.

- ``X-Content-Type-Options: nosniff`` everywhere: an upload is only ever the
  image type it was checked to be, never sniffed into HTML.
- ``Cache-Control: no-store`` on ``/api/v1/auth/*`` and ``/api/v1/me*``:
  tokens and personal data stay out of shared and browser caches.
- ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and a
  Content-Security-Policy everywhere. The HTML pages (the center screen,
  whose URL carries its device token, and the API docs) get a policy that
  lets them run; anything else (JSON, images, SVG) may run nothing at all.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, current_app, request

_PRIVATE = re.compile(r"^/api/v1/(auth/|me(/|$))")

NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The center screen: its script and style are static files; it polls its own JSON.
PAGE = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# The center screen, which the console previews in a frame of its own origin.
DISPLAY_PAGE = PAGE.replace("frame-ancestors 'none'", "frame-ancestors 'self'")



def faces_policy(wechat_base: str | None) -> str:
    """The console and the mini-program stand-in: their own scripts only; they
    call the API (and, for the demo's logins, the mock WeChat), show blob:
    images fetched with a token, the camera for scanning, and (the console)
    a preview of a center's display page in a frame. Inline styles are
    allowed: ECharts positions its tooltips with them."""
    connect = "'self'" + (f" {wechat_base}" if wechat_base else "")
    return ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; font-src 'self'; "
            f"connect-src {connect}; frame-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
DOCS_BLUEPRINT = "api-docs"  # flask-smorest's /api/v1/docs and /api/v1/openapi.json


def _docs_policy(body: bytes) -> str:
    """Swagger UI from its CDN, and the one inline script of flask-smorest's
    template, allowed by its hash. Hashing the page's own inline script is safe
    here only because the docs page carries nothing from the request."""
    cdn = current_app.config.get("OPENAPI_SWAGGER_UI_URL") or ""
    source = cdn if cdn.startswith("https://") else "'self'"
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body))
    return (f"default-src 'none'; script-src {source} {hashes}; style-src {source} 'unsafe-inline'; "
            f"img-src 'self' data:; font-src {source}; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def security_headers(response):
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("X-Frame-Options", "DENY")  # the display page allows the console's preview
    headers["Referrer-Policy"] = "no-referrer"
    if _PRIVATE.match(request.path):
        headers["Cache-Control"] = "no-store"
    if "Content-Security-Policy" not in headers:
        if response.mimetype == "text/html":
            docs = request.blueprint == DOCS_BLUEPRINT and not response.is_streamed
            headers["Content-Security-Policy"] = _docs_policy(response.get_data()) if docs else PAGE
        else:
            headers["Content-Security-Policy"] = NOTHING
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
