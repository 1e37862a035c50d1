"""Hostile input, refused in one place before any view, schema or query sees it.

Every request passes :func:`refuse_hostile_input` (a ``before_request`` hook):

- a URL longer than ``MAX_URI_LENGTH`` is 414 ``uri_too_long`` (below the
  server's own request-line limit, so the answer is still our envelope);
- a JSON body is parsed once here, with limits the standard library lacks:
  nested deeper than ``MAX_JSON_DEPTH`` (or deep enough to exhaust Python's
  recursion) or using ``NaN``/``Infinity`` is 400 ``malformed_json``; an
  integer beyond 64 bits (Python refuses to even read one of more than
  4,300 digits) or a number that overflows to infinity is 422 naming the field;
- every string the API takes (JSON keys and values, query and form
  parameters, path segments) must be storable on both databases: a NUL
  character (PostgreSQL refuses it in text) or a lone surrogate such as
  ``"\\ud800"`` (not encodable as UTF-8) is 422 naming the field.

webargs parses the body again for the schema; what passes here parses there
the same way.
"""
from __future__ import annotations

import json
import math
from urllib.parse import quote

from flask import Flask, current_app, request

from app.errors import MalformedJson, UriTooLong, ValidationFailed

MAX_JSON_DEPTH = 32  # our schemas nest three levels; nothing legitimate nears this
MAX_INT_DIGITS = 19  # 2**63 has 19 digits: anything longer overflows every column
INT64 = 2**63
MAX_FIELD_ERRORS = 20  # name the first few bad fields, not all of a 256 KB body


class _Unreadable:
    """Stands in, during parsing, for a number no field can hold."""

    def __init__(self, why: str):
        self.why = why


_TOO_LARGE = _Unreadable("Number out of range.")


def _parse_int(digits: str):
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        return _TOO_LARGE  # int() of it could raise (max_str_digits) or be slow
    value = int(digits)
    return value if -INT64 <= value < INT64 else _TOO_LARGE


def _parse_float(literal: str):
    value = float(literal)
    return value if math.isfinite(value) else _TOO_LARGE


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json_body(raw: bytes):
    """The body as webargs reads it (UTF-8, then ``json.loads``), or an error."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_no_constant)
    except RecursionError:
        raise MalformedJson({"max_depth": MAX_JSON_DEPTH}) from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise MalformedJson() from None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in value:
        return "NUL characters are not allowed."
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Not valid Unicode text (a lone surrogate)."
    return None


def _printable(name: str) -> str:
    # A field name goes back in the answer: make it encodable first.
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class _Problems:
    """Field errors in marshmallow's shape: ``{"a": {"b": ["why"]}}``, lists by index."""

    def __init__(self):
        self.fields: dict = {}
        self.count = 0

    def add(self, path: tuple, why: str) -> None:
        if self.count >= MAX_FIELD_ERRORS:
            return
        self.count += 1
        node = self.fields
        path = path or ("_schema",)
        for part in path[:-1]:
            existing = node.get(part)
            if not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
        messages = node.setdefault(path[-1], [])
        if isinstance(messages, list):
            messages.append(why)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed({"fields": self.fields})


def check_json(document, problems: _Problems) -> None:
    """Depth, unreadable numbers and unstorable strings, without recursion."""
    stack: list[tuple[object, tuple, int]] = [(document, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise MalformedJson({"max_depth": MAX_JSON_DEPTH})
            if isinstance(value, dict):
                for key, item in value.items():
                    why = text_problem(key)
                    if why:
                        problems.add((*path, _printable(key)), why)
                    else:
                        stack.append((item, (*path, key), depth + 1))
            else:
                stack.extend((item, (*path, i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            why = text_problem(value)
            if why:
                problems.add(path, why)
        elif isinstance(value, _Unreadable):
            problems.add(path, value.why)


def _uri_length() -> int:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        query = environ.get("QUERY_STRING", "")
        raw = quote(environ.get("PATH_INFO", "")) + ("?" + query if query else "")
    return len(raw)


def refuse_hostile_input() -> None:
    limit = current_app.config.get("MAX_URI_LENGTH")
    if limit and _uri_length() > limit:
        raise UriTooLong({"limit": limit})
    problems = _Problems()
    for name, value in (request.view_args or {}).items():
        why = text_problem(value) if isinstance(value, str) else None
        if why:
            problems.add((name,), why)
    sources = [request.args]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        sources.append(request.form)
    for source in sources:
        for name, values in source.lists():
            why = text_problem(name) or next(filter(None, map(text_problem, values)), None)
            if why:
                problems.add((_printable(name),), why)
    if request.is_json:
        raw = request.get_data(cache=True)
        if raw:
            check_json(parse_json_body(raw), problems)
    problems.raise_if_any()


def init_app(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
