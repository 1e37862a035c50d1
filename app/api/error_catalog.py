"""The table of every error code the API answers with, built from the classes.

:func:`error_catalog` walks every :class:`~app.errors.ApiError` subclass
(each feature's errors are imported with its routes) plus the codes
app.errors gives werkzeug's own errors (405, 415, ...). :func:`publish`
puts the table in the OpenAPI document twice: as ``x-error-codes`` (for
tools) and as a Markdown table in ``info.description`` (for people).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from apispec import APISpec

from app.errors import HTTP_CODES, ApiError


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    zh: str
    en: str


def error_classes() -> list[type[ApiError]]:
    """ApiError and every subclass of it imported so far."""
    found: list[type[ApiError]] = []
    todo: list[type[ApiError]] = [ApiError]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


def error_catalog() -> list[ErrorCode]:
    """One row per code, by status then code."""
    rows = {cls.code: ErrorCode(cls.code, cls.status, cls.zh, cls.en) for cls in error_classes()}
    for status, (code, zh, en) in HTTP_CODES.items():
        rows.setdefault(code, ErrorCode(code, status, zh, en))
    return sorted(rows.values(), key=lambda row: (row.status, row.code))


def markdown_table(rows: list[ErrorCode]) -> str:
    lines = ["| code | status | message |", "| --- | --- | --- |"]
    lines += [f"| `{row.code}` | {row.status} | {row.zh} |" for row in rows]
    return "\n".join(lines)


def publish(spec: APISpec) -> None:
    rows = error_catalog()
    spec.options["x-error-codes"] = [asdict(row) for row in rows]
    info = dict(spec.options.get("info", {}))  # not the app config's own dict
    spec.options["info"] = info
    info["description"] = (info.get("description", "") + "\n\n## Error codes\n\n"
                           "Every `code` answers with one status; `message` is in Chinese "
                           "unless the request says `Accept-Language: en`.\n\n"
                           + markdown_table(rows))
