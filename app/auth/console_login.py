"""The admin console's QR login: no password, the admin's phone confirms.

1. The console's login page creates a ticket (``create``): a random id that
   goes into a QR code (``<QR_BASE_URL>/l/<ticket>``) and a poll secret that
   only that page knows. The ticket lives ``CONSOLE_TICKET_TTL`` seconds.
2. The admin scans the QR with the mini-program, sees who they are and
   confirms (``confirm``): only a user holding an admin role may, and a
   ticket is confirmed once.
3. The page, polling with its secret (``redeem``), gets the token pair of the
   user who confirmed, exactly once.

Why the database and not Redis: the ticket's lifecycle is a state machine
(pending -> confirmed -> redeemed) whose steps must each happen once under
concurrency, which :class:`~app.common.transitions.Machine` already does with
one conditional UPDATE; redeeming adds the token family (``issue_pair``) in
the same transaction, so a redeem either hands out a pair and marks the ticket
spent, or neither. Expiry is judged by the application's clock against
``expires_at`` (not a Redis TTL), so it is the same on every backend and
testable with a moved clock. The table stays small: creating a ticket deletes
those expired for more than a day.

Only a hash of the poll secret is stored: someone reading the table cannot
redeem a confirmed ticket.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import delete, select

from app.auth import tokens
from app.auth.models import ConsoleTicket, RoleGrant, User
from app.auth.permissions import PERMISSIONS
from app.auth.services import AccountDisabled, LoginResult
from app.common import qr
from app.common.db import utcnow
from app.common.transitions import Machine, StateChanged, Transition
from app.errors import Conflict, Forbidden, Gone, NotFound
from app.extensions import db

CONSOLE_ROLES = PERMISSIONS["console.login"]
PENDING, CONFIRMED, REDEEMED = "pending", "confirmed", "redeemed"
# A ticket confirmed in its last seconds can still be picked up by the page's next poll.
REDEEM_GRACE = dt.timedelta(seconds=30)
KEEP_EXPIRED = dt.timedelta(days=1)


class TicketNotFound(NotFound):
    code = "console_ticket_not_found"
    zh = "登录二维码无效，请在管理后台刷新二维码后重新扫描。"
    en = "This login code is not valid; refresh the code in the console and scan again."


class TicketExpired(Gone):
    code = "console_ticket_expired"
    zh = "登录二维码已过期，请在管理后台刷新二维码后重新扫描。"
    en = "This login code has expired; refresh it in the console and scan again."


class TicketUsed(Conflict):
    code = "console_ticket_used"
    zh = "该登录二维码已被使用，请在管理后台刷新二维码。"
    en = "This login code was already used; refresh it in the console."


class NotAnAdmin(Forbidden):
    code = "console_login_forbidden"
    zh = "您的账号没有管理后台的权限（需要区委、组织或阵地管理员角色）。"
    en = "Your account has no console role (district, org or center admin)."


class WrongPollSecret(Forbidden):
    code = "console_ticket_secret_invalid"
    zh = "该登录二维码不属于此页面，请刷新二维码。"
    en = "This login code does not belong to this page; refresh it."


class _NotAllowed(TicketUsed):
    pass


MACHINE = Machine(ConsoleTicket, [
    Transition("confirm", (PENDING,), CONFIRMED, who="console admin"),
    Transition("redeem", (CONFIRMED,), REDEEMED, who="the page holding the poll secret"),
], not_allowed=_NotAllowed)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def qr_text(ticket_id: str) -> str:
    return f"{current_app.config['QR_BASE_URL']}/l/{ticket_id}"


def create() -> dict:
    """A new pending ticket; the answer carries the poll secret (never stored)."""
    now = utcnow()
    db.session.execute(delete(ConsoleTicket).where(ConsoleTicket.expires_at < now - KEEP_EXPIRED)
                       .execution_options(synchronize_session=False))
    ticket_id, secret = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
    ticket = ConsoleTicket(id=ticket_id, poll_secret_hash=_hash(secret), state=PENDING, created_at=now,
                           expires_at=now + dt.timedelta(seconds=current_app.config["CONSOLE_TICKET_TTL"]))
    db.session.add(ticket)
    db.session.commit()
    text = qr_text(ticket_id)
    return {"ticket": ticket_id, "poll_secret": secret, "qr_text": text, "qr_svg": qr.svg(text),
            "expires_at": ticket.expires_at, "state": PENDING}


def _load(ticket_id: str) -> ConsoleTicket:
    ticket = db.session.get(ConsoleTicket, ticket_id) if len(ticket_id) <= 32 else None
    if ticket is None:
        raise TicketNotFound()
    return ticket


def console_roles(user: User) -> list[RoleGrant]:
    return list(db.session.scalars(select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.role.in_(CONSOLE_ROLES)).order_by(RoleGrant.id)))


def confirm(user: User, ticket_id: str) -> dict:
    """The admin's phone says yes: the ticket will log the page in as ``user``."""
    ticket = _load(ticket_id)
    now = utcnow()
    if ticket.state != PENDING:
        raise TicketUsed()
    if now >= ticket.expires_at:
        raise TicketExpired()
    if not console_roles(user):
        raise NotAnAdmin()
    try:
        MACHINE.apply(ticket, "confirm", where=[ConsoleTicket.expires_at > now],
                      user_id=user.id, confirmed_at=now)
    except StateChanged:
        db.session.rollback()
        ticket = _load(ticket_id)
        raise (TicketUsed() if ticket.state != PENDING else TicketExpired()) from None
    db.session.commit()
    return {"ticket": ticket.id, "state": ticket.state, "expires_at": ticket.expires_at}


def redeem(ticket_id: str, poll_secret: str) -> tuple[str, LoginResult | None, ConsoleTicket]:
    """What the page's poll gets: ``(state, login or None, ticket)``; a
    confirmed ticket turns into a token pair once, for one poll only."""
    ticket = _load(ticket_id)
    if not hmac.compare_digest(ticket.poll_secret_hash, _hash(poll_secret)):
        raise WrongPollSecret()
    now = utcnow()
    if ticket.state == REDEEMED:
        raise TicketUsed()
    if ticket.state == PENDING:
        if now >= ticket.expires_at:
            raise TicketExpired()
        return PENDING, None, ticket
    if now >= ticket.expires_at + REDEEM_GRACE:
        raise TicketExpired()
    try:
        MACHINE.apply(ticket, "redeem", redeemed_at=now)
    except StateChanged:  # another poll of the same page redeemed it first
        db.session.rollback()
        raise TicketUsed() from None
    user = db.session.get(User, ticket.user_id)
    if user is None or not user.is_active:
        db.session.commit()  # the ticket stays spent
        raise AccountDisabled()
    user.last_login_at = now
    pair = tokens.issue_pair(user.id)
    db.session.commit()
    return REDEEMED, LoginResult(user, pair, False), ticket
