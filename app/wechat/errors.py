"""The errors a WeChat call ends in, and the tables that map WeChat's
``errcode`` to them (see :mod:`app.wechat.client` for the rules)."""
from __future__ import annotations

import logging

from app.errors import (
    ApiError,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)


class WeChatCodeInvalid(Unauthorized):
    code = "wechat_code_invalid"
    zh = "微信授权码无效、已使用或已过期，请重试。"
    en = "The WeChat code is invalid, used or expired; please try again."


class WeChatRateLimited(RateLimited):
    code = "wechat_rate_limited"
    zh = "微信登录过于频繁，请一分钟后再试。"
    en = "Too many WeChat logins; please try again in a minute."

    def __init__(self, details: dict | None = None, *, headers: dict | None = None):
        # WeChat's quota is per minute, so a minute is always enough.
        super().__init__(details, headers=headers or {"Retry-After": "60"})


class WeChatUserRisky(Forbidden):
    code = "wechat_user_risky"
    zh = "微信判定该账号存在安全风险，暂时无法登录。"
    en = "WeChat flagged this account as risky; it cannot log in for now."


class WeChatUnavailable(ServiceUnavailable):
    code = "wechat_unavailable"
    zh = "微信服务暂时不可用，请稍后再试。"
    en = "WeChat is temporarily unavailable; please try again later."


class WeChatCallFailed(WeChatUnavailable):
    """A platform call failed; ``retryable`` says whether trying later may help."""

    retryable = False

    def __init__(self, errcode: int | None = None, errmsg: str | None = None):
        super().__init__()
        self.errcode = errcode
        self.errmsg = errmsg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(errcode={self.errcode!r}, errmsg={self.errmsg!r})"


class WeChatRejected(WeChatCallFailed):
    """WeChat refused the call for what it carries: the same call fails again."""


class WeChatNoQuota(WeChatRejected):
    """43101: the user has no subscription left for the template (or refused it)."""


class WeChatTransient(WeChatCallFailed):
    """WeChat was busy, rate-limited or unreachable: a later retry may work."""

    retryable = True


# Platform errcodes whose retry is useless; any other errcode is transient.
REJECTED_ERRCODES = {
    40003: WeChatRejected,   # invalid openid
    40037: WeChatRejected,   # invalid template_id
    40097: WeChatRejected,   # invalid args
    40169: WeChatRejected,   # invalid scene
    41030: WeChatRejected,   # invalid page
    43101: WeChatNoQuota,    # user refused / no subscription left
    47001: WeChatRejected,   # data format error
    47003: WeChatRejected,   # template data invalid
    61010: WeChatRejected,   # the user has not used the mini-program lately
    # Our own configuration is wrong: no retry helps until someone fixes it.
    40013: WeChatRejected, 40125: WeChatRejected, 40164: WeChatRejected,
}


# errcode -> (the error to raise, the level to log it at, or None for the
# user's own mistakes that need no log). Codes not listed are unexpected:
# WeChatUnavailable, logged at WARNING.
ERRCODES: dict[int, tuple[type[ApiError], int | None]] = {
    40029: (WeChatCodeInvalid, None),   # invalid code (unknown, used or expired)
    40163: (WeChatCodeInvalid, None),   # code been used
    41008: (WeChatCodeInvalid, None),   # missing code
    45011: (WeChatRateLimited, logging.INFO),
    40226: (WeChatUserRisky, logging.INFO),
    -1: (WeChatUnavailable, logging.WARNING),  # system error, WeChat is busy
    # Our own configuration is wrong: someone has to fix it.
    40013: (WeChatUnavailable, logging.ERROR),  # invalid appid
    40125: (WeChatUnavailable, logging.ERROR),  # invalid appsecret
    41002: (WeChatUnavailable, logging.ERROR),  # appid missing
    41004: (WeChatUnavailable, logging.ERROR),  # appsecret missing
    40164: (WeChatUnavailable, logging.ERROR),  # caller IP not in the whitelist
}
UNEXPECTED = (WeChatUnavailable, logging.WARNING)
