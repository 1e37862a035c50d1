"""Account cancellation (注销账号): a person closes their account for good.

Two steps, so that one mistaken tap closes nothing: ``POST /me/cancellation``
answers what will be removed and what kept, with a confirmation that lives
ten minutes; ``DELETE /me`` with that confirmation closes the account, in one
transaction.

What closing does, for every table that points at a user (``POLICY`` names
each of them; a test fails when a new one is not named):

* **removed**: what only serves the person — sessions' ability to log in
  (revoked at once), roles, volunteer registration and skills, binding
  requests (name and phone), notices, follows, scan attempts (positions, IP,
  user agent), console tickets, photos never attached to anything.
* **kept without the person**: what records what happened and feeds the
  figures — the volunteer hours ledger and participations (the Ministry of
  Civil Affairs' rules keep service records long-term), check-ins (without
  position), grid events with their timeline and comments (public-interest
  case files other people's work is recorded in), ratings' scores, plate
  scans, badge checks (without position), admin decisions. These rows keep
  pointing at the user's row, which becomes a tombstone: no openid, unionid
  or session key, so nothing left joins it to a WeChat user, a name or a
  phone. The Party identity is closed and unlinked from the roster entry
  (the branch's own list, which the person did not give the app) so that the
  member counts of the branch stay true and the roster entry can be bound
  again by a new account.
* **ended**: places the person holds on tasks not yet started are released
  (the waitlist moves up), submitted help requests are cancelled, pending
  reports to a community are withdrawn and confirmed ones ended, service-post
  assignments and duty sessions end, the person's merchant plates are
  revoked, and grid events assigned to them by name fall back to the
  organization they were dispatched to.

The same WeChat user may log in again afterwards: that makes a new, empty
account.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Column, delete, select, update

from app.audit import log
from app.auth import tokens
from app.auth.models import User
from app.badges.merchants import PLATES
from app.badges.models import DutySession, MerchantPlate, PostAssignment
from app.common.db import utcnow
from app.common.work import unit_of_work
from app.errors import ValidationFailed
from app.extensions import db
from app.grid.models import GridEvent
from app.members.models import MemberIdentity
from app.members.services import IDENTITY
from app.moderation.models import ModerationItem
from app.orgs.models import MemberCommunityReport
from app.tasks.accepting import release_place
from app.tasks.machines import HELP_REQUEST
from app.tasks.models import HelpRequest, Participation
from app.uploads.models import Upload
from app.uploads.services import delete_unattached, remove_files

CONFIRMATION_SECONDS = 600
CLOSED_REASON = "账号已注销"


class ConfirmationInvalid(ValidationFailed):
    code = "confirmation_invalid"
    zh = "确认码无效或已过期，请重新申请注销。"
    en = "The confirmation is not valid or has expired; ask again."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="account-cancellation")


def request_cancellation(user: User) -> dict:
    """The first step: what closing the account does, and the confirmation."""
    return {
        "confirmation": _serializer().dumps({"u": user.id}),
        "expires_at": utcnow() + dt.timedelta(seconds=CONFIRMATION_SECONDS),
        "removed": REMOVED, "kept": KEPT,
    }


def cancel_account(user: User, confirmation: str) -> User:
    """The second step: close ``user``'s account, all of it or nothing."""
    try:
        claims = _serializer().loads(confirmation, max_age=CONFIRMATION_SECONDS)
    except (SignatureExpired, BadSignature):
        raise ConfirmationInvalid() from None
    if not isinstance(claims, dict) or claims.get("u") != user.id:
        raise ConfirmationInvalid()
    after_commit: list[Callable[[], None]] = []
    with unit_of_work():
        for (table, column), action in POLICY.items():
            action(user.id, db.metadata.tables[table].c[column], after_commit)
        db.session.execute(update(User).where(User.id == user.id).values(
            openid=f"closed:{user.id}", unionid=None, last_login_at=None, deleted_at=utcnow()))
        log.record(user, "account.close", user, org_id=None, before={"deleted_at": None},
                   after={"deleted_at": log.jsonable(utcnow())})
    for step in after_commit:
        step()
    db.session.refresh(user)
    return user


