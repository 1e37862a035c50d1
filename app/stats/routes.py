"""The district's figures: four JSON statistics and their XLSX workbooks,
all for one query (:class:`app.stats.period.PeriodArgsSchema`: ``org_id``,
``from``, ``to`` as Shanghai dates, both included), all ``stats.read``."""
from __future__ import annotations

import io

from flask import send_file

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.errors import Forbidden, NotFound, ValidationFailed
from app.stats import badges, checkins, export, grid, volunteers
from app.stats.period import PeriodArgsSchema
from app.stats.schemas import (
    BadgeStatsSchema,
    CheckinStatsArgsSchema,
    CheckinStatsSchema,
    GridStatsSchema,
    VolunteerStatsSchema,
)

blp = Blueprint("stats", __name__, description="The district's figures, as JSON and as spreadsheets (XLSX)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = {"200": {"description": "The workbook (one sheet per table, Chinese headers in row 1)",
                    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _send(workbook: export.Export):
    return send_file(io.BytesIO(workbook.to_bytes()), mimetype=XLSX, as_attachment=True,
                     download_name=workbook.filename, max_age=0)


@blp.route("/stats/<any(checkins, volunteers, grid, badges):name>.xlsx", methods=["GET"])
@login_required
@blp.arguments(PeriodArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def stats_xlsx(args, name):
    """The statistics of ``/stats/<name>`` as a workbook, for the same query:
    ``checkins`` (sheets 按日, 按阵地), ``volunteers`` (志愿服务, 求助单, 任务),
    ``grid`` (按状态, 按类别, 概况), ``badges`` (亮身份)."""
    return _send(export.export(current_user(), name, args["period"]))


@blp.route("/stats/checkins", methods=["GET"])
@login_required
@blp.arguments(CheckinStatsArgsSchema, location="query")
@blp.response(200, CheckinStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def checkin_stats(args):
    """Check-ins per center and per day for the subtree of ``org_id`` and the
    period (``center_days=true`` adds each center's days)."""
    return checkins.checkin_stats(current_user(), args["period"], args["center_days"])


@blp.route("/stats/volunteers", methods=["GET"])
@login_required
@blp.arguments(PeriodArgsSchema, location="query")
@blp.response(200, VolunteerStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def volunteer_stats(args):
    """Volunteers (members / others), person-times, hours, requests and tasks
    by state, average rating — for the subtree of ``org_id`` and the period."""
    return volunteers.volunteer_stats(current_user(), args["period"])


@blp.route("/stats/grid", methods=["GET"])
@login_required
@blp.arguments(PeriodArgsSchema, location="query")
@blp.response(200, GridStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def grid_stats(args):
    """Grid figures for the subtree of ``org_id``: events reported in the
    period by state and category, closed in time or late, average time to close."""
    return grid.grid_stats(current_user(), args["period"])


@blp.route("/stats/badges", methods=["GET"])
@login_required
@blp.arguments(PeriodArgsSchema, location="query")
@blp.response(200, BadgeStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def badge_stats(args):
    """Identities shown, plate scans, ratings and their average in the period;
    posts, members on duty and merchant plates by state now — for the subtree of ``org_id``."""
    return badges.badge_stats(current_user(), args["period"])
