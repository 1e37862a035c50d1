"""The statistics as XLSX downloads: the same query parameters as the JSON
statistics (``/stats/<name>``), the same figures, Chinese headers."""
from __future__ import annotations

import io

from flask import send_file

from app.auth.current import current_user, login_required
from app.badges.schemas import BadgeStatsArgsSchema
from app.checkin.schemas import StatsArgsSchema
from app.common.blueprint import Blueprint
from app.errors import Forbidden, NotFound, ValidationFailed
from app.grid.schemas import GridStatsArgsSchema
from app.stats import services
from app.tasks.schemas import VolunteerStatsArgsSchema

blp = Blueprint("stats", __name__, description="The statistics as spreadsheets (XLSX)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = {"200": {"description": "The workbook (one sheet per table, Chinese headers in row 1)",
                    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _send(export: services.Export):
    return send_file(io.BytesIO(export.to_bytes()), mimetype=XLSX, as_attachment=True,
                     download_name=export.filename, max_age=0)


@blp.route("/stats/checkins.xlsx", methods=["GET"])
@login_required
@blp.arguments(StatsArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def checkins_xlsx(args):
    """Check-ins per day and per center (sheets 按日, 按阵地), as ``/stats/checkins``."""
    return _send(services.checkins_export(current_user(), args["org_id"], args["from_"], args["to"]))


@blp.route("/stats/volunteers.xlsx", methods=["GET"])
@login_required
@blp.arguments(VolunteerStatsArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def volunteers_xlsx(args):
    """Volunteers, person-times, hours; requests and tasks by state, as ``/stats/volunteers``."""
    return _send(services.volunteers_export(current_user(), args["org_id"], args["from_"], args["to"]))


@blp.route("/stats/grid.xlsx", methods=["GET"])
@login_required
@blp.arguments(GridStatsArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def grid_xlsx(args):
    """Grid events by state and category, closed in time, as ``/stats/grid``."""
    return _send(services.grid_export(current_user(), args["org_id"], args["from_"], args["to"]))


@blp.route("/stats/badges.xlsx", methods=["GET"])
@login_required
@blp.arguments(BadgeStatsArgsSchema, location="query")
@blp.doc(responses=WORKBOOK)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def badges_xlsx(args):
    """Identities shown, posts, plate scans, ratings, merchant plates, as ``/stats/badges``."""
    return _send(services.badges_export(current_user(), args["org_id"]))