# What closing does to each column that points at a user: an action gets the
# user's id, the column, and a list of steps to run once all is committed.
Action = Callable[[int, Column, list], None]


def KEEP(user_id: int, column: Column, after_commit: list) -> None:
    """The row stays, pointing at the tombstone."""


def _delete_rows(user_id: int, column: Column, after_commit: list) -> None:
    db.session.execute(delete(column.table).where(column == user_id))


def _clear(**values) -> Action:
    def clear(user_id: int, column: Column, after_commit: list) -> None:
        db.session.execute(update(column.table).where(column == user_id).values(**values))
    return clear


def _close_identity(user_id: int, column: Column, after_commit: list) -> None:
    identity = db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == user_id))
    if identity is None:
        return
    now = utcnow()
    db.session.execute(delete(PostAssignment).where(PostAssignment.identity_id == identity.id))
    db.session.execute(update(DutySession).where(
        DutySession.identity_id == identity.id, DutySession.ended_at.is_(None)).values(ended_at=now))
    owned = MerchantPlate.owner_identity_id == identity.id
    PLATES.apply_all("reject", owned, reason=CLOSED_REASON, decided_at=now)
    PLATES.apply_all("revoke", owned, reason=CLOSED_REASON, decided_at=now)
    # unlinked from the roster entry (the branch's list), which a new account may bind again
    before = log.snapshot(identity, "status", "status_reason")
    IDENTITY.apply(identity, "close", status_reason=CLOSED_REASON, status_changed_at=now,
                   roster_entry_id=None)
    log.record(user_id, "identity.close", identity, org_id=identity.branch_id, before=before,
               after=log.snapshot(identity, "status", "status_reason"))


def _end_participations(user_id: int, column: Column, after_commit: list) -> None:
    """Release the places of tasks not yet over; keep the service record."""
    for participation in db.session.scalars(select(Participation).where(
            Participation.user_id == user_id,
            Participation.state.in_(("accepted", "waitlisted")))).all():
        release_place(participation)
    db.session.execute(update(Participation).where(Participation.user_id == user_id)
                       .values(comment=None))


def _end_help_requests(user_id: int, column: Column, after_commit: list) -> None:
    HELP_REQUEST.apply_all("cancel", HelpRequest.requester_id == user_id, decided_at=utcnow())
    db.session.execute(update(HelpRequest).where(HelpRequest.requester_id == user_id).values(
        description=CLOSED_REASON, address="", lat=None, lng=None,
        phone_encrypted="", phone_masked=""))


def _end_community_reports(user_id: int, column: Column, after_commit: list) -> None:
    now = utcnow()
    mine = MemberCommunityReport.user_id == user_id
    db.session.execute(update(MemberCommunityReport).where(mine, MemberCommunityReport.state == "pending")
                       .values(state="withdrawn", decided_at=now))
    db.session.execute(update(MemberCommunityReport).where(mine, MemberCommunityReport.state == "confirmed")
                       .values(state="ended", ended_at=now))


def _unassign_events(user_id: int, column: Column, after_commit: list) -> None:
    """Open events handed to the person by name stay with the organization
    they were dispatched to, whose handlers can take them on."""
    db.session.execute(update(GridEvent).where(
        GridEvent.assignee_user_id == user_id, GridEvent.is_open.is_(True))
        .values(assignee_user_id=None))


def _delete_unattached_uploads(user_id: int, column: Column, after_commit: list) -> None:
    keys = delete_unattached(Upload.owner_id == user_id)
    after_commit.append(lambda: remove_files(keys))


def _forget_authored_texts(user_id: int, column: Column, after_commit: list) -> None:
    """The moderation queue keeps what was decided, without its author, and
    without the excerpt of a text that closing removes (the others stay with
    their objects: grid events, task and post names)."""
    removed = ("volunteer", "help_request", "task_rating", "post_rating", "plate_feedback")
    db.session.execute(update(ModerationItem).where(
        ModerationItem.author_id == user_id, ModerationItem.kind.in_(removed)).values(excerpt=""))
    db.session.execute(update(ModerationItem).where(ModerationItem.author_id == user_id)
                       .values(author_id=None))


