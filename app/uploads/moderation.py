"""The photo moderation queue: photos WeChat sent to ``review`` (or that are
still ``pending``) on grid events of an admin's subtree, released or
rejected by that admin.

Photos are attached to grid events only, so the admins who moderate a photo
are those who manage its event's community (``grid.manage``); an upload not
attached yet is seen by its uploader alone and is in no queue.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.auth.permissions import PERMISSIONS, grants_of, scope_clause
from app.common.pagination import Page, keyset_page
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.grid.models import EventPhoto, GridEvent
from app.orgs.models import OrgNode
from app.uploads import services
from app.uploads.models import Upload

PERMISSION = "grid.manage"


@dataclass
class QueuedPhoto:
    upload: Upload
    event_id: int
    stage: str


def _in_scope(user: User):
    community = aliased(OrgNode)
    return (select(Upload).join(EventPhoto, EventPhoto.upload_id == Upload.id)
            .join(GridEvent, GridEvent.id == EventPhoto.event_id)
            .join(community, community.id == GridEvent.community_id)
            .where(scope_clause(user, PERMISSION, community.path)))


def photo_queue(user: User, state: str, limit: int, cursor: str | None) -> Page:
    """The admin's undecided photos in ``state`` (``review`` by default),
    oldest first; 403 for a user who moderates nothing."""
    if not any(role in PERMISSIONS[PERMISSION] for role, _ in grants_of(user)):
        raise Forbidden()
    page = keyset_page(_in_scope(user).where(Upload.check_state == state), (Upload.id,), limit, cursor)
    attached = {photo.upload_id: photo for photo in db.session.scalars(
        select(EventPhoto).where(EventPhoto.upload_id.in_([u.id for u in page.items])))}
    page.items = [QueuedPhoto(u, attached[u.id].event_id, attached[u.id].stage) for u in page.items]
    return page


def decide(user: User, upload_id: int, verdict: str) -> QueuedPhoto:
    """Release (``pass``) or reject (``risky``) an undecided photo of the
    admin's subtree (404 outside it; 409 when it was decided already)."""
    upload = db.session.scalar(_in_scope(user).where(Upload.id == upload_id))
    if upload is None:
        raise NotFound()
    photo = db.session.scalars(select(EventPhoto).where(EventPhoto.upload_id == upload.id)).one()  # in scope: attached
    event_id, stage = photo.event_id, photo.stage
    services.moderate(user, upload, verdict)
    return QueuedPhoto(upload, event_id, stage)
