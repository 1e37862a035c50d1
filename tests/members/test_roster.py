"""Roster import (CSV/XLSX, all or nothing), the roster list, phones at rest."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from flask import request_finished
from sqlalchemy import func, select, text

from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from tests.conftest import ApiClient, assert_error

A1_NAME = "丰泽社区第一党支部"
A2_NAME = "丰泽社区第二党支部"
B1_NAME = "新江社区党支部"
HEADER = ("name", "phone", "branch", "join_date", "status")
ZH_HEADER = ("姓名", "手机号", "所属支部", "入党日期", "状态")


def roster_url(org_id):
    return f"/api/v1/orgs/{org_id}/roster"


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=ZH_HEADER) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(api, org_id, content: bytes, filename="roster.csv"):
    return api.post(roster_url(org_id), data={"file": (io.BytesIO(content), filename)},
                    content_type="multipart/form-data")


def roster_rows() -> list[tuple]:
    """What the roster table holds, committed, as comparable tuples."""
    db.session.expire_all()
    return sorted(db.session.execute(select(
        RosterEntry.id, RosterEntry.phone_hash, RosterEntry.name, RosterEntry.branch_id,
        RosterEntry.join_date, RosterEntry.member_status)).all())


def roster_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RosterEntry))


GOOD = [
    ("陈小文", "13812345678", A1_NAME, "2010-07-01", "full"),
    ("王五", "+86 139-0000-0002", A2_NAME, "2019/3/8", "probationary"),
    ("李四", "15000000003", A1_NAME, "2021-12-31", "正式党员"),
]


@pytest.fixture
def bodies(app):
    """Every response body the app sends during the test."""
    seen: list[str] = []

    def record(sender, response, **extra):
        seen.append(response.get_data(as_text=True))

    request_finished.connect(record, app)
    yield seen
    request_finished.disconnect(record, app)


# ---- good files -------------------------------------------------------------

def test_csv_with_english_headers_imports(admin, tree):
    response = upload(admin, tree.a, csv_bytes(GOOD))
    assert response.status_code == 200, response.json
    assert response.json == {"created": 3, "updated": 0, "unchanged": 0}
    assert roster_count() == 3

    items = admin.get(roster_url(tree.a)).json["items"]
    by_name = {item["name"]: item for item in items}
    assert set(by_name) == {"陈小文", "王五", "李四"}
    assert by_name["陈小文"]["phone"] == "138****5678"
    assert by_name["陈小文"]["branch"] == {"id": tree.a1, "kind": "party_branch", "name": A1_NAME}
    assert by_name["陈小文"]["join_date"] == "2010-07-01"
    assert by_name["陈小文"]["member_status"] == "full"
    # "+86 139-0000-0002" is stored as the bare 11-digit number
    assert by_name["王五"]["phone"] == "139****0002"
    assert by_name["王五"]["branch"]["id"] == tree.a2
    assert by_name["王五"]["join_date"] == "2019-03-08"
    assert by_name["王五"]["member_status"] == "probationary"
    assert by_name["李四"]["member_status"] == "full"
    assert by_name["李四"]["updated_at"].endswith(("Z", "+00:00"))


def test_branch_may_be_given_by_id(admin, tree):
    rows = [("陈小文", "13812345678", str(tree.a2), "2010-07-01", "full")]
    assert upload(admin, tree.a, csv_bytes(rows)).json == {"created": 1, "updated": 0, "unchanged": 0}
    assert db.session.scalar(select(RosterEntry.branch_id)) == tree.a2


def test_xlsx_with_chinese_headers_imports(admin, tree):
    content = xlsx_bytes([
        ("陈小文", 13812345678, A1_NAME, dt.datetime(2010, 7, 1), "正式党员"),
        ("王五", "13900000002", A2_NAME, dt.date(2024, 5, 20), "预备党员"),
        ("李四", "15000000003", A1_NAME, "2001-10-01", "预备"),
    ])
    response = upload(admin, tree.a, content, "名单.xlsx")
    assert response.status_code == 200, response.json
    assert response.json == {"created": 3, "updated": 0, "unchanged": 0}

    entries = {e.name: e for e in db.session.scalars(select(RosterEntry))}
    assert entries["陈小文"].member_status == "full"
    assert entries["陈小文"].join_date == dt.date(2010, 7, 1)
    assert entries["陈小文"].phone_masked == "138****5678"
    assert entries["王五"].member_status == "probationary"
    assert entries["王五"].branch_id == tree.a2
    assert entries["李四"].join_date == dt.date(2001, 10, 1)

    # the same workbook again changes nothing
    assert upload(admin, tree.a, content, "名单.xlsx").json == {"created": 0, "updated": 0, "unchanged": 3}
    assert roster_count() == 3


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_chinese_csv_from_excel_imports(admin, tree, encoding):
    """Excel in China saves CSV as GBK, or UTF-8 with a BOM."""
    rows = [("陈小文", "13812345678", A1_NAME, "2010-07-01", "正式党员"),
            ("王五", "13900000002", A2_NAME, "2024-05-20", "预备党员")]
    response = upload(admin, tree.a, csv_bytes(rows, header=ZH_HEADER, encoding=encoding))
    assert response.status_code == 200, response.json
    assert response.json == {"created": 2, "updated": 0, "unchanged": 0}
    names = {e.name: (e.branch_id, e.member_status) for e in db.session.scalars(select(RosterEntry))}
    assert names == {"陈小文": (tree.a1, "full"), "王五": (tree.a2, "probationary")}


def test_reimport_is_unchanged_and_never_duplicates(admin, tree):
    content = csv_bytes(GOOD)
    assert upload(admin, tree.a, content).json == {"created": 3, "updated": 0, "unchanged": 0}
    before = roster_rows()
    assert upload(admin, tree.a, content).json == {"created": 0, "updated": 0, "unchanged": 3}
    assert roster_rows() == before
    assert roster_count() == 3


def test_changed_rows_are_updated_in_place(admin, tree):
    upload(admin, tree.a, csv_bytes(GOOD))
    ids = {name: id_ for id_, _, name, *_ in roster_rows()}
    changed = [
        ("陈晓文", "13812345678", A1_NAME, "2010-07-01", "full"),       # name corrected
        ("王五", "13900000002", A2_NAME, "2019-03-08", "full"),          # became a full member
        ("李四", "15000000003", A1_NAME, "2021-12-31", "full"),          # as before
        ("赵六", "18600000004", A2_NAME, "2022-07-01", "probationary"),  # new
    ]
    response = upload(admin, tree.a, csv_bytes(changed))
    assert response.json == {"created": 1, "updated": 2, "unchanged": 1}
    entries = {e.phone_masked: e for e in db.session.scalars(select(RosterEntry))}
    assert len(entries) == roster_count() == 4
    assert entries["138****5678"].name == "陈晓文"
    assert entries["138****5678"].id == ids["陈小文"]  # the same row, not a new one
    assert entries["139****0002"].member_status == "full"
    assert entries["139****0002"].id == ids["王五"]


def test_a_member_moved_to_another_branch_moves_with_the_roster(admin, member, tree):
    bound = member("陈小文", "13812345678", tree.a1)
    response = upload(admin, tree.a, csv_bytes([("陈小文", "13812345678", A2_NAME, "2010-07-01", "full")]))
    assert response.json == {"created": 0, "updated": 1, "unchanged": 0}
    assert bound.get("/api/v1/me/identity").json["branch"]["id"] == tree.a2
    members = admin.get(f"/api/v1/orgs/{tree.a2}/members").json["items"]
    assert [m["user_id"] for m in members] == [bound.user_id]


# ---- bad files: every problem listed, nothing imported ------------------------

def test_bad_file_lists_every_bad_row_and_imports_nothing(admin, tree, bodies):
    upload(admin, tree.a, csv_bytes([("老党员", "13700000000", A1_NAME, "1980-07-01", "full")]))
    before = roster_rows()
    rows = [
        ("陈小文", "13812345678", A1_NAME, "2010-07-01", "full"),        # 2 fine
        ("李四", "12345", A1_NAME, "2010-07-01", "full"),                # 3 bad phone
        ("", "13800000003", A1_NAME, "2010-07-01", "full"),              # 4 no name
        ("王五", "13800000004", "不存在的支部", "2010-07-01", "full"),     # 5 unknown branch
        ("赵六", "13800000005", A1_NAME, "2999-01-01", "full"),          # 6 future date
        ("孙七", "13800000006", A2_NAME, "2010-07-01", "member"),        # 7 bad status
        ("周八", "138-1234-5678", A2_NAME, "2010-07-01", "full"),        # 8 same phone as row 2
        ("吴九", "13800000008", B1_NAME, "2010-07-01", "full"),          # 9 community B's branch
        ("郑十", "13800000009", A2_NAME, "2010-07-01", "probationary"),  # 10 fine
        ("老党员", "13700000000", A2_NAME, "1980-07-01", "full"),        # 11 fine (an update)
    ]
    response = upload(admin, tree.a, csv_bytes(rows))
    error = assert_error(response, 422, "roster_invalid")
    found = [(e["row"], e["column"]) for e in error["details"]["rows"]]
    assert found == [(3, "phone"), (4, "name"), (5, "branch"), (6, "join_date"), (7, "status"),
                     (8, "phone"), (9, "branch")]
    assert all(isinstance(e["error"], str) and e["error"] for e in error["details"]["rows"])
    assert "row 2" in error["details"]["rows"][5]["error"]  # points at the first occurrence
    assert error["details"]["count"] == 7
    assert "7" in error["message"]
    # nothing written: neither the good rows nor the update of the existing entry
    assert roster_rows() == before
    # and the rejected phones are not echoed back
    assert not any("13812345678" in body for body in bodies)


def test_a_row_with_several_problems_reports_each(admin, tree):
    rows = [("陈小文", "1381234", "不存在的支部", "07/01/2010", "full")]
    error = assert_error(upload(admin, tree.a, csv_bytes(rows)), 422, "roster_invalid")
    assert [(e["row"], e["column"]) for e in error["details"]["rows"]] == [
        (2, "branch"), (2, "join_date"), (2, "phone")]


@pytest.mark.parametrize("header, missing", [
    (("name", "phone", "branch"), ["join_date", "status"]),
    (("姓名", "电话", "支部", "入党日期", "状态"), ["phone"]),
])
def test_missing_column_is_a_row_1_error(admin, tree, header, missing):
    rows = [("陈小文", "13812345678", A1_NAME, "2010-07-01", "full")[:len(header)]]
    error = assert_error(upload(admin, tree.a, csv_bytes(rows, header=header)), 422, "roster_invalid")
    assert [(e["row"], e["column"]) for e in error["details"]["rows"]] == [(1, c) for c in missing]
    assert roster_count() == 0


def test_ambiguous_branch_name_needs_the_id(admin, tree):
    from app.orgs.models import OrgNode
    from app.orgs.services import insert_node

    # a second branch of the same name elsewhere in community A
    twin = insert_node("party_branch", A1_NAME, db.session.get(OrgNode, tree.a2))
    db.session.commit()
    rows = [("陈小文", "13812345678", A1_NAME, "2010-07-01", "full")]
    error = assert_error(upload(admin, tree.a, csv_bytes(rows)), 422, "roster_invalid")
    assert [(e["row"], e["column"]) for e in error["details"]["rows"]] == [(2, "branch")]
    rows = [("陈小文", "13812345678", str(twin.id), "2010-07-01", "full")]
    assert upload(admin, tree.a, csv_bytes(rows)).json["created"] == 1


def test_a_phone_on_another_communitys_roster_reveals_nothing(admin, login_as, login, wx, tree, bodies):
    upload(admin, tree.a, csv_bytes([("陈小文", "13812345678", A1_NAME, "2010-07-01", "full")]))
    (a_entry,) = roster_rows()
    admin_b = login_as("org_admin", tree.b)
    rows = [("陈小文", "13812345678", B1_NAME, "2010-07-01", "full"),
            ("王五", "13900000002", B1_NAME, "2010-07-01", "full")]
    bodies.clear()
    response = upload(admin_b, tree.b, csv_bytes(rows))
    # read like two new entries: nothing says the phone is on a roster B cannot see
    assert response.status_code == 200, response.json
    assert response.json == {"created": 2, "updated": 0, "unchanged": 0}
    # and a file with a real problem lists only that problem
    bad = [*rows, ("李四", "15000000003", "没有这个支部", "2010-07-01", "full")]
    error = assert_error(upload(admin_b, tree.b, csv_bytes(bad)), 422, "roster_invalid")
    assert [(e["row"], e["column"]) for e in error["details"]["rows"]] == [(4, "branch")]
    for body in bodies:
        assert "丰泽" not in body and "another" not in body and "其他" not in body
    # A's entry stays A's; B got only its new member
    assert a_entry in roster_rows()
    assert {(name, branch) for _, _, name, branch, *_ in roster_rows()} == {
        ("陈小文", tree.a1), ("王五", tree.b1)}
    # binding still resolves to the one entry of that phone
    user = login("o-chen")
    bound = user.post("/api/v1/me/member-binding",
                      json={"name": "陈小文", "phone_code": wx.phone_code("13812345678")})
    assert bound.status_code == 201, bound.json
    assert bound.json["identity"]["branch"]["id"] == tree.a1


def _pdf() -> bytes:
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 12 /Filter /FlateDecode >>\nstream\n"
            b"x\x9c\x00\x01\xff\xfe\x00\x00\x8f\x90\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n")


def _zip_that_is_not_a_workbook() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a spreadsheet")
    return buffer.getvalue()


@pytest.mark.parametrize("content, filename", [
    (_pdf(), "roster.pdf"),
    (_pdf(), "roster.csv"),  # judged by content, not by name
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "roster.xlsx"),
    (b"PK\x03\x04" + b"\x00\xff" * 40, "roster.xlsx"),  # a broken zip
    (_zip_that_is_not_a_workbook(), "roster.xlsx"),
])
def test_a_file_that_is_no_roster_is_422(admin, tree, content, filename):
    error = assert_error(upload(admin, tree.a, content, filename), 422, "roster_invalid")
    assert error["details"]["rows"], error
    assert roster_count() == 0


def test_empty_file_is_422(admin, tree):
    error = assert_error(upload(admin, tree.a, b""), 422, "validation_failed")
    assert "file" in error["details"]["fields"]
    # blank lines only: a file without even a header row
    error = assert_error(upload(admin, tree.a, b"\r\n \r\n,,\r\n"), 422, "roster_invalid")
    assert error["details"]["rows"][0]["row"] == 1
    assert roster_count() == 0


def test_missing_file_field_is_422(admin, tree):
    error = assert_error(admin.post(roster_url(tree.a), data={"other": "x"},
                                    content_type="multipart/form-data"), 422, "validation_failed")
    assert "file" in error["details"]["fields"]


def test_header_only_file_imports_nothing(admin, tree):
    assert upload(admin, tree.a, csv_bytes([])).json == {"created": 0, "updated": 0, "unchanged": 0}


def test_file_over_the_import_limit_is_413(admin, tree, make_app):
    small = ApiClient(make_app(MAX_IMPORT_BYTES=1000).test_client(), admin.tokens, admin.user_id)
    rows = [(f"党员{i}", f"138{i:08d}", A1_NAME, "2010-07-01", "full") for i in range(40)]
    content = csv_bytes(rows)
    assert len(content) > 1000
    error = assert_error(upload(small, tree.a, content), 413, "payload_too_large")
    assert error["details"]["limit"] == 1000
    assert roster_count() == 0
    # exactly at the limit is fine (blank lines are ignored)
    content = csv_bytes(rows[:3])
    content += b"\r\n" * ((1000 - len(content)) // 2) + b"\n" * ((1000 - len(content)) % 2)
    assert len(content) == 1000
    assert upload(small, tree.a, content).json == {"created": 3, "updated": 0, "unchanged": 0}


# ---- who may import and read --------------------------------------------------

def test_admin_of_another_community_gets_404(login_as, tree):
    admin_b = login_as("org_admin", tree.b)
    assert_error(upload(admin_b, tree.a, csv_bytes(GOOD)), 404, "not_found")
    assert_error(upload(admin_b, tree.a1, csv_bytes(GOOD)), 404, "not_found")
    assert_error(admin_b.get(roster_url(tree.a)), 404, "not_found")
    assert roster_count() == 0


def test_resident_gets_404(login_as, tree):
    resident = login_as(None)
    assert_error(upload(resident, tree.a, csv_bytes(GOOD)), 404, "not_found")
    assert_error(resident.get(roster_url(tree.a)), 404, "not_found")
    assert_error(upload(resident, 999_999, csv_bytes(GOOD)), 404, "not_found")
    assert roster_count() == 0


def test_a_role_without_member_rights_gets_403(login_as, tree):
    center_admin = login_as("center_admin", tree.a)
    assert_error(upload(center_admin, tree.a, csv_bytes(GOOD)), 403, "forbidden")
    assert_error(center_admin.get(roster_url(tree.a)), 403, "forbidden")
    assert roster_count() == 0


def test_branch_admin_imports_only_into_their_branch(login_as, tree):
    branch_admin = login_as("org_admin", tree.a1)
    error = assert_error(upload(branch_admin, tree.a1, csv_bytes(GOOD)), 422, "roster_invalid")
    assert [(e["row"], e["column"]) for e in error["details"]["rows"]] == [(3, "branch")]
    rows = [GOOD[0], GOOD[2]]
    assert upload(branch_admin, tree.a1, csv_bytes(rows)).json["created"] == 2
    assert_error(upload(branch_admin, tree.a, csv_bytes(rows)), 404, "not_found")


def test_street_admin_sees_the_roster_of_its_communities(admin, login_as, tree):
    upload(admin, tree.a, csv_bytes(GOOD))
    street = login_as("org_admin", tree.street)
    assert len(street.get(roster_url(tree.street)).json["items"]) == 3
    assert street.get(roster_url(tree.b)).json["items"] == []
    assert [i["name"] for i in admin.get(roster_url(tree.a2)).json["items"]] == ["王五"]


# ---- the list, and phones at rest ------------------------------------------------

def test_roster_list_shows_masked_phones_only(admin, tree, bodies):
    upload(admin, tree.a, csv_bytes(GOOD))
    upload(admin, tree.a, csv_bytes(GOOD))
    items = admin.get(roster_url(tree.a)).json["items"]
    assert sorted(i["phone"] for i in items) == ["138****5678", "139****0002", "150****0003"]
    for full in ("13812345678", "13900000002", "15000000003"):
        assert not any(full in body for body in bodies), full


def test_roster_list_pages_with_a_cursor(admin, tree):
    rows = [(f"党员{i}", f"138{i:08d}", A1_NAME, "2010-07-01", "full") for i in range(5)]
    upload(admin, tree.a, csv_bytes(rows))
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get(roster_url(tree.a), query_string=query).json
        assert len(page["items"]) <= 2
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(r[0] for r in rows)
    assert_error(admin.get(roster_url(tree.a), query_string={"cursor": "garbage"}), 422, "validation_failed")
    assert_error(admin.get(roster_url(tree.a), query_string={"limit": 101}), 422, "validation_failed")


def test_phones_are_stored_encrypted_with_a_lookup_hash(admin, tree):
    upload(admin, tree.a, csv_bytes(GOOD))
    rows = db.session.execute(text(
        "SELECT name, phone_encrypted, phone_hash, phone_masked FROM roster_entries")).all()
    assert len(rows) == 3
    phone_of = {"陈小文": "13812345678", "王五": "13900000002", "李四": "15000000003"}
    for name, encrypted, phone_hash, masked in rows:
        phone = phone_of[name]
        for column in (encrypted, phone_hash, masked):
            assert phone not in column
        assert phones.decrypt(encrypted) == phone
        assert phone_hash == phones.lookup_hash(phone)
        assert phone_hash != hashlib.sha256(phone.encode()).hexdigest()  # keyed, not a bare hash
        assert masked == phones.mask(phone)
    # encryption is randomised: the same phone twice gives two ciphertexts
    assert phones.encrypt("13812345678") != phones.encrypt("13812345678")


# ---- nothing half-written -------------------------------------------------------

def test_a_crash_in_the_middle_of_an_import_writes_nothing(admin, tree, monkeypatch):
    upload(admin, tree.a, csv_bytes([("老党员", "13700000000", A1_NAME, "1980-07-01", "full")]))
    calls = {"n": 0}
    real_encrypt = phones.encrypt

    def flaky(phone):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real_encrypt(phone)

    monkeypatch.setattr(phones, "encrypt", flaky)
    rows = [("老党员", "13700000000", A2_NAME, "1980-07-01", "full"), *GOOD]
    error = assert_error(upload(admin, tree.a, csv_bytes(rows)), 500, "internal_error")
    assert "disk" not in str(error)
    # What another connection sees: the first import only, untouched.
    with db.engine.connect() as connection:
        committed = connection.execute(text("SELECT name, branch_id FROM roster_entries")).all()
    assert committed == [("老党员", tree.a1)]
    db.session.rollback()  # what the request teardown does in production
    monkeypatch.undo()
    assert upload(admin, tree.a, csv_bytes(rows)).json == {"created": 3, "updated": 1, "unchanged": 0}


# ---- query counts ------------------------------------------------------------------

def test_roster_list_query_count_does_not_grow_with_rows(admin, tree, count_queries):
    from app.orgs.models import OrgNode
    from app.orgs.services import insert_node

    def add(count, start):
        for i in range(start, start + count):
            phone = f"138{i:08d}"
            # a branch of its own for every row, so that a lazy load per row would show
            branch = insert_node("party_branch", f"第{i}党支部", db.session.get(OrgNode, tree.a))
            db.session.add(RosterEntry(
                branch_id=branch.id, name=f"党员{i}", phone_encrypted=phones.encrypt(phone),
                phone_hash=phones.lookup_hash(phone), phone_masked=phones.mask(phone),
                join_date=dt.date(2010, 7, 1), member_status="full"))
        db.session.commit()

    def measure():
        db.session.remove()  # a fresh session, as each request has in production
        with count_queries() as counter:
            response = admin.get(roster_url(tree.a))
        assert response.status_code == 200
        return counter.count, len(response.json["items"])

    add(3, 0)
    admin.get(roster_url(tree.a))  # warm up
    few, n_few = measure()
    add(12, 3)
    many, n_many = measure()
    assert (n_few, n_many) == (3, 15)
    assert few == many


def test_identity_rows_are_untouched_by_a_failed_import(admin, member, tree):
    bound = member("陈小文", "13812345678", tree.a1)
    rows = [("陈小文", "13812345678", A2_NAME, "2010-07-01", "full"),
            ("坏行", "1", A2_NAME, "2010-07-01", "full")]
    assert_error(upload(admin, tree.a, csv_bytes(rows)), 422, "roster_invalid")
    db.session.expire_all()
    assert db.session.scalar(select(MemberIdentity.branch_id)) == tree.a1
    assert bound.get("/api/v1/me/identity").json["branch"]["id"] == tree.a1


@pytest.mark.parametrize("huge", [2**31, 10**20])
def test_ids_too_large_for_the_database_are_404_not_500(admin, tree, huge):
    assert_error(upload(admin, huge, csv_bytes(GOOD)), 404, "not_found")
    assert_error(admin.get(roster_url(huge)), 404, "not_found")
    assert upload(admin, tree.a, csv_bytes(GOOD)).status_code == 200
