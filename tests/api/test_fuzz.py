"""Fuzz every operation of the served OpenAPI document, in process (WSGI).

Schemathesis reads /api/v1/openapi.json from the app itself and sends every
operation a few generated requests, valid ones and invalid ones, as a user
who holds roles and a member identity in the seeded demo district (so that
small path ids name real rows). Every answer must be a documented status
code, never a 5xx, with a body that matches the documented schema and a
documented content type.

Bounded for CI: a few examples per operation and mode, derandomized (the same
requests on every run), no shrinking and no stateful phase. Every failure is
collected, so one run lists them all, each with a request to reproduce it.
"""
from __future__ import annotations

import os

import hypothesis
import hypothesis.errors
import hypothesis.strategies as st
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# FUZZ_EXAMPLES=50 for a deeper run by hand (FUZZ_SEED=<n> for other requests).
_PER_MODE = int(os.environ.get("FUZZ_EXAMPLES", "0"))
EXAMPLES = {GenerationMode.POSITIVE: _PER_MODE or 5, GenerationMode.NEGATIVE: _PER_MODE or 4}
SEED = os.environ.get("FUZZ_SEED")


@pytest.fixture
def fuzz_users(app, wechat_server):
    """The demo district and who calls: mostly the demo member (an identity, a
    volunteer, on a post, owning a plate) made a district admin, sometimes the
    demo resident (a volunteer without any role), who meets the 403s."""
    from sqlalchemy import select

    from app.auth.models import RoleGrant, User
    from app.demo import seed
    from app.orgs.models import OrgNode

    seed()
    user = db.session.scalar(select(User).where(User.openid == "demo-member"))
    district = db.session.scalar(select(OrgNode).where(OrgNode.kind == "district"))
    db.session.add(RoleGrant(user_id=user.id, org_id=district.id, role="district_admin"))
    db.session.commit()
    _more_rows(app.test_client(), _bearer(user.id))
    resident = db.session.scalar(select(User).where(User.openid == "demo-resident"))
    return [user.id, user.id, resident.id]


def _more_rows(client, headers) -> None:
    """A help request, a grid event with a photo, a place on the demo task."""
    import datetime as dt
    import io

    from PIL import Image

    from app.demo import FENGZE

    fengze = client.get("/api/v1/me/volunteer", headers=headers).json["community"]["id"]
    where = {"lat": FENGZE[0], "lng": FENGZE[1]}
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    made = [client.post("/api/v1/help-requests", headers=headers, json={
        "community_id": fengze, "category": "other", "description": "帮忙搬家具", "location": where,
        "window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=2)).isoformat(),
        "contact_phone": "13800000001"})]
    image = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(image, format="JPEG")
    made.append(client.post("/api/v1/uploads", headers=headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(image.getvalue()), "photo.jpg", "image/jpeg")}))
    made.append(client.post("/api/v1/grid-events", headers=headers, json={
        "category": "facilities", "title": "路灯不亮", "location": where,
        "photo_ids": [made[-1].json["id"]]}))
    made.append(client.post("/api/v1/tasks/1/accept", headers=headers, json={}))
    assert [r.status_code for r in made] == [201] * 4, [r.get_json() for r in made]


def _bearer(user_id: int) -> dict:
    """A fresh token per request: an operation that logs out revokes only its own."""
    from app.auth.tokens import issue_pair

    pair = issue_pair(user_id)
    db.session.commit()
    return {"Authorization": f"Bearer {pair.access_token}"}


def _describe(case, error: BaseException) -> str:
    failures = getattr(error, "exceptions", None) or [error]
    titles = "; ".join(sorted({getattr(f, "title", None) or type(f).__name__ for f in failures}))
    detail = "\n".join(str(f).strip()[:600] for f in failures)
    return (f"{case.operation.label}: {titles}\n  {case.as_curl_command(headers={'Authorization': 'Bearer …'})}"
            f"\n  {detail}")


def _cases(operation, mode):
    """Valid requests name small ids (rows of the seeded district); invalid ones
    get whatever schemathesis makes of an id (0, 2**70, ...)."""
    ids = [p.name for p in operation.path_parameters if p.definition["schema"].get("type") == "integer"]
    if mode is GenerationMode.NEGATIVE or not ids:
        return operation.as_strategy(generation_mode=mode)
    return st.fixed_dictionaries({name: st.integers(1, 3) for name in ids}).flatmap(
        lambda values: operation.as_strategy(generation_mode=mode, path_parameters=values))


def _fuzz(operation, mode, users, found: dict, answered: dict) -> None:
    @hypothesis.given(_cases(operation, mode), st.sampled_from(users))
    @hypothesis.settings(max_examples=EXAMPLES[mode], derandomize=not SEED, deadline=None,
                         database=None, suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    def run(case, user_id):
        try:
            try:
                response = case.call(headers=_bearer(user_id))
            finally:
                # The test's app context outlives the request, so its session
                # would too; in production every request starts a fresh one.
                db.session.remove()
            answered.setdefault(operation.label, []).append(response.status_code)
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, schemathesis.errors.FailureGroup) as error:
            failures = getattr(error, "exceptions", None) or [error]
            key = (operation.label, tuple(sorted({getattr(f, "title", "") or "" for f in failures})))
            found.setdefault(key, _describe(case, error))

    if SEED:
        run = hypothesis.seed(int(SEED))(run)
    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode on an operation with no input to get wrong.
        assert mode is GenerationMode.NEGATIVE, operation.label
    except schemathesis.errors.SchemathesisError as error:  # a document it cannot read
        found.setdefault((operation.label, type(error).__name__),
                         f"{operation.label} ({mode.value}): {type(error).__name__}: {str(error)[:1500]}")


def test_every_operation_answers_as_documented(app, fuzz_users):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found: dict = {}
    answered: dict = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100
    for operation in operations:
        for mode in EXAMPLES:
            _fuzz(operation, mode, fuzz_users, found, answered)
    # The user and the ids get through: many operations do their job, not just refuse.
    succeeded = [label for label, statuses in answered.items() if any(200 <= s < 300 for s in statuses)]
    assert len(succeeded) > len(operations) / 3, answered
    assert not found, f"{len(found)} operations answered against their documentation:\n\n" + \
        "\n\n".join(found.values())
