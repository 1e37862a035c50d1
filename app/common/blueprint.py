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
    414: "uri_too_long",  # app.common.inputs refuses a URL over MAX_URI_LENGTH before routing
}
# Every call that reads or writes the database or Redis (token revocation,
# rate limits, idempotency keys live there) answers 503 while either is down.
STORAGE_STATUS = (503, "service_unavailable")
# What app.common.idempotency.idempotent adds to a view (its classes, by status).
IDEMPOTENCY_STATUSES = {409: "idempotency_in_progress", 422: "idempotency_key_reused, invalid_idempotency_key"}
IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    "description": "The same key from the same user within 24 h returns the first answer "
                   "and does nothing again",
}


class Blueprint(flask_smorest.Blueprint):
    """Every operation lists the statuses it can answer with; there is no
    catch-all ``default`` response (see app.api.Api)."""

    def errors(self, *error_classes, auth: bool = True, storage: bool = True,
               idempotent: bool = False):
        """Document the error codes an operation can answer with, by status:
        the common ones, 401 when ``auth``, 503 when it touches ``storage``,
        the ``Idempotency-Key`` header and its errors when the view is
        ``@idempotent``, and the given ApiError classes. A route with a path
        parameter also gets 404 (see :meth:`route`)."""
        by_status: dict[int, list[str]] = defaultdict(list)
        for status, codes in COMMON_STATUSES.items():
            by_status[status].append(codes)
        if auth:
            by_status[401].append("unauthorized, invalid_token")
        if storage:
            by_status[STORAGE_STATUS[0]].append(STORAGE_STATUS[1])
        for error in error_classes:
            by_status[error.status].append(error.code)
        if idempotent:
            for status, codes in IDEMPOTENCY_STATUSES.items():
                by_status[status].append(codes)

        def decorator(func):
            for status in sorted(by_status):
                func = self._document_error(func, status, by_status[status])
            if idempotent:
                func._apidoc.setdefault("arguments", {}).setdefault("parameters", []).append(
                    dict(IDEMPOTENCY_KEY))
            return func

        return decorator

    def _document_error(self, func, status: int, codes: list[str]):
        return self.alt_response(status, schema=ErrorSchema,
                                 description="Error codes: " + ", ".join(dict.fromkeys(codes)))(func)

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, with the schema made once here: given a class,
        webargs would build an instance on every request (marshmallow deep-
        copies each declared field to do so), the largest cost an endpoint's
        arguments added to its request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def route(self, rule, **kwargs):
        """Register a view; a rule with a path parameter can always answer 404
        (no such row, not visible to you, an id beyond any column), so its
        404 is documented even where the view's own errors do not say so."""

        def decorator(func):
            if "<" in rule and 404 not in documented_statuses(func):
                func = self._document_error(func, 404, ["not_found"])
            return super(Blueprint, self).route(rule, **kwargs)(func)

        return decorator


def documented_statuses(func) -> set[int]:
    return {int(status) for status in
            getattr(func, "_apidoc", {}).get("response", {}).get("responses", {})}
