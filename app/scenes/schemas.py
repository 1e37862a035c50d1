"""What ``GET /scenes/{scene}`` answers."""
from __future__ import annotations

import marshmallow as ma

from app.common.schemas import Integer, Schema


class SceneSchema(Schema):
    scene = ma.fields.String(metadata={"description": "The scene, as the mini-program code carried it"})
    kind = ma.fields.String(metadata={"description": "center | post_plate | merchant_plate | task"})
    subject_id = Integer(metadata={"description": "The center, post, merchant plate or task"})
    code = ma.fields.String(metadata={
        "description": "The scanned code to go on with, as a URL QR code would give it: "
                       "`code` of POST /checkins (center), /plates/scan and /plates/duty "
                       "(plates), /tasks/{id}/check-in and check-out (task)"})
