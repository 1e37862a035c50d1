"""The image of a signed code, as ``QR_KIND`` says: a URL QR code or a mini-program code.

``url`` (the default): a QR code of ``QR_BASE_URL/q/<token>``, drawn here
(:mod:`app.common.qr`). ``wxacode``: WeChat's mini-program code
(``getwxacodeunlimit``), which opens ``WXACODE_PAGE`` with ``scene=<token>``.

The scene is the signed token itself (:mod:`app.common.signed_codes`): its
24 bytes (payload and a 96-bit HMAC) are exactly 32 base64url characters,
WeChat's limit for a scene, and base64url's alphabet (letters, digits, ``-``,
``_``) is inside the one a scene allows. So a scene is as hard to forge as
the URL code, names its kind, object, key version (and step), dies with a
key rotation exactly as the URL does, and every endpoint that takes a
scanned code already takes it (a bare token). ``GET /api/v1/scenes/<scene>``
says what one is.

A mini-program code costs a WeChat call, so its PNG is kept in Redis
(base64) under ``wxacode:<kind>:<id>:<key version>:<width>:<digest>``, the
digest covering the scene (so a rotating code's step, and an id re-used with
another key), the page and the env_version. A printed code (poster, plate)
is kept ``WXACODE_CACHE_SECONDS`` and warmed by a job when its object is
made or its key rotates; a task's rotating code is kept while it is valid.
A cold cache calls WeChat in the request; WeChat down is a 503
(``wechat_unavailable``, ``details.dependency`` ``wechat``, ``Retry-After``).
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import re

from flask import Response, current_app
from redis.exceptions import RedisError

from app.common import poster_pages, qr, signed_codes
from app.common.poster_font import PosterFontMissing
from app.errors import RETRY_AFTER_SECONDS
from app.extensions import get_redis
from app.wechat.client import get_wechat
from app.wechat.errors import WeChatCallFailed, WeChatTransient, WeChatUnavailable

log = logging.getLogger(__name__)

# What getwxacodeunlimit takes as a scene: at most 32 of these characters.
SCENE_MAX = 32
SCENE_PATTERN = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
WXACODE_CAPTION = "微信扫一扫，打开小程序"


class CodeImageUnavailable(WeChatUnavailable):
    """WeChat could not draw a mini-program code that is not cached yet."""

    zh = "暂时无法生成小程序码（微信服务不可用），请稍后再试。"
    en = "The mini-program code cannot be made right now (WeChat is unavailable); please try again shortly."

    def __init__(self, retryable: bool):
        # A refusal (a page the mini-program lacks) needs a fix, not a retry.
        super().__init__({"dependency": "wechat"},
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if retryable else None)


# What a poster or plate endpoint may answer besides its own errors (both 503).
POSTER_ERRORS = (CodeImageUnavailable, PosterFontMissing)


def wxacode_mode() -> bool:
    return current_app.config["QR_KIND"] == "wxacode"


def scene_of(token: str) -> str:
    """The scene of a token: the token, which must fit WeChat's rules."""
    if not SCENE_PATTERN.fullmatch(token):
        raise ValueError(f"a token of {len(token)} characters cannot be a scene")
    return token


def url_text(token: str) -> str:
    return signed_codes.qr_text(token, current_app.config["QR_BASE_URL"])


def code_png(token: str, ttl: int | None = None) -> bytes:
    """The bare code (a task's on-site code); a mini-program code is kept ``ttl`` seconds."""
    if not wxacode_mode():
        return qr.png(url_text(token))
    return wxacode_png(token, ttl)


def poster_png(token: str, title: str, subtitle: str | None) -> bytes:
    """A printable poster of the code; without a subtitle it says what to scan with."""
    if not wxacode_mode():
        text = url_text(token)
        return qr.poster_png(text, title, subtitle or text)
    return qr.image_poster_png(wxacode_png(token), title, subtitle or WXACODE_CAPTION)


def poster_pdf(token: str, title: str, subtitle: str | None, filename: str) -> Response:
    """The poster on an A4 page, as a download (same code and text as the PNG)."""
    if not wxacode_mode():
        text = url_text(token)
        pdf = poster_pages.url_poster(text, title, subtitle or text)
    else:
        pdf = poster_pages.image_poster(wxacode_png(token), title, subtitle or WXACODE_CAPTION)
    return qr.pdf_response(pdf, filename)


# ---- mini-program codes ------------------------------------------------------

def cache_key(token: str) -> str:
    config = current_app.config
    code = signed_codes.parse(token)
    digest = hashlib.sha256("|".join(
        (token, config["WXACODE_PAGE"], config["WXACODE_ENV_VERSION"])).encode()).hexdigest()[:16]
    return f"wxacode:{code.kind}:{code.subject_id}:{code.key_version}:{config['WXACODE_WIDTH']}:{digest}"


def wxacode_png(token: str, ttl: int | None = None) -> bytes:
    """The cached mini-program code, else WeChat's (kept ``ttl`` seconds,
    default ``WXACODE_CACHE_SECONDS``); :class:`CodeImageUnavailable` when
    WeChat cannot make it."""
    try:
        return cached_wxacode(token, ttl)
    except WeChatCallFailed as error:
        raise CodeImageUnavailable(error.retryable) from None


def cached_wxacode(token: str, ttl: int | None = None) -> bytes:
    """As :func:`wxacode_png`, raising WeChat's own error (for jobs to retry)."""
    redis = get_redis()
    key = cache_key(token)
    hit = redis.get(key)
    if hit is not None:
        return base64.b64decode(hit)
    png = _fetch(token)
    redis.set(key, base64.b64encode(png).decode(), ex=max(1, ttl or current_app.config["WXACODE_CACHE_SECONDS"]))
    return png


def _fetch(token: str) -> bytes:
    config = current_app.config
    png = get_wechat().get_wxacode_unlimit(
        scene_of(token), page=config["WXACODE_PAGE"], check_path=config["WXACODE_CHECK_PATH"],
        env_version=config["WXACODE_ENV_VERSION"], width=config["WXACODE_WIDTH"])
    if not _is_image(png):  # never cache (nor draw a poster around) what is not one
        log.warning("wechat getwxacodeunlimit answered an image that does not open")
        raise WeChatTransient()
    return png


def _is_image(data: bytes) -> bool:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:
        return False
    return True


def warm_later(make_token, *args) -> None:
    """After a commit that made a printable code (``make_token(*args)``): have
    a job fetch its image, so that printing it costs no WeChat call. Nothing
    in ``url`` mode, where the token is not even made."""
    if not wxacode_mode():
        return
    from app.jobs.queue import enqueue

    token = make_token(*args)

    try:
        enqueue(warm_wxacode, token, job_id=f"wxacode:warm:{cache_key(token)}")
    except RedisError as error:  # the object is committed; its first print will ask WeChat
        log.warning("could not enqueue the mini-program code's warming: %s", type(error).__name__)


def warm_wxacode(token: str) -> None:
    """Job: put the code's image in the cache. A transient WeChat failure is
    raised (RQ retries); a rejection is logged, since retrying cannot help."""
    if not wxacode_mode():
        return
    try:
        cached_wxacode(token)
    except WeChatCallFailed as error:
        if error.retryable:
            raise
        log.error("wechat refused to make the mini-program code (errcode %s); check WXACODE_PAGE "
                  "and WXACODE_ENV_VERSION", error.errcode)
