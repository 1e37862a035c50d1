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
