"""Volunteers: registration (members are marked 党员志愿者)."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.errors import NotFound
from app.extensions import db
from app.members.services import identity_of
from app.moderation import services as moderation
from app.tasks.models import Volunteer
from app.tasks.rules import get_community


def register_volunteer(user: User, community_id: int, skills: list[str],
                       availability: str, name: str | None = None) -> tuple[Volunteer, bool]:
    """Register (or update) the user as a volunteer; members are marked 党员志愿者.
    New or changed skills pass the content check first."""
    community = get_community(community_id)
    identity = identity_of(user.id)
    volunteer = db.session.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    created = volunteer is None
    skills = sorted(set(skills))
    changed = volunteer is None or skills != volunteer.skills
    verdict = moderation.check_text("volunteer", {"skills": skills if changed else None}, user)
    if volunteer is None:
        volunteer = Volunteer(user_id=user.id)
        db.session.add(volunteer)
    volunteer.community = community  # the relationship too: sessions keep objects after commit
    volunteer.skills = skills
    volunteer.availability = availability
    if name is not None:
        volunteer.name = name.strip() or None
    volunteer.is_member = bool(identity and identity.is_active)
    moderation.record(verdict, volunteer, org_id=community.id, author_id=user.id)
    db.session.commit()
    moderation.after_commit(verdict)
    return volunteer, created


def my_volunteer(user: User) -> Volunteer:
    volunteer = db.session.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    if volunteer is None:
        raise NotFound()
    return volunteer
