"""Service demonstration posts (党员服务示范岗): the posts, the members assigned
to them, and their ratings: one per user, post and local day, scores 1–5."""
from __future__ import annotations

from sqlalchemy import Float, func, select, type_coerce

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, subtree_clause
from app.badges.errors import AlreadyRatedToday
from app.badges.models import DutySession, PostAssignment, PostRating, ServicePost
from app.badges.plate_codes import post_plate_token
from app.common import code_images, signed_codes
from app.common.db import LOCAL_TZ, utcnow
from app.common.geo import to_gcj02
from app.common.pagination import Page, keyset_page
from app.common.rows import get_or_404, get_row
from app.common.work import unit_of_work
from app.errors import NotFound
from app.extensions import db
from app.members.models import MemberIdentity
from app.moderation import services as moderation
from app.orgs.models import OrgNode
from app.orgs.services import visible_node

POST_FIELDS = ("name", "unit", "window", "service_items")


def create_post(actor: User, org_id: int, fields: dict) -> ServicePost:
    """A post in the actor's subtree; its name passes the content check first."""
    org = visible_node(actor, org_id, "badges.manage")
    verdict = moderation.check_text("service_post", {"name": fields.get("name")}, actor)
    post = ServicePost(org_id=org.id, code_key=signed_codes.new_key())
    _apply_post(post, fields)
    db.session.add(post)
    moderation.record(verdict, post, org_id=org.id, author_id=actor.id)
    audit.record(actor, "post.create", post, org_id=org.id, after=audit.state(post))
    db.session.commit()
    code_images.warm_later(post_plate_token, post)
    moderation.after_commit(verdict)
    return post


def _apply_post(post: ServicePost, fields: dict) -> None:
    for key in POST_FIELDS:
        if key in fields:
            setattr(post, key, fields[key])
    if fields.get("location"):
        point = to_gcj02(fields["location"])
        post.lat, post.lng = point.lat, point.lng


def get_post(post_id: int) -> ServicePost:
    """A post that was not deleted."""
    post = get_row(ServicePost, post_id)
    if post is None or post.deleted_at is not None:
        raise NotFound()
    return post


def managed_post(actor: User, post_id: int) -> ServicePost:
    """A post the actor may manage (``badges.manage`` on its org)."""
    post = get_post(post_id)
    authorize(actor, "badges.manage", post.org)
    return post


def public_post(user: User, post_id: int) -> ServicePost:
    """A post as anyone sees it: a post whose name is held for review only
    for the admins of its org."""
    post = get_post(post_id)
    if not moderation.may_see(user, post, None, post.org):
        raise NotFound()
    return post


def update_post(actor: User, post_id: int, fields: dict) -> ServicePost:
    post = managed_post(actor, post_id)
    name = fields.get("name")
    verdict = moderation.check_text("service_post", {"name": name if name != post.name else None}, actor)
    before = audit.state(post)
    _apply_post(post, fields)
    moderation.record(verdict, post, org_id=post.org_id, author_id=actor.id)
    audit.record_change(actor, "post.update", post, before, org_id=post.org_id)
    db.session.commit()
    moderation.after_commit(verdict)
    return post


def list_posts(actor: User, org_id: int, limit: int, cursor: str | None) -> Page:
    org = visible_node(actor, org_id, "badges.manage")
    stmt = (select(ServicePost).join(ServicePost.org)
            .where(subtree_clause(OrgNode.path, org.path), ServicePost.deleted_at.is_(None)))
    return keyset_page(stmt, (ServicePost.id,), limit, cursor)


def assign_member(actor: User, post_id: int, identity_id: int) -> PostAssignment:
    post = managed_post(actor, post_id)
    identity = get_or_404(MemberIdentity, identity_id)
    authorize(actor, "members.manage", identity.branch)
    existing = db.session.scalar(select(PostAssignment).where(
        PostAssignment.post_id == post.id, PostAssignment.identity_id == identity.id))
    if existing:
        return existing
    assignment = PostAssignment(post_id=post.id, identity_id=identity.id)
    db.session.add(assignment)
    audit.record(actor, "post.assign", assignment, org_id=post.org_id,
                 after={"post_id": post.id, "identity_id": identity.id})
    db.session.commit()
    return assignment


def unassign_member(actor: User, post_id: int, identity_id: int) -> None:
    post = managed_post(actor, post_id)
    assignment = db.session.scalar(select(PostAssignment).where(
        PostAssignment.post_id == post.id, PostAssignment.identity_id == identity_id))
    if assignment is None:
        raise NotFound()
    for session in db.session.scalars(select(DutySession).where(
            DutySession.post_id == post.id, DutySession.identity_id == identity_id,
            DutySession.ended_at.is_(None))):
        session.ended_at = utcnow()
    audit.record(actor, "post.unassign", assignment, org_id=post.org_id,
                 before={"post_id": post.id, "identity_id": identity_id})
    db.session.delete(assignment)
    db.session.commit()


def list_assignments(actor: User, post_id: int, limit: int, cursor: str | None) -> Page:
    """The members assigned to a post, in the order they were assigned."""
    post = managed_post(actor, post_id)
    stmt = select(PostAssignment).where(PostAssignment.post_id == post.id)
    return keyset_page(stmt, (PostAssignment.id,), limit, cursor)


def post_plate_code(actor: User, post_id: int) -> tuple[ServicePost, str]:
    """The post and the token its printed plate carries (the post's managers)."""
    post = managed_post(actor, post_id)
    return post, post_plate_token(post)


def rating_summary(post_id: int) -> dict:
    """How many ratings the post has, and their average (None without any)."""
    # type_coerce types the average (for mypy and the driver) without a CAST in the SQL
    count, average = db.session.execute(
        select(func.count(PostRating.id), type_coerce(func.avg(PostRating.score), Float))
        .where(PostRating.post_id == post_id)).one()
    return {"count": count, "average": round(float(average), 2) if average is not None else None}


def rate_post(user: User, post_id: int, score: int, comment: str) -> PostRating:
    """One rating per user, post and local day; the comment passes the content check first."""
    post = public_post(user, post_id)
    day = utcnow().astimezone(LOCAL_TZ).date()
    verdict = moderation.check_text("post_rating", {"comment": comment}, user)
    rating = PostRating(post_id=post.id, user_id=user.id, day=day, score=score, comment=comment)
    with unit_of_work(conflict=AlreadyRatedToday):  # one rating per user, post and day
        db.session.add(rating)
        moderation.record(verdict, rating, org_id=post.org_id, author_id=user.id)
    moderation.after_commit(verdict)
    return rating


def list_ratings(actor: User, post_id: int, limit: int, cursor: str | None) -> tuple[Page, dict]:
    """A page of the post's ratings, newest first, and its summary (its managers)."""
    post = managed_post(actor, post_id)
    stmt = select(PostRating).where(PostRating.post_id == post.id)
    return keyset_page(stmt, (PostRating.id,), limit, cursor, descending=True), rating_summary(post.id)
