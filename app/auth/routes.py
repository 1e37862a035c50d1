"""Login, token refresh, logout and "who am I"."""
from __future__ import annotations

from flask import current_app, g

from app.auth import services
from app.auth.current import current_user, login_required
from app.auth.schemas import LoginSchema, MeSchema, RefreshSchema, TokenSchema
from app.auth.services import AccountDisabled
from app.auth.tokens import RefreshTokenReused
from app.common.blueprint import Blueprint
from app.errors import RateLimited, ValidationFailed
from app.extensions import limiter
from app.wechat.client import WeChatCodeInvalid, WeChatRateLimited, WeChatUnavailable, WeChatUserRisky

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
    creates the user. WeChat's ``session_key`` stays on the server.
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
