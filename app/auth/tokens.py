"""Access and refresh tokens.

Both are JWTs signed with HS256 (an explicit allow-list: ``alg: none`` and
every other algorithm are refused), carrying ``sub``, ``typ``, ``jti``,
``iat``, ``exp`` and ``fam``, the login session ("family") they belong to.

* An access token lives ``ACCESS_TOKEN_TTL`` seconds.
* A refresh token can be used once: refreshing deletes it from Redis and
  issues a new pair in the same family. Presenting one that is no longer
  in Redis means it was stolen or replayed, so the whole family is revoked.
* Logout revokes the family: its refresh token and every access token.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
from flask import current_app

from app.errors import InvalidToken
from app.extensions import get_redis

ALGORITHMS = ["HS256"]
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "typ", "fam"]


class RefreshTokenReused(InvalidToken):
    code = "refresh_token_reused"
    zh = "该刷新凭证已被使用过，为安全起见本次登录已失效，请重新登录。"
    en = "This refresh token was already used; the session has been revoked. Please log in again."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _encode(user_id: int, typ: str, family: str, ttl: int) -> tuple[str, str]:
    now = dt.datetime.now(dt.timezone.utc)
    jti = uuid.uuid4().hex
    claims = {
        "sub": str(user_id), "typ": typ, "jti": jti, "fam": family,
        "iat": now, "exp": now + dt.timedelta(seconds=ttl),
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHMS[0]), jti


def issue_pair(user_id: int, family: str | None = None) -> TokenPair:
    config = current_app.config
    family = family or uuid.uuid4().hex
    access, _ = _encode(user_id, "access", family, config["ACCESS_TOKEN_TTL"])
    refresh, refresh_jti = _encode(user_id, "refresh", family, config["REFRESH_TOKEN_TTL"])
    get_redis().set(f"auth:rt:{refresh_jti}", family, ex=config["REFRESH_TOKEN_TTL"])
    return TokenPair(access, refresh, config["ACCESS_TOKEN_TTL"])


def decode(token: str, typ: str) -> dict:
    """Verified claims of a token of type ``typ``, or :class:`InvalidToken`."""
    try:
        claims = jwt.decode(
            token, current_app.config["SECRET_KEY"], algorithms=ALGORITHMS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        raise InvalidToken() from None
    if claims.get("typ") != typ or not str(claims.get("sub", "")).isdigit():
        raise InvalidToken()
    return claims


def check_not_revoked(claims: dict) -> None:
    family_revoked, token_revoked = get_redis().mget(
        f"auth:revoked:fam:{claims['fam']}", f"auth:revoked:jti:{claims['jti']}"
    )
    if family_revoked or token_revoked:
        raise InvalidToken()


def revoke_family(family: str) -> None:
    get_redis().set(f"auth:revoked:fam:{family}", "1", ex=current_app.config["REFRESH_TOKEN_TTL"])


def rotate(refresh_token: str) -> tuple[int, TokenPair]:
    """Spend a refresh token for a new pair; a second use revokes the family."""
    claims = decode(refresh_token, "refresh")
    check_not_revoked(claims)
    if get_redis().getdel(f"auth:rt:{claims['jti']}") is None:
        revoke_family(claims["fam"])
        raise RefreshTokenReused()
    user_id = int(claims["sub"])
    return user_id, issue_pair(user_id, claims["fam"])
