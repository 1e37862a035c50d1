"""The one error envelope, and the domain errors every feature raises.

Every error the API answers with, whether raised by a service, by webargs
validation, by Flask/werkzeug or by an unexpected exception, leaves through
:func:`init_app`'s handlers as::

    {"error": {"code": "...", "message": "...", "details": {...}}}

A domain error is a subclass of :class:`ApiError` that names its HTTP
status, its stable ``code`` and its message in both languages; the
message may use ``{placeholders}`` filled from the error's ``details``.
"""
from __future__ import annotations

import contextlib
import logging
import traceback

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.common.field_messages import translate_tree
from app.extensions import db

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"
    zh = "请求有误。"
    en = "The request is not valid."

    def __init__(self, details: dict | None = None, *, headers: dict | None = None):
        super().__init__(self.code)
        self.details = details or {}
        self.headers = headers or {}

    def message(self, lang: str) -> str:
        template = self.en if lang == "en" else self.zh
        try:
            return template.format(**self.details)
        except (KeyError, IndexError, ValueError):
            return template


# The status classes: the only classes that set ``status``. Every other
# error subclasses one of them (tests/api/test_error_catalog.py checks it).
class BadRequest(ApiError):
    status = 400


class MalformedJson(BadRequest):
    code = "malformed_json"
    zh = "请求体不是合法的 JSON。"
    en = "The request body is not valid JSON."


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    zh = "请先登录。"
    en = "You need to log in."


class InvalidToken(Unauthorized):
    code = "invalid_token"
    zh = "登录凭证无效或已过期，请重新登录。"
    en = "Your token is invalid or has expired; please log in again."


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    zh = "您没有执行此操作的权限。"
    en = "You are not allowed to do this."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    zh = "找不到该资源。"
    en = "Not found."


class Gone(ApiError):
    status = 410
    code = "gone"
    zh = "该资源已失效。"
    en = "This is no longer available."


class Conflict(ApiError):
    status = 409
    code = "conflict"
    zh = "当前状态不允许此操作。"
    en = "This conflicts with the current state."


class ValidationFailed(ApiError):
    status = 422
    code = "validation_failed"
    zh = "提交的数据未通过校验。"
    en = "Some fields are not valid."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    zh = "请求体过大（上限 {limit} 字节）。"
    en = "The request body is too large (the limit is {limit} bytes)."


class UriTooLong(ApiError):
    status = 414
    code = "uri_too_long"
    zh = "请求地址过长（上限 {limit} 个字符）。"
    en = "The request URL is too long (the limit is {limit} characters)."


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"
    zh = "请求过于频繁，请稍后再试。"
    en = "Too many requests; please try again later."


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    zh = "服务暂时不可用，请稍后再试。"
    en = "The service is temporarily unavailable."


# Seconds a client should wait before retrying when a dependency is down:
# long enough for a restart, short enough that a phone's retry finds it back.
RETRY_AFTER_SECONDS = 5


