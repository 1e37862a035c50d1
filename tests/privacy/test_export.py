"""The export of a person's data: complete (every table pointing at them),
theirs alone, without secrets; as JSON and as a ZIP with their photos."""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import TokenFamily
from app.extensions import db
from app.grid.categories import ensure_default_categories
from app.members.models import RosterEntry
from app.privacy import export
from app.tasks.models import HelpRequest, Participation
from app.uploads.models import Upload
from app.uploads.storage import get_storage
from tests.conftest import ApiClient, assert_error
from tests.grid.conftest import SQUARE
from tests.grid.helpers import event_body, upload_id
from tests.tasks.conftest import END, HERE, START, T0, iso, task_body

EXPORT = "/api/v1/me/export"
PHONE, NAME = "13900002222", "陈小文"
OTHER_PHONE, OTHER_NAME = "13900007777", "林大海"
HELP_PHONE, OTHER_HELP_PHONE = "13900003333", "13900008888"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _direct_rows(user_id: int, identity_id: int | None) -> dict[str, set[int]]:
    """Straight from the database: the ids of each table's rows of the person."""
    own: dict[str, set[int]] = {}
    for column in export.columns_pointing_at("users"):
        if (column.table.name, column.name) in export.ACTIONS or "id" not in column.table.c:
            continue
        ids = set(db.session.scalars(select(column.table.c.id).where(column == user_id)))
        if ids:
            own.setdefault(column.table.name, set()).update(ids)
    return own


