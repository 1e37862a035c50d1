"""Reading a roster file (CSV or XLSX) into checked rows.

Headers may be English or Chinese. Every problem is reported with its
spreadsheet row number (the header is row 1) and column, so that the admin
can fix the whole file in one go.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from app.members import phones

MAX_ROWS = 20_000
HEADERS = {
    "name": "name", "姓名": "name",
    "phone": "phone", "手机号": "phone", "手机号码": "phone", "联系电话": "phone",
    "branch": "branch", "支部": "branch", "所属支部": "branch", "所在支部": "branch",
    "join_date": "join_date", "入党日期": "join_date", "入党时间": "join_date",
    "status": "status", "党员状态": "status", "状态": "status",
}
REQUIRED = ("name", "phone", "branch", "join_date", "status")
STATUSES = {
    "full": "full", "正式": "full", "正式党员": "full",
    "probationary": "probationary", "预备": "probationary", "预备党员": "probationary",
}


class RosterUnreadable(ValueError):
    """The file is not a CSV or XLSX roster at all."""


@dataclass
class RosterRow:
    row: int
    name: str
    phone: str
    branch: str
    join_date: dt.date
    member_status: str


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    # The branch cell of every data row, good or bad, so that an unknown
    # branch is reported even on a row that has other problems too.
    branches: dict[int, str] = field(default_factory=dict)

    def error(self, row: int, column: str, why: str) -> None:
        self.errors.append({"row": row, "column": column, "error": why})


def _read_table(content: bytes) -> list[list]:
    if content[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        except Exception as error:
            raise RosterUnreadable(f"not a readable XLSX file ({type(error).__name__})") from None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterUnreadable("not a CSV text file")
    if "\x00" in text:
        raise RosterUnreadable("not a CSV text file")
    return list(csv.reader(io.StringIO(text)))


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


def parse(content: bytes, today: dt.date) -> ParsedRoster:
    table = [row for row in _read_table(content) if any(str(c or "").strip() for c in row)]
    result = ParsedRoster()
    if not table:
        result.error(1, "*", "the file is empty")
        return result
    columns = {}
    for index, header in enumerate(table[0]):
        key = HEADERS.get(str(header or "").strip().lower()) or HEADERS.get(str(header or "").strip())
        if key:
            columns[key] = index
    missing = [c for c in REQUIRED if c not in columns]
    for column in missing:
        result.error(1, column, "missing column")
    if missing:
        return result
    if len(table) - 1 > MAX_ROWS:
        result.error(MAX_ROWS + 2, "*", f"more than {MAX_ROWS} rows; split the file")
        return result

    seen_phones: dict[str, int] = {}
    for number, raw in enumerate(table[1:], start=2):
        cell = {c: (raw[i] if i < len(raw) else None) for c, i in columns.items()}
        before = len(result.errors)
        name = str(cell["name"] or "").strip()
        if not name:
            result.error(number, "name", "required")
        elif len(name) > 50:
            result.error(number, "name", "longer than 50 characters")
        phone = phones.normalize(str(cell["phone"] or "").split(".")[0])
        if phone is None:
            result.error(number, "phone", "not a mainland mobile number (11 digits starting with 1)")
        elif phone in seen_phones:
            result.error(number, "phone", f"same phone as row {seen_phones[phone]}")
        else:
            seen_phones[phone] = number
        branch = str(cell["branch"] or "").strip()
        if not branch:
            result.error(number, "branch", "required")
        else:
            result.branches[number] = branch
        join_date = _date(cell["join_date"])
        if join_date is None:
            result.error(number, "join_date", "not a date (use YYYY-MM-DD)")
        elif join_date > today:
            result.error(number, "join_date", "in the future")
        status = STATUSES.get(str(cell["status"] or "").strip().lower())
        if status is None:
            result.error(number, "status", "must be probationary/预备党员 or full/正式党员")
        # (the three are None only on a row with errors)
        if len(result.errors) == before and phone and join_date and status:
            result.rows.append(RosterRow(number, name, phone, branch, join_date, status))
    return result