class DependencyUnavailable(ServiceUnavailable):
    """A service we depend on (``redis``, ``database``) did not answer."""

    zh = "服务暂时不可用（{dependency} 无法连接），请稍后再试。"
    en = "The service is temporarily unavailable ({dependency} cannot be reached); please try again shortly."

    def __init__(self, dependency: str):
        super().__init__({"dependency": dependency},
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def field_error(field: str, why: str) -> ValidationFailed:
    """A 422 about one field, shaped like schema errors."""
    return ValidationFailed({"fields": {field: [why]}})


# werkzeug's own errors (404 route, 405, 413, ...) get a code and a sentence too.
HTTP_CODES = {
    400: ("bad_request", "请求有误。", "The request is not valid."),
    401: ("unauthorized", "请先登录。", "You need to log in."),
    403: ("forbidden", "您没有执行此操作的权限。", "You are not allowed to do this."),
    404: ("not_found", "找不到该资源。", "Not found."),
    405: ("method_not_allowed", "该地址不支持此请求方法。", "This method is not allowed here."),
    406: ("not_acceptable", "无法提供所请求的格式。", "The requested format is not available."),
    409: ("conflict", "当前状态不允许此操作。", "This conflicts with the current state."),
    413: ("payload_too_large", "请求体过大。", "The request body is too large."),
    414: ("uri_too_long", "请求地址过长。", "The request URL is too long."),
    415: ("unsupported_media_type", "不支持的内容类型。", "This content type is not supported."),
    422: ("validation_failed", "提交的数据未通过校验。", "Some fields are not valid."),
    429: ("rate_limited", "请求过于频繁，请稍后再试。", "Too many requests; please try again later."),
    500: ("internal_error", "服务器内部错误，请稍后再试。", "Something went wrong on our side."),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试。", "The service is temporarily unavailable."),
}


def request_language() -> str:
    """``en`` when the client prefers English, else ``zh`` (the default)."""
    try:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    except RuntimeError:  # outside a request
        return "zh"
    return "en" if best.startswith("en") else "zh"


def envelope(status: int, code: str, message: str, details: dict | None = None, headers=None):
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def localized_details(details: dict, lang: str) -> dict:
    """``details`` with its per-field messages (``details.fields``) in ``lang``:
    Chinese unless the client asked for English, like the envelope's message."""
    if lang == "en" or "fields" not in details:
        return details
    return {**details, "fields": translate_tree(details["fields"])}


def _handle_api_error(error: ApiError):
    lang = request_language()
    return envelope(error.status, error.code, error.message(lang),
                    localized_details(error.details, lang), error.headers)


def _handle_http_exception(error: HTTPException):
    status = error.code or 500
    code, zh, en = HTTP_CODES.get(status, (f"http_{status}", error.name, error.name))
    details: dict = {}
    headers: dict = {}
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        # webargs: {"messages": {"json": {"field": ["why"]}}} -> details.fields
        fields: dict = {}
        for location_errors in data["messages"].values():
            if isinstance(location_errors, dict):
                fields.update(location_errors)
            else:
                fields.setdefault("_schema", []).extend(location_errors)
        details = {"fields": fields}
    elif status == 400 and data.get("messages", {}).get("json") == ["Invalid JSON body."]:
        return _handle_api_error(MalformedJson())
    valid_methods = getattr(error, "valid_methods", None)  # werkzeug's MethodNotAllowed only
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status == 429:
        limit = getattr(error, "limit", None)
        retry = getattr(getattr(limit, "limit", None), "get_expiry", lambda: 60)()
        headers["Retry-After"] = str(retry)
    lang = request_language()
    return envelope(status, code, en if lang == "en" else zh, localized_details(details, lang), headers)


def dependency_of(error: BaseException) -> str | None:
    """``redis`` or ``database`` when ``error`` says that dependency is down or
    unreachable (refused, timed out, connection cut by a restart), else None.

    A database error that is the request's own fault (an integrity or data
    error) is not an outage and stays a 500.
    """
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "redis"  # BusyLoadingError (a restart loading its data) is a ConnectionError
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        if error.connection_invalidated or isinstance(
                error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return "database"
        return None
    if isinstance(error, (sqlalchemy.exc.TimeoutError,  # no pooled connection came free
                          sqlalchemy.exc.PendingRollbackError)):  # an earlier statement failed
        return "database"
    return None


def _handle_dependency_down(error: Exception, dependency: str):
    if dependency == "database":
        _discard_database_session()
    cause = getattr(error, "orig", None) or error  # the driver's error, without SQL text
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    log.error("%s unavailable: %s: %s", dependency, type(cause).__name__, first_line,
              extra={"request_id": getattr(g, "request_id", None)})
    return _handle_api_error(DependencyUnavailable(dependency))


def _discard_database_session() -> None:
    """Roll the session back so that the next request starts clean. SQLAlchemy
    has already invalidated a connection cut by a restart, and the pool's
    pre-ping replaces the other dead ones when they are next checked out."""
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback after a database error failed", exc_info=True)
        with contextlib.suppress(Exception):
            db.session.close()


def _log_database_error(error: sqlalchemy.exc.DBAPIError) -> None:
    """An unexpected database error, logged with its statement and where it
    was raised but without a value: the engine hides the parameters, and the
    driver's message is cut to its first line (PostgreSQL's DETAIL names the
    failing row's values: a phone's hash, a scan's IP or position)."""
    cause = error.orig if error.orig is not None else error
    first_line = (str(cause).strip().splitlines() or [""])[0][:300]
    log.error("unhandled database error: %s: %s\n[SQL: %s]\n%s", type(cause).__name__, first_line,
              error.statement, "".join(traceback.format_tb(error.__traceback__)),
              extra={"request_id": getattr(g, "request_id", None)})


def _handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _handle_http_exception(error)
    dependency = dependency_of(error)
    if dependency:
        return _handle_dependency_down(error, dependency)
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        _log_database_error(error)
    else:
        log.exception("unhandled error", extra={"request_id": getattr(g, "request_id", None)})
    _discard_database_session()  # a failed statement must not poison the next request
    return _handle_http_exception(_InternalError())


class _InternalError(HTTPException):
    code = 500


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
