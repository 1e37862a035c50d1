"""Access and refresh tokens, and the login sessions ("families") they belong to.

Both are JWTs signed with HS256 (an explicit allow-list: ``alg: none`` and
every other algorithm are refused), carrying ``sub``, ``typ``, ``jti``,
``iat``, ``exp`` and ``fam``, the login session they belong to.

* An access token lives ``ACCESS_TOKEN_TTL`` seconds.
* A refresh token can be used once: refreshing replaces the family's
  current refresh ``jti`` and issues a new pair in the same family.
  Presenting one that is no longer current means it was stolen or
  replayed, so the whole family is revoked.
* Logout revokes the family: its refresh token and every access token.

The database (:class:`~app.auth.models.TokenFamily`) is the truth about a
family, so that revocation and reuse detection survive a Redis restart.
Redis caches each family's status (``live``/``revoked``) for an access
token's lifetime, so that checking an access token costs one Redis read and
no SQL; on a cache miss the status rides on the user query that
authentication makes anyway, and is cached again. Refreshing and revoking
always go to the database. A revocation is written to the cache first and
then to the database, and ``live`` is only ever cached with ``NX``, so the
cache is never more permissive than the database.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, cast

import jwt
from flask import current_app
from sqlalchemy import CursorResult, case, delete, func, select, update

from app.auth.models import TokenFamily, User
from app.common.db import utcnow
from app.common.schemas import MAX_ID
from app.errors import InvalidToken
from app.extensions import db, get_redis

ALGORITHMS = ["HS256"]
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "typ", "fam"]
LIVE, REVOKED = "live", "revoked"
_SUB = re.compile(r"[1-9][0-9]{0,9}")
_ID = re.compile(r"[0-9a-f]{32}")


class RefreshTokenReused(InvalidToken):
    code = "refresh_token_reused"
    zh = "该刷新凭证已被使用过，为安全起见本次登录已失效，请重新登录。"
    en = "This refresh token was already used; the session has been revoked. Please log in again."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _encode(user_id: int, typ: str, family: str, ttl: int, jti: str | None = None) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user_id), "typ": typ, "jti": jti or uuid.uuid4().hex, "fam": family,
        "iat": now, "exp": now + dt.timedelta(seconds=ttl),
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHMS[0])


def _pair(user_id: int, family: str, refresh_jti: str) -> TokenPair:
    config = current_app.config
    return TokenPair(
        _encode(user_id, "access", family, config["ACCESS_TOKEN_TTL"]),
        _encode(user_id, "refresh", family, config["REFRESH_TOKEN_TTL"], refresh_jti),
        config["ACCESS_TOKEN_TTL"],
    )


def _cache_key(family: str) -> str:
    return f"auth:fam:{family}"


def _cache_ttl() -> int:
    # Every access token of a family dies within this long, so a cached
    # status never needs to outlive it; after that the database answers.
    return current_app.config["ACCESS_TOKEN_TTL"]


def issue_pair(user_id: int) -> TokenPair:
    """Start a login session for ``user_id``: a new family and its first pair.
    The family is added to the session; the caller's one commit stores it."""
    family, refresh_jti = uuid.uuid4().hex, uuid.uuid4().hex
    db.session.add(TokenFamily(id=family, user_id=user_id, refresh_jti=refresh_jti))
    get_redis().set(_cache_key(family), LIVE, ex=_cache_ttl(), nx=True)
    return _pair(user_id, family, refresh_jti)


