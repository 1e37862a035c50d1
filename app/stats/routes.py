"""The statistics as XLSX downloads: the same query parameters as the JSON
statistics (``/stats/<name>``), the same figures, Chinese headers."""
from __future__ import annotations

import io

from flask import send_file

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.errors import Forbidden, NotFound, ValidationFailed
from app.stats import services
from app.stats.schemas import ExportArgsSchema

blp = Blueprint("stats", __name__, description="The statistics as spreadsheets (XLSX)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = {"200": {"description": "The workbook (one sheet per table, Chinese headers in row 1)",
                    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _send(export: services.Export):
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
    return _send(services.export(current_user(), name, args["org_id"], args["from_"], args["to"]))
