"""Volunteer service records frozen at confirmation, an append-only ledger,
and certificates of volunteer service (志愿服务证明): issue, PDF, verify, revoke."""
from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from pypdf import PdfReader

from app.extensions import db
from app.tasks.models import HoursEntry, Task
from tests.conftest import DATABASE_URL, assert_error
from tests.tasks.conftest import END, START, serve

ISSUE = "/api/v1/me/volunteer-certificate"
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def confirm(admin, participation, score=5):
    response = admin.post(f"/api/v1/participations/{participation['id']}/confirm",
                          json={"score": score, "comment": "认真负责"})
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def record(served, admin):
    """The served volunteer (1.5 h credited), confirmed by the organizer, with a name."""
    confirm(admin, served.participation)
    assert served.v.put("/api/v1/me/volunteer", json={"community_id": served.v.volunteer["community"]["id"],
                                                       "name": "王小明"}).status_code == 200
    return served


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader extracts it (pypdf reads fpdf2's two-byte
    codes through its embedded encoding CMap with a NUL before each character;
    the ToUnicode map itself is right), without white space."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\s\x00]+", "", text)


def pdf_qr(data: bytes) -> str:
    images = [image.image for page in PdfReader(io.BytesIO(data)).pages for image in page.images]
    found = [r.text for image in images for r in zxingcpp.read_barcodes(image)]
    assert len(found) == 1, found
    return found[0]


# ---- the record --------------------------------------------------------------------

def test_a_credit_freezes_the_record_as_confirmed(record, admin):
    ledger = record.v.get("/api/v1/me/volunteer-record").json["items"]
    assert len(ledger) == 1
    entry = ledger[0]
    assert (entry["service_name"], entry["organizer"], entry["place"], entry["confirmed_by"]) == \
        ("清洁家园", "丰泽社区", "", "organizer")
    assert dt.datetime.fromisoformat(entry["service_started_at"]) == START
    assert dt.datetime.fromisoformat(entry["service_ended_at"]) == START + dt.timedelta(hours=1, minutes=50)
    # the task renamed later: the record keeps what was confirmed
    db.session.execute(sa.update(Task).where(Task.id == record.task.id).values(title="别的名字", address="别处"))
    db.session.commit()
    again = record.v.get("/api/v1/me/volunteer-record").json["items"][0]
    assert (again["service_name"], again["place"]) == ("清洁家园", "")


def test_a_correction_is_a_new_row_carrying_the_same_record(record, admin):
    corrected = admin.post(f"/api/v1/participations/{record.participation['id']}/corrections",
                           json={"hours": 2, "reason": "补记提前到场时间"})
    assert corrected.status_code == 201, corrected.json
    rows = db.session.scalars(sa.select(HoursEntry).order_by(HoursEntry.id)).all()
    assert [(r.kind, float(r.hours)) for r in rows] == [("credit", 1.5), ("correction", 0.5)]
    assert {(r.service_name, r.organizer, r.service_started_at) for r in rows} == \
        {("清洁家园", "丰泽社区", START)}


