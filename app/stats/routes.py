"""The statistics as XLSX downloads: the same query parameters as the JSON
statistics (``/stats/<name>``), the same figures, Chinese headers."""
from __future__ import annotations

import io

from flask import send_file

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.errors import Forbidden, NotFound, ValidationFailed
from app.stats import badges, checkins, export, grid, volunteers
from app.stats.schemas import (
    BadgeStatsArgsSchema,
    BadgeStatsSchema,
    CheckinStatsSchema,
    ExportArgsSchema,
    GridStatsArgsSchema,
    GridStatsSchema,
    StatsArgsSchema,
    VolunteerStatsArgsSchema,
    VolunteerStatsSchema,
)

blp = Blueprint("stats", __name__, description="The statistics as spreadsheets (XLSX)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = {"200": {"description": "The workbook (one sheet per table, Chinese headers in row 1)",
                    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _send(export: export.Export):
    return send_file(io.BytesIO(export.to_bytes()), mimetype=XLSX, as_attachment=True,
                     download_name=export.filename, max_age=0)


@blp.route("/stats/<any(checkins, volunteers, grid, badges):name>.xlsx", methods=["GET"])
@login_required
@blp.arguments(ExportArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def stats_xlsx(args, name):
    """The statistics of ``/stats/<name>`` as a workbook, for the same query:
    ``checkins`` (sheets 按日, 按阵地), ``volunteers`` (志愿服务, 求助单, 任务),
    ``grid`` (按状态, 按类别, 概况), ``badges`` (亮身份)."""
    return _send(export.export(current_user(), name, args["org_id"], args["from_"], args["to"]))


@blp.route("/stats/checkins", methods=["GET"])
@login_required
@blp.arguments(StatsArgsSchema, location="query")
@blp.response(200, CheckinStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def checkin_stats(args):
    """Check-ins per center and per day for the subtree of ``org_id``
    (``center_days=true`` adds each center's days)."""
    return checkins.checkin_stats(current_user(), args["org_id"], args["from_"], args["to"],
                                  args["center_days"])


@blp.route("/stats/volunteers", methods=["GET"])
@login_required
@blp.arguments(VolunteerStatsArgsSchema, location="query")
@blp.response(200, VolunteerStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def volunteer_stats(args):
    """Volunteers (members / others), person-times, hours, requests and tasks
    by state, average rating — for the subtree of ``org_id`` and a period."""
    return volunteers.volunteer_stats(current_user(), args["org_id"], args["from_"], args["to"])


@blp.route("/stats/grid", methods=["GET"])
@login_required
@blp.arguments(GridStatsArgsSchema, location="query")
@blp.response(200, GridStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def grid_stats(args):
    """Grid figures for the subtree of ``org_id`` and a period."""
    return grid.grid_stats(current_user(), args["org_id"], args["from_"], args["to"])


@blp.route("/stats/badges", methods=["GET"])
@login_required
@blp.arguments(BadgeStatsArgsSchema, location="query")
@blp.response(200, BadgeStatsSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def badge_stats(args):
    """Identities shown, posts, members on duty now, plate scans, ratings and
    their average, merchant plates by state — for the subtree of ``org_id``."""
    return badges.badge_stats(current_user(), args["org_id"])
