"""Login through WeChat, token refresh and logout."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth import tokens
from app.auth.models import RoleGrant, User
from app.common.db import utcnow
from app.errors import Forbidden, InvalidToken
from app.extensions import db
from app.members.services import identity_of
from app.orgs.reports import current_member_report
from app.wechat.client import get_wechat


class AccountDisabled(Forbidden):
    code = "account_disabled"
    zh = "该账号已停用。"
    en = "This account has been disabled."


@dataclass
class LoginResult:
    user: User
    tokens: tokens.TokenPair
    created: bool


def login_with_wechat(code: str) -> LoginResult:
    """Exchange a ``wx.login()`` code for our tokens; the first login creates
    the user (keyed by openid, unionid kept when WeChat sends one)."""
    session = get_wechat().code2session(code)
    created = False
    user = db.session.scalar(select(User).where(User.openid == session.openid))
    if user is None:
        db.session.add(User(openid=session.openid))
        try:
            db.session.commit()
            created = True
        except IntegrityError:  # the same first login raced us and created the user
            db.session.rollback()
        user = db.session.scalars(select(User).where(User.openid == session.openid)).one()
    if not user.is_active:
        raise AccountDisabled()
    if session.unionid:
        user.unionid = session.unionid
    user.last_login_at = utcnow()
    pair = tokens.issue_pair(user.id)
    db.session.commit()
    return LoginResult(user, pair, created)


def refresh(refresh_token: str) -> LoginResult:
    """Rotate a refresh token; reuse of an old one revokes the whole family."""
    user_id, pair = tokens.rotate(refresh_token)
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidToken()
    return LoginResult(user, pair, False)


def logout(claims: dict) -> None:
    """End this login session: its refresh token and all its access tokens."""
    tokens.revoke_family(claims["fam"])


def roles_of(user: User) -> list[RoleGrant]:
    return list(db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)
                                   .order_by(RoleGrant.id)))


def _summary(user: User, identity) -> dict:
    return {"id": user.id, "created_at": user.created_at, "last_login_at": user.last_login_at,
            "is_member": bool(identity and identity.is_active)}


def token_answer(result: LoginResult) -> dict:
    """The body of a login or refresh answer."""
    return {**result.tokens.__dict__, "token_type": "Bearer",
            "user": _summary(result.user, identity_of(result.user.id))}


def profile(user: User) -> dict:
    """Who the user is: roles with their orgs, member identity, residence report."""
    identity = identity_of(user.id)
    return {
        "user": _summary(user, identity),
        "roles": roles_of(user),
        "identity": identity,
        "community_report": current_member_report(user.id),
    }
