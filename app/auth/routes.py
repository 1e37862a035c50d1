"""Login, token refresh, logout and "who am I"."""
from __future__ import annotations

from flask import current_app, g

from app.auth import cancellation, console_login, services
from app.auth.current import current_user, login_required
from app.auth.schemas import (
    CancelAccountSchema,
    CancellationSchema,
    ClosedAccountSchema,
    ConsoleRedeemAnswerSchema,
    ConsoleRedeemSchema,
    ConsoleTicketSchema,
    ConsoleTicketStateSchema,
    LoginSchema,
    MeSchema,
    RefreshSchema,
    TokenSchema,
)
from app.auth.services import AccountDisabled
from app.auth.tokens import RefreshTokenReused
from app.common.blueprint import Blueprint
from app.errors import RateLimited, ValidationFailed
from app.extensions import limiter
from app.wechat.errors import (
    WeChatCodeInvalid,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserRisky,
)

blp = Blueprint("auth", __name__, description="WeChat login and tokens")


@blp.route("/auth/wechat/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.doc(security=[])
@blp.errors(WeChatCodeInvalid, WeChatRateLimited, WeChatUserRisky, WeChatUnavailable,
            AccountDisabled, RateLimited, ValidationFailed, auth=False)
def wechat_login(body):
    """Log in with the code from ``wx.login()``.

    The server exchanges it with WeChat's ``code2Session``; the first login
    creates the user. WeChat's ``session_key`` is neither sent nor kept.
    """
    return services.token_answer(services.login_with_wechat(body["code"]))


@blp.route("/auth/refresh", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REFRESH"])
@blp.arguments(RefreshSchema)
@blp.response(200, TokenSchema)
@blp.doc(security=[])
@blp.errors(RefreshTokenReused, RateLimited, ValidationFailed)
def refresh(body):
    """Trade a refresh token for a new pair. Each refresh token works once;
    presenting a used one revokes the whole login session."""
    return services.token_answer(services.refresh(body["refresh_token"]))


@blp.route("/auth/logout", methods=["POST"])
@login_required
@blp.response(204)
@blp.errors()
def logout():
    """Revoke this login session: its refresh token and its access tokens."""
    services.logout(g.token_claims)


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, MeSchema)
@blp.errors()
def me():
    """The current user, their roles (with the org each applies to), their
    member identity and the community they reported to."""
    return services.profile(current_user())


@blp.route("/me/cancellation", methods=["POST"])
@login_required
@blp.response(200, CancellationSchema)
@blp.errors()
def request_cancellation():
    """The first step of closing one's account (注销账号): what closing removes,
    what is kept without the person's identity and why, and the confirmation
    that ``DELETE /me`` needs within ten minutes."""
    return cancellation.request_cancellation(current_user())


@blp.route("/me", methods=["DELETE"])
@login_required
@blp.arguments(CancelAccountSchema)
@blp.response(200, ClosedAccountSchema)
@blp.errors(cancellation.ConfirmationInvalid, ValidationFailed)
def cancel_account(body):
    """Close the account for good, with the confirmation from
    ``POST /me/cancellation``. Every login session ends at once; personal data
    is removed, and the records that must be kept are kept without the
    person's identity (README: Personal information). Logging in with WeChat
    again later makes a new, empty account."""
    return cancellation.cancel_account(current_user(), body["confirmation"])


# ---- the console's QR login (app.auth.console_login) -------------------------

@blp.route("/auth/console-tickets", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_CONSOLE_TICKET"])
@blp.response(201, ConsoleTicketSchema)
@blp.doc(security=[])
@blp.errors(RateLimited, auth=False)
def create_console_ticket():
    """Start a QR login of the admin console: a ticket for the QR
    (``qr_text``, ``qr_svg``) that lives ``CONSOLE_TICKET_TTL`` seconds, and
    the poll secret only this page may redeem it with."""
    return console_login.create()


@blp.route("/auth/console-tickets/<ticket>/confirm", methods=["POST"])
@login_required
@blp.response(200, ConsoleTicketStateSchema)
@blp.errors(console_login.NotAnAdmin, console_login.TicketNotFound, console_login.TicketUsed,
            console_login.TicketExpired)
def confirm_console_ticket(ticket):
    """From the mini-program, after scanning the console's QR: log that page
    in as me. Only a district, org or center admin may; once per ticket."""
    return console_login.confirm(current_user(), ticket)


@blp.route("/auth/console-tickets/<ticket>/redeem", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_CONSOLE_REDEEM"])
@blp.arguments(ConsoleRedeemSchema)
@blp.response(200, ConsoleRedeemAnswerSchema)
@blp.alt_response(202, schema=ConsoleRedeemAnswerSchema, description="Not confirmed yet: poll again")
@blp.doc(security=[])
@blp.errors(console_login.WrongPollSecret, console_login.TicketNotFound, console_login.TicketUsed,
            console_login.TicketExpired, AccountDisabled, RateLimited, ValidationFailed, auth=False)
def redeem_console_ticket(body, ticket):
    """The console page's poll: 202 ``pending`` until the phone confirms, then
    200 with the token pair of the admin who confirmed, exactly once."""
    state, result, stored = console_login.redeem(ticket, body["poll_secret"])
    if result is None:
        return {"state": state, "expires_at": stored.expires_at}, 202
    return {**services.token_answer(result), "state": state}
