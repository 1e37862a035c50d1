"""Photos of grid events: how many one step may carry, attaching the
reporter's or handler's uploads to the event, and which of them a viewer
sees (the content check of app.uploads decides)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.auth.models import User
from app.auth.permissions import PERMISSIONS, roles_over
from app.errors import NotFound
from app.extensions import db
from app.grid.access import visible_event
from app.grid.errors import TooManyPhotos
from app.grid.models import EventPhoto, GridEvent
from app.orgs.models import OrgNode
from app.uploads import services as uploads
from app.uploads.models import Upload

MAX_PHOTOS = 9


def within_limit(photo_ids: list[int] | None) -> list[int]:
    """The photo ids of one report or step, at most :data:`MAX_PHOTOS` of them."""
    photo_ids = photo_ids or []
    if len(photo_ids) > MAX_PHOTOS:
        raise TooManyPhotos({"max": MAX_PHOTOS})
    return photo_ids


def attach(user: User, event: GridEvent, photo_ids: list[int], stage: str,
           transition_id: int | None = None) -> None:
    """Claim the user's uploads as photos of the event at ``stage`` (in the
    caller's transaction: nothing is claimed if it fails)."""
    for upload in uploads.claim(user, photo_ids):
        db.session.add(EventPhoto(event_id=event.id, upload_id=upload.id, stage=stage,
                                  transition_id=transition_id))


@dataclass(frozen=True)
class ShownPhoto:
    upload_id: int
    stage: str
    check_state: str


def photos_of(user: User, event_ids: list[int]) -> dict[int, list[ShownPhoto]]:
    """The photos of each event that ``user`` may see, in one query: passed
    ones, and undecided ones to their uploader and to the admins who manage
    the event's community (they act on the report and moderate its photos)."""
    found: dict[int, list[ShownPhoto]] = {i: [] for i in event_ids}
    if not event_ids:
        return found
    moderators = PERMISSIONS["grid.manage"]
    rows = db.session.execute(
        select(EventPhoto.event_id, EventPhoto.upload_id, EventPhoto.stage, Upload.owner_id,
               Upload.check_state, OrgNode.path)
        .join(Upload, Upload.id == EventPhoto.upload_id)
        .join(GridEvent, GridEvent.id == EventPhoto.event_id)
        .join(OrgNode, OrgNode.id == GridEvent.community_id)
        .where(EventPhoto.event_id.in_(event_ids)).order_by(EventPhoto.id))
    for event_id, upload_id, stage, owner_id, state, path in rows:
        if uploads.shown_to(user.id, owner_id, state, bool(roles_over(user, path) & moderators)):
            found[event_id].append(ShownPhoto(upload_id, stage, state))
    return found


def event_photo(user: User, event_id: int, upload_id: int) -> tuple[Upload, bytes]:
    """A photo of an event the user sees, if the content check lets the user
    see it (app.uploads.services.shown_to); 404 otherwise."""
    event = visible_event(user, event_id)
    found = photos_of(user, [event.id])[event.id]
    if not any(photo.upload_id == upload_id for photo in found):
        raise NotFound()
    return uploads.get_upload(upload_id)