def decode(token: str, typ: str) -> dict:
    """Verified claims of a token of type ``typ``, or :class:`InvalidToken`."""
    try:
        claims = jwt.decode(
            token, current_app.config["SECRET_KEY"], algorithms=ALGORITHMS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        raise InvalidToken() from None
    sub, family, jti = claims.get("sub"), claims.get("fam"), claims.get("jti")
    if (claims.get("typ") != typ
            or not isinstance(sub, str) or not _SUB.fullmatch(sub) or int(sub) > MAX_ID
            or not isinstance(family, str) or not _ID.fullmatch(family)
            or not isinstance(jti, str) or not 0 < len(jti) <= 64):
        raise InvalidToken()
    return claims


def cached_status(claims: dict) -> str | None:
    """The family's cached status (``live``/``revoked``), or None on a miss."""
    # the app's client decodes answers to str (app.extensions.init_redis)
    return cast("str | None", get_redis().get(_cache_key(claims["fam"])))


def status_column(claims: dict):
    """The family's status as a column of a query on :class:`User`: ``live``,
    ``revoked``, or NULL when no such family belongs to the user."""
    return (
        select(case((TokenFamily.revoked_at.is_(None), LIVE), else_=REVOKED))
        .where(TokenFamily.id == claims["fam"], TokenFamily.user_id == User.id)
        .correlate(User).scalar_subquery().label("family_status")
    )


def remember_status(claims: dict, status: str | None) -> None:
    """Cache what the database said after a miss; raise if it is not live."""
    if status == LIVE:
        # NX: a revocation cached meanwhile must win over what we read before it.
        get_redis().set(_cache_key(claims["fam"]), LIVE, ex=_cache_ttl(), nx=True)
        return
    get_redis().set(_cache_key(claims["fam"]), REVOKED, ex=_cache_ttl())
    raise InvalidToken()


def revoke_family(family: str, reason: str = "logout") -> None:
    """Revoke a login session, in the cache first so that no access token of
    it is accepted from now on, then durably."""
    get_redis().set(_cache_key(family), REVOKED, ex=_cache_ttl())
    db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False))
    db.session.commit()


def revoke_user_sessions(user_id: int, reason: str) -> list[str]:
    """Revoke every live session of a user in the caller's transaction; returns
    their families, for :func:`forget_sessions` once that is committed."""
    return list(db.session.scalars(
        update(TokenFamily)
        .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .returning(TokenFamily.id)
        .execution_options(synchronize_session=False)))


def forget_sessions(families: list[str]) -> None:
    """Cache the revocation of committed ``families``, so that no access token
    of them is accepted even before the cached "live" would expire."""
    for family in families:
        get_redis().set(_cache_key(family), REVOKED, ex=_cache_ttl())


def rotate(refresh_token: str) -> tuple[int, TokenPair]:
    """Spend a refresh token for a new pair; a second use revokes the family.

    The family's current ``jti`` is swapped by one conditional UPDATE, so of
    two concurrent uses of the same refresh token exactly one wins and the
    other counts as a reuse.
    """
    claims = decode(refresh_token, "refresh")
    user_id, family = int(claims["sub"]), claims["fam"]
    new_jti = uuid.uuid4().hex
    swapped = cast(CursorResult[Any], db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family, TokenFamily.user_id == user_id,
               TokenFamily.refresh_jti == claims["jti"], TokenFamily.revoked_at.is_(None))
        .values(refresh_jti=new_jti, generation=TokenFamily.generation + 1, refreshed_at=utcnow())
        .execution_options(synchronize_session=False))).rowcount
    if swapped != 1:
        db.session.rollback()
        stored = db.session.scalar(select(TokenFamily).where(TokenFamily.id == family))
        if stored is None or stored.user_id != user_id or stored.revoked_at is not None:
            raise InvalidToken()
        revoke_family(family, "reused")
        raise RefreshTokenReused()
    db.session.commit()
    get_redis().set(_cache_key(family), LIVE, ex=_cache_ttl(), nx=True)
    return user_id, _pair(user_id, family, new_jti)


def prune_ended() -> int:
    """Delete the families no token of which can still be used: revoked ones
    whose access tokens have expired, and those not refreshed for a refresh
    token's lifetime (for a periodic job); how many."""
    now = utcnow()
    config = current_app.config
    idle_since = now - dt.timedelta(seconds=config["REFRESH_TOKEN_TTL"])
    revoked_before = now - dt.timedelta(seconds=config["ACCESS_TOKEN_TTL"])
    deleted = cast(CursorResult[Any], db.session.execute(
        delete(TokenFamily).where(
            (TokenFamily.revoked_at <= revoked_before)
            | (func.coalesce(TokenFamily.refreshed_at, TokenFamily.created_at) <= idle_since))
        .execution_options(synchronize_session=False))).rowcount
    db.session.commit()
    return deleted