@pytest.mark.skipif(not DATABASE_URL, reason="the append-only trigger is PostgreSQL's")
def test_the_ledger_refuses_updates_and_deletes_on_postgresql(record):
    for statement in (sa.update(HoursEntry).values(hours=100), sa.delete(HoursEntry)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    assert [float(h) for h in db.session.scalars(sa.select(HoursEntry.hours))] == [1.5]


# ---- issuing ----------------------------------------------------------------------

def test_a_certificate_lists_the_services_and_the_total(record, tree):
    response = record.v.post(ISSUE, json=PERIOD)
    assert response.status_code == 201, response.json
    body = response.json
    assert re.fullmatch(r"ZY2026-[A-Z2-7]{10}", body["serial"])
    assert (body["holder_name"], body["total_hours"], body["issuer"]["id"]) == ("王小明", 1.5, tree.a)
    assert [(s["service_name"], s["organizer"], s["hours"]) for s in body["services"]] == \
        [("清洁家园", "丰泽社区", "1.50")]
    assert body["verify_url"].startswith(f"https://dj.example.cn/certificates/{body['serial']}?sig=")
    listed = record.v.get("/api/v1/me/volunteer-certificates").json["items"]
    assert [c["serial"] for c in listed] == [body["serial"]]


def test_the_pdf_reads_in_chinese_and_its_qr_verifies(record, client):
    body = record.v.post(ISSUE, json=PERIOD).json
    response = record.v.get(body["pdf_url"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for words in ("志愿服务证明", "王小明", "2026年11月1日", "2026年11月30日", "累计服务时长1.5小时",
                  "清洁家园", "丰泽社区", body["serial"], "出具单位：丰泽社区"):
        assert words in text, words
    url = pdf_qr(response.data)
    assert url == body["verify_url"]
    parts = urlsplit(url)
    verified = client.get(f"/api/v1{parts.path}/verify", query_string={"sig": parse_qs(parts.query)["sig"][0]})
    assert verified.status_code == 200, verified.json
    assert verified.json["valid"] is True and verified.json["holder"] == "王*明"
    assert (verified.json["total_hours"], verified.json["service_count"], verified.json["issuer"]) == \
        (1.5, 1, "丰泽社区")
    page = client.get(parts.path, query_string={"sig": parse_qs(parts.query)["sig"][0]})
    assert page.status_code == 200 and "证明有效" in page.get_data(as_text=True)


def test_someone_elses_pdf_is_not_found(record, login):
    body = record.v.post(ISSUE, json=PERIOD).json
    assert_error(login("o-stranger").get(body["pdf_url"]), 404, "not_found")


def test_a_wrong_signature_or_serial_verifies_nothing(record, client):
    body = record.v.post(ISSUE, json=PERIOD).json
    serial = body["serial"]
    assert_error(client.get(f"/api/v1/certificates/{serial}/verify", query_string={"sig": "x" * 16}),
                 404, "not_found")
    assert_error(client.get("/api/v1/certificates/ZY2026-AAAAAAAAAA/verify", query_string={"sig": "x"}),
                 404, "not_found")
    assert_error(client.get(f"/api/v1/certificates/{serial}/verify"), 422, "validation_failed")
    assert_error(client.get(f"/api/v1/certificates/{serial}/verify", query_string={"sig": "äp\x9bÂ"}),
                 404, "not_found")  # not ASCII: still just a wrong signature
    assert client.get(f"/certificates/{serial}?sig=forged").status_code == 404


def test_a_revoked_certificate_verifies_as_revoked(record, admin, admin_b, client):
    body = record.v.post(ISSUE, json=PERIOD).json
    sig = parse_qs(urlsplit(body["verify_url"]).query)["sig"][0]
    url = f"/api/v1/certificates/{body['serial']}"
    assert_error(admin_b.post(f"{url}/revoke", json={"reason": "核查不实"}), 404, "not_found")
    assert_error(record.v.post(f"{url}/revoke", json={"reason": "我自己"}), 404, "not_found")
    assert_error(admin.post(f"{url}/revoke", json={}), 422, "validation_failed")
    revoked = admin.post(f"{url}/revoke", json={"reason": "服务记录核查不实"})
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["revoked_at"] is not None
    assert_error(admin.post(f"{url}/revoke", json={"reason": "again"}), 409, "certificate_revoked")
    verified = client.get(f"{url}/verify", query_string={"sig": sig}).json
    assert (verified["valid"], verified["state"]) == (False, "revoked")
    assert "服务记录核查不实" not in str(verified)  # the reason is the issuer's business
    assert "已被出具单位撤销" in client.get(f"/certificates/{body['serial']}?sig={sig}").get_data(as_text=True)


def test_a_volunteer_without_a_name_is_asked_for_one(served, admin):
    confirm(admin, served.participation)
    assert_error(served.v.post(ISSUE, json=PERIOD), 409, "name_required")


def test_a_member_is_named_as_on_the_roster(member_volunteer, make_task, admin, travel):
    v = member_volunteer()
    task = make_task(hours_credited=2)
    v.post(f"/api/v1/tasks/{task.id}/accept", json={})
    participation = serve(v, task.id, travel, START, END)
    confirm(admin, participation)
    assert v.post(ISSUE, json=PERIOD).json["holder_name"] == "陈小文"


@pytest.mark.parametrize(("period", "code"), [
    ({"from": "2026-10-01", "to": "2026-10-31"}, "no_service_in_period"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "validation_failed"),
    ({"from": "2020-01-01", "to": "2026-11-30"}, "validation_failed"),
    ({"from": "not a day", "to": "2026-11-30"}, "validation_failed"),
])
def test_bad_periods_are_refused_and_issue_nothing(record, period, code):
    assert_error(record.v.post(ISSUE, json=period), 422, code)
    assert record.v.get("/api/v1/me/volunteer-certificates").json["items"] == []


def test_one_organizations_services_and_the_common_issuer(record, make_task, admin_b, tree, travel, admin):
    """Services in two communities: without org_id the street issues; with one, only its services."""
    other = make_task(api=admin_b, community_id=tree.b, hours_credited=1,
                      starts_at=(START + dt.timedelta(days=1)).isoformat(),
                      ends_at=(END + dt.timedelta(days=1)).isoformat())
    record.v.post(f"/api/v1/tasks/{other.id}/accept", json={})
    confirm(admin_b, serve(record.v, other.id, travel, START + dt.timedelta(days=1), END + dt.timedelta(days=1)))
    both = record.v.post(ISSUE, json=PERIOD).json
    assert (both["issuer"]["id"], both["total_hours"], len(both["services"])) == (tree.street, 2.5, 2)
    only_b = record.v.post(ISSUE, json={**PERIOD, "org_id": tree.b}).json
    assert (only_b["issuer"]["id"], only_b["total_hours"]) == (tree.b, 1.0)
    assert_error(record.v.post(ISSUE, json={**PERIOD, "org_id": 999_999}), 404, "not_found")
