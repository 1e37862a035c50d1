"""The served OpenAPI document says what the answers are: every status an
operation can answer with is listed (no catch-all ``default``), decimals are
numbers in the document and in the answers, and what can be null says so."""
from __future__ import annotations

import datetime as dt

import pytest

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                parameters = item.get("parameters", []) + operation.get("parameters", [])
                yield f"{method.upper()} {path}", operation, parameters


def test_no_operation_hides_its_statuses_behind_a_default_response(spec):
    assert "DEFAULT_ERROR" not in spec.get("components", {}).get("responses", {})
    for label, operation, _ in operations(spec):
        assert "default" not in operation["responses"], label


def test_every_operation_lists_the_errors_every_call_can_answer(spec):
    for label, operation, _ in operations(spec):
        responses = operation["responses"]
        for status in ("400", "413", "414", "503"):
            assert status in responses, f"{label} does not document {status}"
        assert "service_unavailable" in responses["503"]["description"], label
        assert "500" not in responses, f"{label} documents a 500: the API never answers one"
        if operation.get("security", spec["security"]):
            assert "401" in responses, f"{label} needs a token but does not document 401"


def test_every_operation_with_a_path_parameter_documents_404(spec):
    with_ids = [(label, operation) for label, operation, parameters in operations(spec)
                if any(p["in"] == "path" for p in parameters)]
    assert len(with_ids) > 80
    for label, operation in with_ids:
        assert "404" in operation["responses"], label
        assert "not_found" in operation["responses"]["404"]["description"], label


def test_every_operation_with_input_documents_422(spec):
    for label, operation, parameters in operations(spec):
        if operation.get("requestBody") or any(p["in"] == "query" for p in parameters):
            assert "422" in operation["responses"], label


def test_idempotent_writes_document_their_header_and_its_errors(spec):
    accept = spec["paths"]["/api/v1/tasks/{task_id}/accept"]["post"]
    assert [p["name"] for p in accept["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    assert "idempotency_in_progress" in accept["responses"]["409"]["description"]
    assert "idempotency_key_reused" in accept["responses"]["422"]["description"]
    listing = spec["paths"]["/api/v1/help-requests"]["get"]  # same path, not idempotent
    assert not [p for p in listing.get("parameters", []) if p["in"] == "header"]
    assert "parameters" not in spec["paths"]["/api/v1/help-requests"]


def test_decimals_are_documented_as_numbers_with_numeric_bounds(spec):
    schemas = spec["components"]["schemas"]
    for schema, field in [("Task", "hours_credited"), ("TaskCreate", "hours_credited"),
                          ("HoursEntry", "hours"), ("VolunteerRecord", "total_hours"),
                          ("VolunteerStats", "hours"), ("CorrectionRequest", "requested_hours"),
                          ("Correction", "hours")]:
        definition = schemas[schema]["properties"][field]
        assert definition["type"] == "number", (schema, field)
        for bound in ("minimum", "maximum"):
            if bound in definition:
                assert isinstance(definition[bound], (int, float)), (schema, field, definition)


def test_decimals_are_answered_as_json_numbers(admin, tree):
    start = dt.datetime(2030, 1, 1, 1, 0, tzinfo=dt.UTC)
    response = admin.post("/api/v1/tasks", json={
        "community_id": tree.a, "title": "清洁家园", "category": "other", "places": 2, "hours_credited": 1.25,
        "location": {"lat": 21.858, "lng": 111.962},
        "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=2)).isoformat()})
    assert response.status_code == 201, response.json
    assert response.json["hours_credited"] == 1.25
    assert b'"hours_credited": 1.25' in response.data or b'"hours_credited":1.25' in response.data
    record = admin.get("/api/v1/me/volunteer-record").json
    assert record["total_hours"] == 0 and not isinstance(record["total_hours"], str)


def test_allowed_actions_is_always_an_array_as_documented(spec, login_as, tree):
    from app.grid.categories import ensure_default_categories

    event = spec["components"]["schemas"]["Event"]["properties"]["allowed_actions"]
    assert event["type"] == "array" and not event.get("nullable")

    ensure_default_categories()
    admin = login_as("org_admin", tree.a)
    boundary = {"type": "Polygon", "coordinates": [[[111.959, 21.855], [111.965, 21.855],
                                                    [111.965, 21.861], [111.959, 21.861],
                                                    [111.959, 21.855]]]}
    grid = admin.post("/api/v1/grids", json={"community_id": tree.a, "name": "第一网格",
                                             "households": 10, "boundary": boundary})
    assert grid.status_code == 201, grid.json
    reported = admin.post("/api/v1/grid-events", json={
        "category": "facilities", "title": "路灯不亮", "location": {"lat": 21.858, "lng": 111.962}})
    assert reported.status_code == 201, reported.json
    listed = admin.get("/api/v1/grid-events").json["items"]
    assert listed and listed[0]["allowed_actions"] == []
    one = admin.get(f"/api/v1/grid-events/{listed[0]['id']}").json
    assert isinstance(one["allowed_actions"], list)
