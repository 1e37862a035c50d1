"""A person's rights over their data: the export (``/me/export``)."""
from __future__ import annotations

from flask import Response, current_app

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.errors import RateLimited, ValidationFailed
from app.extensions import limiter
from app.privacy import export
from app.privacy.schemas import ExportArgsSchema

blp = Blueprint("privacy", __name__, description="A person's data: the export")

JSON_CONTENT = {"application/json": {"schema": {"type": "object"}}}
ZIP_CONTENT = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
ZIP = {"200": {"description": "data.json and your photos", "content": ZIP_CONTENT}}

# One allowance for both forms: an export reads every table.
_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_EXPORT"], scope="me-export",
                              key_func=lambda: f"user:{current_user().id}")


def _zip() -> Response:
    return Response(export.export_zip(current_user()), mimetype="application/zip", headers={
        "Content-Disposition": 'attachment; filename="my-data.zip"', "Cache-Control": "no-store"})


@blp.route("/me/export", methods=["GET"])
@login_required
@_limit
@blp.arguments(ExportArgsSchema, location="query")
@blp.doc(responses={"200": {"description": "Everything the product holds about you",
                             "content": {**JSON_CONTENT, **ZIP_CONTENT}}})
@blp.errors(RateLimited, ValidationFailed)
def export_me(args):
    """Everything the product holds about you, as JSON (``?format=zip``: the
    ZIP of ``/me/export.zip``). Secrets (token ids, ciphertext) and other
    people's data are left out; what you did to others' records is listed
    under ``actions_you_took`` by id only."""
    if args["format"] == "zip":
        return _zip()
    return Response(export.export_json(current_user()), mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


@blp.route("/me/export.zip", methods=["GET"])
@login_required
@_limit
@blp.doc(responses=ZIP)
@blp.errors(RateLimited)
def export_me_zip():
    """A ZIP with ``data.json`` (the JSON export) and your photos,
    ``photos/<id>.<ext>``."""
    return _zip()