def _revoke_sessions(user_id: int, column: Column, after_commit: list) -> None:
    families = tokens.revoke_user_sessions(user_id, "closed")
    after_commit.append(lambda: tokens.forget_sessions(families))


POLICY: dict[tuple[str, str], Action] = {
    ("audit_log", "actor_id"): KEEP,  # what an admin did stays on record
    ("badge_shown", "verifier_id"): _clear(lat=None, lng=None),
    ("binding_requests", "decided_by_id"): KEEP,
    ("binding_requests", "user_id"): _delete_rows,
    ("checkin_attempts", "user_id"): _delete_rows,
    ("checkins", "user_id"): _clear(lat=None, lng=None),
    ("console_tickets", "user_id"): _delete_rows,
    ("correction_requests", "user_id"): KEEP,
    ("display_devices", "created_by_id"): KEEP,
    ("grid_event_comments", "user_id"): KEEP,
    ("grid_event_followers", "user_id"): _delete_rows,   # the events' follower counts stay
    ("grid_event_transitions", "actor_id"): KEEP,
    ("grid_events", "assignee_user_id"): _unassign_events,
    ("grid_events", "dispatcher_id"): KEEP,
    ("grid_events", "reporter_id"): KEEP,
    ("grid_leaders", "user_id"): _delete_rows,
    ("help_requests", "requester_id"): _end_help_requests,
    ("hours_ledger", "recorded_by_id"): KEEP,
    ("hours_ledger", "user_id"): KEEP,
    ("member_community_reports", "decided_by_id"): KEEP,
    ("member_community_reports", "user_id"): _end_community_reports,
    ("member_identities", "user_id"): _close_identity,
    ("moderation_items", "author_id"): _forget_authored_texts,
    ("moderation_items", "decided_by_id"): KEEP,
    ("merchant_feedback", "user_id"): _clear(comment=""),
    ("merchant_plates", "decided_by_id"): KEEP,
    ("notices", "user_id"): _delete_rows,
    ("org_community_reports", "decided_by_id"): KEEP,
    ("org_community_reports", "requested_by_id"): KEEP,
    ("participations", "confirmed_by_id"): KEEP,
    ("participations", "user_id"): _end_participations,
    ("plate_scans", "user_id"): KEEP,
    ("post_ratings", "user_id"): _clear(comment=""),
    ("role_grants", "granted_by_id"): KEEP,
    ("subscribe_deliveries", "user_id"): _delete_rows,
    ("subscriptions", "user_id"): _delete_rows,
    ("role_grants", "user_id"): _delete_rows,
    ("tasks", "created_by_id"): KEEP,
    ("token_families", "user_id"): _revoke_sessions,
    ("uploads", "moderator_id"): KEEP,
    ("uploads", "owner_id"): _delete_unattached_uploads,
    # a certificate was handed to others as proof: it stays verifiable
    ("volunteer_certificates", "user_id"): KEEP,
    ("volunteer_certificates", "revoked_by_id"): KEEP,
    ("volunteers", "user_id"): _delete_rows,
}

# What the first step tells the person, in the words of the mini-program.
REMOVED = [
    "微信登录信息（openid、unionid）和所有登录会话",
    "党员身份与花名册的关联、绑定申请中的姓名和手机号",
    "志愿者登记信息（技能、可服务时间）",
    "求助中的联系电话、地址和位置",
    "签到时记录的位置，扫码尝试记录（位置、IP、设备信息）",
    "评价和反馈的文字内容、消息通知与订阅、事件关注、未使用的照片",
    "担任的角色、服务岗安排、党员商户牌",
]
KEPT = [
    "志愿服务记录与时长（按民政部志愿服务记录办法长期保存，不再关联您的身份）",
    "阵地签到次数与评价分数（用于统计，不含位置和身份）",
    "网格事件及其处理记录（涉及他人工作的公共事务档案，不含您的身份）",
]
