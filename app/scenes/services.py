"""What a scene is: the object a mini-program code was printed for, and the
code that the check-in, plate and task endpoints take.

A scene is a signed token (app.common.code_images explains why it fits), so
resolving one is judging the token as its own endpoint would, by the same
key: 404 ``scene_not_found`` for what is not ours, names nothing or fails
its signature; 410 ``scene_revoked`` for a real object's old code (its key
was rotated, or a center moved from a poster to a screen), 410
``scene_expired`` for a task code past its time. What is left to judge (a
plate revoked, a center closed, the member's distance) is the next
endpoint's, as for a scanned URL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.badges.models import MerchantPlate, ServicePost
from app.checkin.models import ServiceCenter
from app.common import signed_codes
from app.common.schemas import MAX_ID
from app.errors import Gone, NotFound
from app.extensions import db
from app.tasks.models import Task
from app.tasks.presence import task_code_fresh


class SceneNotFound(NotFound):
    code = "scene_not_found"
    zh = "无法识别的小程序码，请扫描本系统印制的码。"
    en = "This mini-program code is not one of ours; scan a code this system printed."


class SceneRevoked(Gone):
    code = "scene_revoked"
    zh = "该码已作废，请扫描现场最新的码。"
    en = "This code has been replaced; scan the current one on site."


class SceneExpired(Gone):
    code = "scene_expired"
    zh = "该码已过期，请扫描组织者最新出示的码。"
    en = "This code has expired; scan the one the organizer shows now."


@dataclass(frozen=True)
class Subject:
    """One sort of object a scene can name: the scene's kind (as the
    mini-program's scan.js calls it), its model, whether a row still counts
    and the key version its codes carry now (None: its key never rotates)."""

    kind: str
    model: type[Any]
    alive: Callable[[Any], bool]
    key_version: Callable[[Any], int] | None = None


# The signed kinds a printed mini-program code carries (a center's rotating
# screen code is shown as a URL QR on its screen, never printed).
SUBJECTS = {
    "center_static": Subject("center", ServiceCenter, lambda c: c.deleted_at is None,
                             lambda c: c.key_version),
    "post_plate": Subject("post_plate", ServicePost, lambda p: p.deleted_at is None,
                          lambda p: p.key_version),
    "merchant_plate": Subject("merchant_plate", MerchantPlate, lambda p: p.state in ("approved", "revoked")),
    "task": Subject("task", Task, lambda t: True),
}


@dataclass(frozen=True)
class Scene:
    scene: str
    kind: str        # center | post_plate | merchant_plate | task
    subject_id: int
    code: str        # what POST /checkins, /plates/scan, /tasks/{id}/check-in take


def resolve(scene: str, now: dt.datetime) -> Scene:
    """The object behind ``scene`` and the code to go on with, if the scene is
    one we printed and still stands (see the module's docstring)."""
    try:
        code = signed_codes.parse(scene)
    except signed_codes.MalformedCode:
        raise SceneNotFound() from None
    subject = SUBJECTS.get(code.kind)
    if subject is None or code.subject_id > MAX_ID:
        raise SceneNotFound()
    row = db.session.get(subject.model, code.subject_id)
    if row is None or not subject.alive(row):
        raise SceneNotFound()
    current = subject.key_version(row) if subject.key_version else 1
    if code.key_version != current:
        # As the URL code: an older version of a key that rotates is told
        # apart (its signature cannot be checked, the old key is gone); any
        # other version is made up.
        raise SceneRevoked() if subject.key_version and code.key_version < current else SceneNotFound()
    if not code.verify(row.code_key.encode()):
        raise SceneNotFound()
    if code.kind == "center_static" and row.code_mode != "static":
        raise SceneRevoked()
    if code.kind == "task" and not task_code_fresh(code.step, now):
        raise SceneExpired()
    return Scene(scene=scene, kind=subject.kind, subject_id=row.id, code=scene)
