"""Hostile input gets a clear 4xx in the one envelope, never a 500, on both backends.

Deep or huge JSON, integers no column holds, fractions for integers, NUL
characters and lone surrogates in any text, over-long URLs.
"""
from __future__ import annotations

import marshmallow as ma
import pytest

from app.common.schemas import Integer
from tests.conftest import assert_error

ORGS = "/api/v1/orgs"
LOGIN = "/api/v1/auth/wechat/login"
READ = "/api/v1/me/notices/read"
JSON = {"Content-Type": "application/json"}


def post_raw(api, path, body: str):
    return api.client.post(path, data=body.encode("utf-8", "surrogatepass"),
                           headers={**api.headers, **JSON})


# --- JSON nested too deep -------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000,
                                  '{"a":' * 1000 + "1" + "}" * 1000,
                                  '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_json_nested_a_thousand_deep_is_malformed(admin, body):
    error = assert_error(post_raw(admin, ORGS, body), 400, "malformed_json")
    assert error["details"]["max_depth"] == 32


def test_deep_json_is_refused_before_authentication(client):
    response = client.post(LOGIN, data="[" * 5000 + "]" * 5000, headers=JSON)
    assert_error(response, 400, "malformed_json")


def test_nesting_within_the_limit_reaches_the_schema(admin):
    response = post_raw(admin, ORGS, '{"name": ' + "[" * 30 + "]" * 30 + "}")
    error = assert_error(response, 422, "validation_failed")
    assert "parent_id" in error["details"]["fields"]  # the schema spoke, not the depth check


# --- numbers no field can hold ----------------------------------------------------------------

