"""The "logged in" decorator and the current user."""
from __future__ import annotations

import functools
from typing import Any

from flask import g, request
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from app.auth import tokens
from app.auth.models import User
from app.common import idempotency
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
    """The active user behind the request's access token, or 401.

    One Redis read (the token family's cached status) and one SQL statement
    (the user with their member identity, two tables). On a cache miss the family's
    status, and for a write with an ``Idempotency-Key`` whether an answer is
    stored for it, ride on that same statement.
    """
    claims = tokens.decode(_bearer_token(), "access")
    status = tokens.cached_status(claims)
    if status == tokens.REVOKED:
        raise InvalidToken()
    user_id = int(claims["sub"])
    # The user and their identity only, one narrow join: the identity's own
    # relations (roster entry, branch) load lazily for the few actions that
    # read them, not on every request. populate_existing costs nothing on a
    # request's fresh session; where a session outlives a request (the test
    # client's, a worker's) it keeps an identity issued or revoked since
    # effective on the next request (tests/auth/test_cancellation.py).
    query: Select[Any] = (select(User).options(joinedload(User.identity).lazyload("*"))
                          .where(User.id == user_id).execution_options(populate_existing=True))
    if status is None:
        query = query.add_columns(tokens.status_column(claims))
    stored_answer = idempotency.lookup_column(user_id)
    if stored_answer is not None:
        query = query.add_columns(stored_answer)
    row = db.session.execute(query).first()
    if row is None:
        raise InvalidToken()
    user = row[0]
    if status is None:
        tokens.remember_status(claims, row[1])
    if stored_answer is not None:
        idempotency.remember_lookup(user_id, row[-1])
    if not user.is_active:
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
