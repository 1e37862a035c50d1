"""The /api/v1 surface: the OpenAPI document, every feature's blueprint, health."""
from __future__ import annotations

import flask_smorest
from flask import Flask, request

from app.api import error_catalog
from app.common import headers, inputs
from app.common.blueprint import ErrorSchema
from app.common.schemas import MAX_ID
from app.errors import NotFound, PayloadTooLarge


class Api(flask_smorest.Api):
    """flask-smorest, with our error envelope instead of its own."""

    ERROR_SCHEMA = ErrorSchema
    # No catch-all `default` response: every operation lists the statuses it
    # answers with (app.common.blueprint.Blueprint.errors).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        # app.errors.init_app owns every error handler.
        pass


def init_api(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"bearerAuth": []}],
        "info": {"description": "Backend of the Party-building WeChat mini-program. "
                                "Every error answers with the envelope "
                                "`{\"error\": {\"code\", \"message\", \"details\"}}`."},
    })
    api = Api(app)
    app.extensions["smorest_api"] = api

    @app.before_request
    def _limit_body():
        # Refuse an oversized body before auth or parsing, as a proxy would;
        # a JSON body is far smaller than an upload.
        json_body = request.mimetype == "application/json"
        limit = app.config["MAX_JSON_BYTES" if json_body else "MAX_CONTENT_LENGTH"]
        if limit and (request.content_length or 0) > limit:
            raise PayloadTooLarge({"limit": limit})

    # After the size check: URL length, the JSON body's shape, unstorable text.
    inputs.init_app(app)
    headers.init_app(app)

    @app.url_value_preprocessor
    def _ids_a_column_can_hold(endpoint, values):
        # An id beyond a 32-bit INTEGER names nothing: 404 here, not an
        # overflow inside a query.
        if values and any(isinstance(v, int) and not 0 < v <= MAX_ID for v in values.values()):
            raise NotFound()

    from app.api.health import blp as health_blp
    from app.audit.routes import blp as audit_blp
    from app.auth.routes import blp as auth_blp
    from app.badges.routes import blp as badges_blp
    from app.checkin.display import blp as display_blp
    from app.checkin.routes import blp as checkin_blp
    from app.grid.routes import blp as grid_blp
    from app.members.routes import blp as members_blp
    from app.moderation.routes import blp as moderation_blp
    from app.notices.routes import blp as notices_blp
    from app.orgs.routes import blp as orgs_blp
    from app.privacy.routes import blp as privacy_blp
    from app.scenes.routes import blp as scenes_blp
    from app.stats.routes import blp as stats_blp
    from app.subscriptions.routes import blp as subscriptions_blp
    from app.tasks.certificate_routes import blp as certificates_blp
    from app.tasks.certificate_routes import pages as certificate_pages
    from app.tasks.routes import blp as tasks_blp
    from app.uploads.routes import blp as uploads_blp
    from app.uploads.routes import media_blp
    from app.uploads.routes import moderation_blp as photo_moderation_blp
    from app.wechat.push import blp as wechat_push_blp

    if app.config.get("BENCH_ENDPOINT"):
        from app.api.bench import blp as bench_blp

        api.register_blueprint(bench_blp, url_prefix="/api/v1")
    app.register_blueprint(health_blp)  # /healthz, /readyz: outside /api/v1 and the docs
    app.register_blueprint(display_blp)  # the center screen's HTML page
    app.register_blueprint(certificate_pages)  # the page a certificate's QR opens
    from app.web import blp as web_blp

    app.register_blueprint(web_blp)  # the console, the mini-program stand-in, /vendor/
    app.register_blueprint(wechat_push_blp)  # /wechat/push: WeChat calls it, signed, without a token
    app.register_blueprint(media_blp)  # /media/<signed link>: WeChat fetches photos to check
    for blueprint in (auth_blp, orgs_blp, members_blp, checkin_blp, badges_blp, tasks_blp,
                      notices_blp, subscriptions_blp, uploads_blp, photo_moderation_blp, grid_blp,
                      stats_blp, scenes_blp, moderation_blp, certificates_blp, audit_blp,
                      privacy_blp):
        api.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
    error_catalog.publish(api.spec)  # after every feature's errors are imported