def _values(node, keys):
    """Every value under one of ``keys``, anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                yield value
            yield from _values(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, keys)


def _person(member, admin, login, tree, travel, wechat_server, *, name, phone, help_phone, openid):
    """A member with rows in (nearly) every table, made through the API."""
    api = member(name=name, phone=phone, openid=openid)
    assert api.put("/api/v1/me/volunteer", json={"community_id": tree.a, "skills": ["维修"]}).status_code == 201
    # a help request with a phone
    help_request = api.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "elderly_care", "description": "陪老人去医院复诊",
        "address": "丰泽路 8 号", "location": HERE, "window_start": iso(START + dt.timedelta(days=5)),
        "window_end": iso(END + dt.timedelta(days=5)), "contact_phone": help_phone})
    assert help_request.status_code == 201, help_request.json
    # declined: the person is told (a notice)
    assert admin.post(f"/api/v1/help-requests/{help_request.json['id']}/reject",
                      json={"reason": "超出志愿服务范围"}).status_code == 200
    # a subscription
    assert api.post("/api/v1/me/subscriptions",
                    json={"results": {"demo-task_cancelled": "accept"}}).status_code == 200
    # a check-in and a failed attempt
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": f"{name}的中心", "address": "江城区丰泽路 1 号",
        "location": {"lat": HERE["lat"], "lng": HERE["lng"]}}).json
    code = admin.get(f"/api/v1/centers/{center['id']}/display-code").json["qr_text"]
    assert api.post("/api/v1/checkins", json={"code": code, "location": HERE}).status_code == 201
    assert api.post("/api/v1/checkins", json={"code": "hello", "location": HERE}).status_code == 400
    # a badge check: the person checks another member's badge
    other_badge = member(name="黄三", phone=f"1370000{phone[-4:]}", openid=f"{openid}-badge")
    qr_text = other_badge.get("/api/v1/me/badge").json["qr_text"]
    assert api.post("/api/v1/badges/verify", json={"code": qr_text, "location": HERE}).json["valid"]
    # and another checks theirs
    assert other_badge.post("/api/v1/badges/verify", json={
        "code": api.get("/api/v1/me/badge").json["qr_text"]}).json["valid"]
    # a grid leader's report with a photo, a comment, a follow
    grid = admin.post("/api/v1/grids", json={"community_id": tree.a, "name": f"{name}的网格",
                                             "households": 100, "boundary": SQUARE}).json
    assert admin.post(f"/api/v1/grids/{grid['id']}/leaders",
                      json={"user_id": api.user_id, "role": "grid_leader"}).status_code == 201
    photo = upload_id(api)
    response = api.post("/api/v1/grid-events", json=event_body(photo_ids=[photo]))
    assert response.status_code == 201, response.json
    event = response.json["event"]
    assert api.post(f"/api/v1/grid-events/{event['id']}/comments", json={"body": "请尽快处理"}).status_code == 201
    # a task served, confirmed with a rating (hours, notices)
    task = admin.post("/api/v1/tasks", json=task_body(tree.a, places=1, hours_credited=1.5,
                                                       title=f"{name}的任务")).json
    admin.post(f"/api/v1/tasks/{task['id']}/publish", json={})
    assert api.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    return api, task, event, photo


@pytest.fixture
def people(member, admin, login, tree, travel, wechat_server, clock):
    ensure_default_categories()
    me = _person(member, admin, login, tree, travel, wechat_server, name=NAME, phone=PHONE,
                 help_phone=HELP_PHONE, openid="o-me")
    other = _person(member, admin, login, tree, travel, wechat_server, name=OTHER_NAME, phone=OTHER_PHONE,
                    help_phone=OTHER_HELP_PHONE, openid="o-other")
    for at, verb in ((START, "check-in"), (START + dt.timedelta(hours=2), "check-out")):
        travel(at)
        for api, task, _, _ in (me, other):
            response = api.post(f"/api/v1/tasks/{task['id']}/{verb}", json={"location": HERE})
            assert response.status_code == 200, response.json
    for api, task, _, _ in (me, other):
        participation = db.session.scalar(select(Participation.id).where(
            Participation.task_id == task["id"], Participation.user_id == api.user_id))
        assert admin.post(f"/api/v1/participations/{participation}/confirm",
                          json={"score": 5, "comment": "很好"}).status_code == 200
    # the person follows the other's event
    assert me[0].post(f"/api/v1/grid-events/{other[2]['id']}/follow", json={}).status_code in (200, 201)
    return me, other


def test_every_column_pointing_at_a_user_or_identity_is_known_to_the_export(app):
    """A new table pointing at users (or identities) must say which of its
    columns are secrets, and each such column what it is to the person."""
    tables = {c.table.name for c in export.columns_pointing_at("users")} | {
        c.table.name for c in export.columns_pointing_at("member_identities")} | {"users"}
    assert tables == set(export.SECRET_COLUMNS), "name the table in app.privacy.export.SECRET_COLUMNS"
    for name, secrets in export.SECRET_COLUMNS.items():
        assert secrets <= set(db.metadata.tables[name].c.keys()), name
    identity = {(c.table.name, c.name) for c in export.columns_pointing_at("member_identities")}
    assert identity == set(export.IDENTITY_COLUMNS)
    assert set(export.ACTIONS) <= {(c.table.name, c.name) for c in export.columns_pointing_at("users")}


def test_a_column_that_looks_secret_is_left_out_of_a_table_not_yet_named(app, monkeypatch):
    monkeypatch.delitem(export.SECRET_COLUMNS, "console_tickets")
    table = db.metadata.tables["console_tickets"]
    assert export._secret(table, "poll_secret_hash") and not export._secret(table, "state")


def test_the_export_holds_exactly_the_persons_rows_and_no_secret(people, app):
    (me, _, event, photo), (other, _, other_event, other_photo) = people
    response = me.get(EXPORT)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    text = response.get_data(as_text=True)

    # complete: every table where the person has rows, with exactly those rows
    direct = _direct_rows(me.user_id, me.identity["id"])
    for must_have in ("checkin_attempts", "checkins", "grid_event_comments",
                      "grid_event_followers", "grid_events", "grid_leaders", "help_requests",
                      "hours_ledger", "member_identities", "notices", "participations", "subscriptions",
                      "token_families", "uploads", "volunteers", "badge_shown", "grid_event_transitions"):
        assert must_have in direct or must_have in data["tables"] or must_have in data["actions_you_took"], must_have
    exported = {name: {row["id"] for row in rows} for name, rows in data["tables"].items() if name != "token_families"}
    assert exported == {name: ids for name, ids in direct.items() if name != "token_families"}
    families = db.session.scalars(select(TokenFamily).where(TokenFamily.user_id == me.user_id)).all()
    assert len(data["tables"]["token_families"]) == len(families)
    # the person's own badge shown to someone else: the time and branch only
    assert [set(r) for r in data["by_your_identity"]["badge_shown"]] == [{"id", "branch_id", "shown_at"}]
    assert data["user"]["id"] == me.user_id and data["user"]["openid"] == "o-me"
    identity = data["member_identity"]
    assert identity["roster"]["name"] == NAME and identity["roster"]["phone"] == PHONE
    assert identity["branch"]["name"]
    # the person's own phone, decrypted, where they gave it
    assert [r["phone"] for r in data["tables"]["help_requests"]] == [HELP_PHONE]
    # dates ISO 8601, decimals numbers
    assert data["tables"]["hours_ledger"][0]["hours"] == 1.5
    assert dt.datetime.fromisoformat(data["tables"]["participations"][0]["confirmed_at"]).tzinfo is not None
    # the event the person reported, with their photo
    assert event["id"] in {r["id"] for r in data["tables"]["grid_events"]}
    assert photo in {r["id"] for r in data["tables"]["uploads"]}

    # nobody else's data: the other member's name, phones, rows
    for foreign in (OTHER_NAME, OTHER_PHONE, OTHER_HELP_PHONE, "o-other"):
        assert foreign not in text, foreign
    theirs = _direct_rows(other.user_id, other.identity["id"])
    for name, rows in data["tables"].items():
        assert not {r.get("id") for r in rows} & theirs.get(name, set()), name
    assert other_event["id"] not in {r["id"] for r in data["tables"]["grid_events"]}
    assert other_photo not in {r["id"] for r in data["tables"]["uploads"]}
    user_columns = {c.name for c in export.columns_pointing_at("users")}
    assert other.user_id not in set(_values(data, user_columns))

    # no secret: ciphertext, look-up hashes, token ids, storage keys
    entry = db.session.scalar(select(RosterEntry).where(RosterEntry.name == NAME))
    secrets = [entry.phone_encrypted, entry.phone_hash]
    secrets += [r.phone_encrypted for r in db.session.scalars(select(HelpRequest).where(
        HelpRequest.requester_id == me.user_id))]
    for family in families:
        secrets += [family.id, family.refresh_jti]
    secrets += [u.storage_key for u in db.session.scalars(select(Upload).where(Upload.owner_id == me.user_id))]
    for secret in secrets:
        assert secret and secret not in text
    for rows in data["tables"].values():
        for row in rows:
            assert not {"phone_encrypted", "phone_hash", "refresh_jti", "poll_secret_hash",
                        "storage_key", "badge_ref", "code_key"} & set(row)


def test_what_the_person_did_to_others_records_is_ids_only(people, admin, app):
    response = admin.get(EXPORT)
    assert response.status_code == 200
    data = response.json
    actions = data["actions_you_took"]
    # the admin confirmed both participations and created both tasks: ids and the deed
    assert {a["did"] for a in actions["participations"]} == {"confirmed_participation"}
    assert len(actions["participations"]) == 2
    assert {a["did"] for a in actions["tasks"]} == {"created_task"}
    # and every admin action it took is there by name and time, not its before/after
    assert {a["action"] for a in actions["audit_log"]} >= {"task.create", "participation.confirm"}
    for rows in actions.values():
        for row in rows:
            assert set(row) <= {"id", "did", "event_id", "action", "created_at", "at"}
    for foreign in (NAME, OTHER_NAME, PHONE, OTHER_PHONE, "很好"):
        assert foreign not in response.get_data(as_text=True)


def test_the_zip_holds_the_json_and_the_photos(people, app):
    (me, _, _, photo), _ = people
    as_json = me.get(EXPORT).get_data()
    for url, query in ((f"{EXPORT}.zip", {}), (EXPORT, {"format": "zip"})):
        response = me.get(url, query_string=query)
        assert response.status_code == 200 and response.mimetype == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
        assert json.loads(archive.read("data.json")) == json.loads(as_json)
        photos = [name for name in archive.namelist() if name.startswith("photos/")]
        uploads = db.session.scalars(select(Upload).where(Upload.owner_id == me.user_id)).all()
        assert sorted(photos) == sorted(f"photos/{u.id}.jpg" for u in uploads)
        assert archive.read(f"photos/{photo}.jpg") == get_storage().load(db.session.get(Upload, photo).storage_key)


def test_an_unknown_format_is_a_422(login):
    assert_error(login("o-someone").get(EXPORT, query_string={"format": "xml"}), 422, "validation_failed")


def test_a_closed_account_cannot_export(member):
    api = member(name=NAME, phone=PHONE)
    confirmation = api.post("/api/v1/me/cancellation", json={}).json["confirmation"]
    assert api.delete("/api/v1/me", json={"confirmation": confirmation}).status_code == 200
    assert_error(api.get(EXPORT), 401, "invalid_token")
    assert_error(api.get(f"{EXPORT}.zip"), 401, "invalid_token")


def test_exports_are_rate_limited_per_user(make_app, login):
    """One allowance for both forms, per person."""
    app = make_app(RATELIMIT_EXPORT="2/hour")
    api, someone = login("o-exporter"), login("o-someone")
    limited = ApiClient(app.test_client(), api.tokens, api.user_id)
    assert limited.get(EXPORT).status_code == 200
    assert limited.get(f"{EXPORT}.zip").status_code == 200
    response = limited.get(EXPORT, query_string={"format": "zip"})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    other = ApiClient(app.test_client(), someone.tokens, someone.user_id)
    assert other.get(EXPORT).status_code == 200