@pytest.mark.parametrize("digits", ["9" * 5000, "-" + "9" * 4301, "1" + "0" * 30])
def test_an_integer_literal_of_thousands_of_digits_is_422(admin, tree, digits):
    body = f'{{"parent_id": {digits}, "kind": "party_branch", "name": "x"}}'
    error = assert_error(post_raw(admin, ORGS, body), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["parent_id"]


def test_a_float_literal_that_overflows_is_422(admin, tree):
    body = '{"parent_id": %d, "kind": "party_branch", "name": "x", "extra": 1e400}' % tree.a
    error = assert_error(post_raw(admin, ORGS, body), 422, "validation_failed")
    assert error["details"]["fields"] == {"extra": ["数值超出范围。"]}  # before the schema


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(admin, constant):
    assert_error(post_raw(admin, READ, f'{{"up_to_id": {constant}}}'), 400, "malformed_json")


@pytest.mark.parametrize("value", [2**70, -(2**70), 2**40, 2**31, -(2**31) - 1])
def test_an_id_beyond_integer_is_422_naming_it(login, value):
    error = assert_error(login("o-huge").post(READ, json={"up_to_id": value}), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["up_to_id"]


@pytest.mark.parametrize("field", ["parent_id"])
@pytest.mark.parametrize("value", [2**70, 2**40])
def test_an_id_beyond_integer_in_a_create_is_422(admin, field, value):
    body = {"parent_id": 1, "kind": "party_branch", "name": "x", field: value}
    error = assert_error(admin.post(ORGS, json=body), 422, "validation_failed")
    assert field in error["details"]["fields"]


def test_an_id_beyond_integer_in_a_query_is_422(admin):
    for value in (2**70, 2**40):
        error = assert_error(admin.get(f"{ORGS}?parent_id={value}"), 422, "validation_failed")
        assert "parent_id" in error["details"]["fields"]


# --- fractions where an integer is due --------------------------------------------------------

@pytest.mark.parametrize("value", [1.5, 0.5, -1.5, True, "3.5", [3]])
def test_a_fraction_or_boolean_for_an_id_is_422_not_truncated(admin, tree, value):
    parent = tree.a + value if isinstance(value, float) else value
    body = {"parent_id": parent, "kind": "party_branch", "name": "不该建成"}
    error = assert_error(admin.post(ORGS, json=body), 422, "validation_failed")
    assert "parent_id" in error["details"]["fields"]
    names = [o["name"] for o in admin.get(f"{ORGS}?parent_id={tree.a}&limit=100").json["items"]]
    assert "不该建成" not in names


def test_an_integral_float_is_the_integer(admin, tree):
    body = {"parent_id": float(tree.a), "kind": "party_branch", "name": "第三党支部"}
    response = admin.post(ORGS, json=body)
    assert response.status_code == 201, response.json
    assert response.json["parent_id"] == tree.a


def test_a_fraction_for_up_to_id_is_422(login):
    error = assert_error(login("o-frac").post(READ, json={"up_to_id": 1.5}), 422, "validation_failed")
    assert "up_to_id" in error["details"]["fields"]


@pytest.mark.parametrize("limit", ["1.5", "2.0", "1_0", " 5", "1e1", "٣"])
def test_a_query_limit_must_be_plain_digits(admin, limit):
    error = assert_error(admin.get(ORGS, query_string={"limit": limit}), 422, "validation_failed")
    assert "limit" in error["details"]["fields"]


def test_every_integer_field_is_the_strict_shared_one(app):
    """No schema may fall back to marshmallow's Integer, which truncates 1.5 to 1
    and lets any size through to the database."""

    def schemas(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from schemas(sub)

    def fields(field):
        yield field
        for inner in (getattr(field, "inner", None), getattr(field, "value_field", None),
                      getattr(field, "key_field", None)):
            if inner is not None:
                yield from fields(inner)

    loose, checked = [], 0
    for schema in schemas(ma.Schema):
        if not schema.__module__.startswith("app."):
            continue
        for name, declared in schema._declared_fields.items():
            for field in fields(declared):
                if isinstance(field, ma.fields.Integer):
                    checked += 1
                    if not isinstance(field, Integer):
                        loose.append(f"{schema.__module__}.{schema.__name__}.{name}")
    assert checked > 100
    assert loose == []


# --- NUL and lone surrogates, in any text the API takes ---------------------------------------

@pytest.mark.parametrize("text", ["a\x00b", "\x00"])
def test_a_nul_in_a_json_string_is_422_naming_the_field(admin, tree, text):
    body = {"parent_id": tree.a, "kind": "party_branch", "name": text}
    error = assert_error(admin.post(ORGS, json=body), 422, "validation_failed")
    assert error["details"]["fields"] == {"name": ["不允许包含 NUL 字符。"]}


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udbff", "\\udc00\\ud800"])
def test_a_lone_surrogate_in_a_json_string_is_422_naming_the_field(admin, tree, escape):
    body = '{"parent_id": %d, "kind": "party_branch", "name": "%s"}' % (tree.a, escape)
    error = assert_error(post_raw(admin, ORGS, body), 422, "validation_failed")
    assert list(error["details"]["fields"]) == ["name"]


def test_a_proper_surrogate_pair_is_text(admin, tree):
    body = '{"parent_id": %d, "kind": "party_branch", "name": "党支部\\ud83d\\ude00"}' % tree.a
    response = post_raw(admin, ORGS, body)
    assert response.status_code == 201, response.json
    assert response.json["name"] == "党支部\U0001F600"


def test_bad_text_is_refused_before_authentication_and_nested_fields_are_named(client):
    body = '{"code": "x\\ud800", "extra": {"deep": ["ok", "a\\u0000"]}}'
    error = assert_error(client.post(LOGIN, data=body, headers=JSON), 422, "validation_failed")
    assert error["details"]["fields"] == {
        "code": ["不是有效的 Unicode 文本（含孤立代理字符）。"],
        "extra": {"deep": {"1": ["不允许包含 NUL 字符。"]}},
    }


def test_bad_text_in_a_key_is_named_printably(client):
    response = client.post(LOGIN, data='{"code": "x", "k\\ud800": 1, "n\\u0000": 2}', headers=JSON)
    error = assert_error(response, 422, "validation_failed")
    assert set(error["details"]["fields"]) == {"k\\ud800", "n\\x00"}


@pytest.mark.parametrize("query", ["kind=%00", "cursor=ab%00cd", "kind=street&x%00y=1"])
def test_a_nul_in_a_query_string_is_422(admin, query):
    error = assert_error(admin.get(f"{ORGS}?{query}"), 422, "validation_failed")
    assert "不允许包含 NUL 字符。" in str(error["details"]["fields"])


def test_a_nul_in_a_path_segment_is_422(district_admin):
    response = district_admin.put("/api/v1/grid-event-categories/a%00b", json={"name": "测试"})
    error = assert_error(response, 422, "validation_failed")
    assert error["details"]["fields"] == {"code": ["不允许包含 NUL 字符。"]}


def test_a_nul_in_a_display_token_is_422(client):
    response = client.get("/display/centers/1", query_string={"device_token": "dev_\x00"})
    assert_error(response, 422, "validation_failed")


def test_a_nul_in_a_form_field_is_422(login):
    api = login("o-form")
    response = api.post("/api/v1/uploads", data={"file": (b"\x89PNG", "a.png"), "note": "a\x00"},
                        content_type="multipart/form-data")
    error = assert_error(response, 422, "validation_failed")
    assert error["details"]["fields"] == {"note": ["不允许包含 NUL 字符。"]}


# --- URLs longer than the server's limit ------------------------------------------------------

def test_a_url_over_the_limit_is_414_in_the_envelope(admin, app):
    limit = app.config["MAX_URI_LENGTH"]
    just_fits = f"{ORGS}?kind=street&x=" + "a" * (limit - len(f"{ORGS}?kind=street&x="))
    assert len(just_fits) == limit
    assert admin.get(just_fits).status_code == 200
    error = assert_error(admin.get(just_fits + "a"), 414, "uri_too_long")
    assert error["details"] == {"limit": limit}


def test_a_long_path_is_414_before_routing_or_auth(client, app):
    response = client.get("/api/v1/" + "x" * app.config["MAX_URI_LENGTH"])
    assert_error(response, 414, "uri_too_long")


def test_the_uri_limit_is_configurable(make_app):
    client = make_app(MAX_URI_LENGTH=100).test_client()
    assert client.get("/healthz").status_code == 200
    assert_error(client.get("/healthz?pad=" + "%41" * 30), 414, "uri_too_long")
