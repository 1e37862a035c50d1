"""The "logged in" decorator and the current user."""
from __future__ import annotations

import functools

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth import tokens
from app.auth.models import User
from app.errors import InvalidToken, Unauthorized
from app.extensions import db


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized()
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    return token.strip()


def authenticate() -> User:
    """The active user behind the request's access token, or 401."""
    claims = tokens.decode(_bearer_token(), "access")
    tokens.check_not_revoked(claims)
    user = db.session.scalar(
        select(User).options(joinedload(User.identity)).where(User.id == int(claims["sub"]))
        .execution_options(populate_existing=True))
    if user is None or not user.is_active:
        raise InvalidToken()
    g.current_user = user
    g.token_claims = claims
    return user


def login_required(view):
    """Only for requests with a valid access token of an active user."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    return g.current_user
