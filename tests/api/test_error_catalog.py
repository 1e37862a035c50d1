"""Errors in one table: every ApiError's status comes from a status class in
app/errors.py, each code means one status, every error speaks both
languages, and the OpenAPI document publishes the whole table."""
from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest

import app
from app.api.error_catalog import error_catalog, error_classes


def _every_error_class():
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    return error_classes()


@pytest.fixture(scope="module")
def classes():
    return _every_error_class()


def _setting_status_outside_errors(classes):
    return {cls.__module__: cls.__qualname__ for cls in classes
            if "status" in vars(cls) and cls.__module__ != "app.errors"}


def test_status_is_set_only_by_the_classes_in_app_errors(classes):
    assert _setting_status_outside_errors(classes) == {}


def test_the_status_classes_are_the_conventions_table(classes):
    status_classes = {cls.__name__: cls.status for cls in classes
                      if cls.__module__ == "app.errors" and "status" in vars(cls)}
    assert status_classes == {
        "ApiError": 400, "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
        "Gone": 410, "Conflict": 409, "PayloadTooLarge": 413, "UriTooLong": 414,
        "ValidationFailed": 422, "RateLimited": 429, "ServiceUnavailable": 503,
    }


def test_each_code_answers_with_one_status(classes):
    statuses = defaultdict(set)
    for cls in classes:
        statuses[cls.code].add(cls.status)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}


def test_every_error_has_both_languages(classes):
    for cls in classes:
        assert cls.zh and cls.en and cls.zh != cls.en, cls
        assert any("\u4e00" <= char <= "\u9fff" for char in cls.zh), cls


def test_the_openapi_document_lists_every_code_with_its_status_and_chinese_message(client, classes):
    spec = client.get("/api/v1/openapi.json").json
    published = {row["code"]: row for row in spec["x-error-codes"]}
    for cls in classes:
        assert published[cls.code]["status"] == cls.status, cls
        assert published[cls.code]["zh"] in {c.zh for c in classes if c.code == cls.code}
    assert published["method_not_allowed"]["status"] == 405  # werkzeug's own, too
    description = spec["info"]["description"]
    for row in error_catalog():
        assert f"| `{row.code}` | {row.status} | {row.zh} |" in description
