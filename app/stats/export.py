"""XLSX workbooks of the statistics the console shows.

Each workbook is made from the JSON statistic of the same name, so it holds
exactly the figures of the JSON answer for the same query (the same
permission check, ``stats.read`` on the subtree, and the same cost: a few
indexed queries, never a scan of the history). One sheet per table of the
console's dashboard; the first row of a sheet is its Chinese header.

Every workbook reads the one period of :mod:`app.stats.period`. Sizes are
bounded by what the statistics return: check-ins at most 366 days and one
row per center of the subtree; the other tables have a fixed number of rows.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl import Workbook

from app.auth.models import User
from app.grid.categories import list_categories
from app.orgs.services import get_node
from app.stats.badges import badge_stats
from app.stats.checkins import checkin_stats
from app.stats.grid import grid_stats
from app.stats.period import Period
from app.stats.volunteers import volunteer_stats

# The states as the console names them (app/static/admin/pages/volunteer/labels.js and grid/labels.js
# say the same; the browser test compares a sheet with the page).
TASK_STATES = {"draft": "草稿", "published": "已发布", "in_progress": "进行中", "completed": "已完成",
               "cancelled": "已取消"}
REQUEST_STATES = {"submitted": "待审核", "dispatched": "已派单", "rejected": "已驳回", "cancelled": "已撤回",
                  "closed": "已关闭"}
EVENT_STATES = {"unverified": "待核实", "reported": "已上报", "accepted": "已受理", "dispatched": "已派遣",
                "in_progress": "处置中", "resolved": "已处置", "closed": "已结案", "rejected": "不予受理",
                "duplicate": "重复事件"}
PLATE_STATES = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回", "revoked": "已撤销"}


@dataclass
class Sheet:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


@dataclass
class Export:
    filename: str
    title: str
    sheets: list[Sheet]

    def to_bytes(self) -> bytes:
        """The workbook, written row by row (openpyxl's write-only mode)."""
        book = Workbook(write_only=True)
        book.properties.title = self.title
        book.properties.creator = "党建红"
        for sheet in self.sheets:
            ws = book.create_sheet(sheet.title)
            ws.column_dimensions["A"].width = 24
            ws.column_dimensions["B"].width = 16
            ws.append(sheet.columns)
            for row in sheet.rows:
                ws.append([_cell(value) for value in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _cell(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


def _period(period: Period) -> str:
    return f"{period.first.isoformat()}至{period.last.isoformat()}"


def _name(org_id: int) -> str:
    return get_node(org_id).name


def checkins_export(actor: User, period: Period) -> Export:
    """Check-ins per day and per center (as GET /stats/checkins)."""
    stats = checkin_stats(actor, period)
    title = f"{_name(period.org_id)}阵地签到统计（{_period(period)}）"
    return Export(f"{title}.xlsx", title, [
        Sheet("按日", ["日期", "签到人次"], [[d["day"], d["checkins"]] for d in stats["days"]]
              + [["合计", stats["total"]]]),
        Sheet("按阵地", ["阵地", "签到人次"], [[c["name"], c["checkins"]] for c in stats["centers"]]),
    ])


def volunteers_export(actor: User, period: Period) -> Export:
    """Volunteers, person-times, hours, rating; requests and tasks by state (as GET /stats/volunteers)."""
    stats = volunteer_stats(actor, period)
    title = f"{_name(period.org_id)}志愿服务统计（{_period(period)}）"
    figures = [["注册志愿者", stats["volunteers"]["total"]], ["党员志愿者", stats["volunteers"]["members"]],
               ["群众志愿者", stats["volunteers"]["others"]], ["服务人次", stats["person_times"]],
               ["服务时长（小时）", stats["hours"]], ["平均评分", stats["average_rating"]]]
    return Export(f"{title}.xlsx", title, [
        Sheet("志愿服务", ["指标", "数值"], figures),
        Sheet("求助单", ["状态", "数量"],
              [[label, stats["requests_by_state"].get(state, 0)] for state, label in REQUEST_STATES.items()]),
        Sheet("任务", ["状态", "数量"],
              [[label, stats["tasks_by_state"].get(state, 0)] for state, label in TASK_STATES.items()]),
    ])


def grid_export(actor: User, period: Period) -> Export:
    """Events by state and category, closed in time, grids (as GET /stats/grid)."""
    stats = grid_stats(actor, period)
    names = {c.code: c.name for c in list_categories()}
    closed = stats["closed_in_time"] + stats["closed_late"]
    rate = round(stats["closed_in_time"] / closed, 4) if closed else None
    seconds = stats["average_seconds_to_close"]
    title = f"{_name(period.org_id)}网格事件统计（{_period(period)}）"
    return Export(f"{title}.xlsx", title, [
        Sheet("按状态", ["状态", "事件数"],
              [[label, stats["events_by_state"].get(state, 0)] for state, label in EVENT_STATES.items()]),
        Sheet("按类别", ["类别", "事件数"],
              [[names.get(code, code), count] for code, count in sorted(stats["events_by_category"].items())]),
        Sheet("概况", ["指标", "数值"], [
            ["网格", stats["grids"]], ["网格党小组", stats["grid_party_groups"]],
            ["按时结案", stats["closed_in_time"]], ["超时结案", stats["closed_late"]],
            ["按时结案率", rate],
            ["平均结案用时（小时）", round(seconds / 3600, 1) if seconds is not None else None],
            ["返工次数", stats["rework"]], ["提级次数", stats["escalations"]]]),
    ])


def badges_export(actor: User, period: Period) -> Export:
    """Identities shown, posts, plate scans, ratings, merchant plates (as GET /stats/badges)."""
    stats = badge_stats(actor, period)
    title = f"{_name(period.org_id)}亮身份统计（{_period(period)}）"
    rows = [["亮身份次数", stats["identities_shown"]], ["示范岗", stats["posts"]],
            ["在岗党员", stats["on_duty_now"]], ["示范岗扫码", stats["post_plate_scans"]],
            ["商户牌扫码", stats["merchant_plate_scans"]], ["服务评价", stats["ratings"]],
            ["平均评分", stats["average_rating"]]]
    rows += [[f"商户牌（{label}）", stats["merchant_plates"].get(state, 0)]
             for state, label in PLATE_STATES.items()]
    return Export(f"{title}.xlsx", title, [Sheet("亮身份", ["指标", "数值"], rows)])


EXPORTS = {"checkins": checkins_export, "volunteers": volunteers_export, "grid": grid_export,
           "badges": badges_export}


def export(actor: User, name: str, period: Period) -> Export:
    """The workbook of the statistics ``name`` for a subtree and period."""
    return EXPORTS[name](actor, period)
