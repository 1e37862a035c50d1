"""What a user who sees an event adds to it without acting on it: following
it (a voice instead of a duplicate report) and commenting on it."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.errors import NotFound
from app.extensions import db
from app.grid.access import visible_event
from app.grid.models import EventComment, EventFollower, GridEvent
from app.moderation import services as moderation
from app.moderation.commit import record_and_commit


def follow(user: User, event_id: int, note: str) -> GridEvent:
    """Add your voice to an open event you can see instead of filing a
    duplicate (once: following again changes nothing). An event you cannot
    see is 404, as if it did not exist."""
    event = visible_event(user, event_id)
    if not event.is_open:
        raise NotFound()
    db.session.add(EventFollower(event_id=event.id, user_id=user.id, note=note))
    try:
        db.session.flush()
    except IntegrityError:  # already following (perhaps by a concurrent request)
        db.session.rollback()
        return event
    event.followers = GridEvent.followers + 1
    db.session.commit()
    db.session.refresh(event)
    return event


def comment(user: User, event_id: int, body: str) -> EventComment:
    """Comment on an event you can see; the text passes the content check first."""
    event = visible_event(user, event_id)
    verdict = moderation.check_text("grid_comment", {"body": body}, user)
    entry = EventComment(event_id=event.id, user_id=user.id, body=body)
    db.session.add(entry)
    record_and_commit(verdict, entry, org_id=event.community_id, author_id=user.id)
    return entry
