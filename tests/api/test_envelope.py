"""The one error envelope, request ids, health probes and the OpenAPI document."""
from __future__ import annotations

import logging
import re

from tests.conftest import assert_error


def test_unknown_route_is_an_enveloped_404(client):
    response = client.get("/api/v1/nothing-here")
    assert_error(response, 404, "not_found")
    assert response.headers["X-Request-ID"]


def test_wrong_method_is_an_enveloped_405(client):
    response = client.put("/api/v1/me")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_oversized_json_is_413(login):
    api = login("o-big")
    response = api.post("/api/v1/orgs", json={"name": "x" * 300_000, "parent_id": 1, "kind": "street"})
    assert_error(response, 413, "payload_too_large")


def test_oversized_upload_is_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/api/v1/orgs/1/roster", data=b"x" * 4096,
                                      content_type="application/octet-stream")
    assert_error(response, 413, "payload_too_large")


def test_unhandled_exception_is_an_enveloped_500_with_request_id(make_app, caplog):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM users")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom", headers={"X-Request-ID": "req-12345678"})
    error = assert_error(response, 500, "internal_error")
    assert "SELECT" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "req-12345678"
    assert error["details"] == {}
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged and getattr(logged[0], "request_id", None) == "req-12345678"


def test_a_failed_statement_logs_no_parameters(make_app, caplog):
    """An unexpected database error is logged with its SQL, never its values
    (a scan's coordinates, an IP)."""
    import sqlalchemy as sa

    from app.extensions import db

    app = make_app()

    @app.get("/boom-sql")
    def boom_sql():
        # a NOT NULL violation: the request's own fault, not an outage (logged in full)
        db.session.execute(sa.text("INSERT INTO users (openid, unionid) VALUES (NULL, :ip)"),
                           {"ip": "203.0.113.77"})

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom-sql")
    assert response.status_code == 500
    logged = "\n".join(caplog.text.splitlines())
    assert "INSERT INTO users" in logged  # the statement is there, for whoever debugs it
    assert "203.0.113.77" not in logged


def test_a_bad_incoming_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert response.headers["X-Request-ID"] != "bad id <script>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_ok(client):
    body = client.get("/readyz").json
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_the_failed_redis(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    error = assert_error(app.test_client().get("/readyz"), 503, "not_ready")
    assert error["details"]["failed"] == ["redis"]


def test_readyz_names_the_failed_database(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    error = assert_error(app.test_client().get("/readyz"), 503, "not_ready")
    assert error["details"]["failed"] == ["database"]


def test_openapi_document_lists_every_endpoint_with_its_errors(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops
                  if method in {"get", "post", "patch", "put", "delete"}}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"
            operation = spec["paths"][path][method.lower()]
            assert operation.get("description") or operation.get("summary"), f"{method} {path}"
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            assert errors, f"{method} {path} documents no errors"
            for response in errors.values():
                assert "Error codes:" in response["description"]
    login = spec["paths"]["/api/v1/auth/wechat/login"]["post"]
    assert "wechat_code_invalid" in login["responses"]["401"]["description"]
    assert "wechat_unavailable" in login["responses"]["503"]["description"]


def test_docs_page_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()


def test_ids_beyond_an_integer_in_bodies_are_422_everywhere(login_as, tree):
    admin = login_as("org_admin", tree.a)
    here = {"lat": 21.858, "lng": 111.962}
    for method, path, body, field in [
        ("post", "/api/v1/centers", {"org_id": 2**31, "name": "x", "location": here}, "org_id"),
        ("post", "/api/v1/grids", {"community_id": 2**31, "name": "x"}, "community_id"),
        ("post", "/api/v1/tasks", {"community_id": 2**31, "title": "x", "places": 1,
                                   "starts_at": "2030-01-01T09:00:00+08:00",
                                   "ends_at": "2030-01-01T10:00:00+08:00"}, "community_id"),
        ("put", "/api/v1/me/volunteer", {"community_id": 2**31}, "community_id"),
        ("post", "/api/v1/orgs", {"parent_id": 2**31, "kind": "street", "name": "x"}, "parent_id"),
    ]:
        error = assert_error(getattr(admin, method)(path, json=body), 422, "validation_failed")
        assert field in error["details"]["fields"], (path, error)


def test_lat_lng_query_parameters_are_checked_alike_everywhere(login_as, tree):
    admin = login_as("org_admin", tree.a)
    for path, name in [("/api/v1/centers", "near"), ("/api/v1/tasks", "near"),
                       ("/api/v1/grids", "at"), ("/api/v1/grid-events", "near")]:
        for bad in ("91,111.9", "21.8", "north,east"):
            error = assert_error(admin.get(path, query_string={name: bad}), 422, "validation_failed")
            assert name in error["details"]["fields"], (path, bad)
        assert admin.get(path, query_string={name: "21.858,111.962"}).status_code == 200, path
