"""A flask-smorest Blueprint that also documents the domain errors a view raises."""
from __future__ import annotations

from collections import defaultdict

import flask_smorest
import marshmallow as ma


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable snake_case error code"})
    message = ma.fields.String(required=True, metadata={"description": "A sentence for people"})
    details = ma.fields.Dict(metadata={"description": "Structured details; `fields` for 422"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


# Every API call may answer these; listed once per operation by Blueprint.errors.
COMMON_STATUSES = {
    400: "malformed_json, bad_request",
    413: "payload_too_large",
    500: "internal_error",
}


class Blueprint(flask_smorest.Blueprint):
    def errors(self, *error_classes, auth: bool = True):
        """Document the error codes an operation can answer with, by status."""
        by_status: dict[int, list[str]] = defaultdict(list)
        for status, codes in COMMON_STATUSES.items():
            by_status[status].append(codes)
        if auth:
            by_status[401].append("unauthorized, invalid_token")
        for error in error_classes:
            by_status[error.status].append(error.code)

        def decorator(func):
            for status in sorted(by_status):
                func = self.alt_response(
                    status,
                    schema=ErrorSchema,
                    description="Error codes: " + ", ".join(dict.fromkeys(by_status[status])),
                )(func)
            return func

        return decorator

    def action(self, rule: str, name: str, doc: str, call, *, auth, schema, response, errors):
        """Register ``POST rule``, an action on one resource: ``auth`` guards it,
        ``schema`` validates the body and ``call(body, **view_args)`` does it;
        the answer is dumped with ``response``. For families of actions that
        differ only in their verb (approve/reject/revoke, suspend/reinstate...)."""

        def view(body, **view_args):
            return call(body, **view_args)

        view.__name__, view.__doc__ = name, doc
        self.route(rule, methods=["POST"])(
            auth(self.arguments(schema)(self.response(200, response)(self.errors(*errors)(view)))))
