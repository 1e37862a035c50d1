from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import Schema


class ExportArgsSchema(Schema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(("json", "zip")),
                              metadata={"description": "json (default) or zip: data.json and your photos"})
