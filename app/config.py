"""Configuration, read from the environment when the app is created.

Nothing here runs at import: :func:`load_config` is called by ``create_app``.
With nothing set, the app runs on embedded defaults (a SQLite file and an
in-process fakeredis); ``DATABASE_URL`` and ``REDIS_URL`` switch to the real
services. ``APP_ENV=production`` refuses to start without its secrets.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


ROOT = Path(__file__).resolve().parent.parent  # the checkout: node_modules/ lives here
DEV_SECRET = "dev-secret-not-for-production"


def _int(env, name, default):
    value = env.get(name)
    return int(value) if value not in (None, "") else default


def _choice(env, name, choices):
    """One of ``choices`` (the first when unset); anything else refuses to start."""
    value = env.get(name) or choices[0]
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (not {value!r})")
    return value


def _within(value: int, name: str, lowest: int, highest: int) -> int:
    if not lowest <= value <= highest:
        raise ConfigError(f"{name} must be between {lowest} and {highest} (not {value})")
    return value


def _json(env, name):
    """A JSON object from the environment, or None when unset."""
    value = env.get(name)
    if value in (None, ""):
        return None
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise ConfigError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return parsed


def _flag(env, name):
    """``1``/``0`` as True/False; unset or empty as None (the app decides)."""
    value = env.get(name)
    return None if value in (None, "") else value == "1"


class Config:
    """Development defaults, overridden by environment variables."""

    ENV_NAME = "development"
    TESTING = False

    @classmethod
    def from_env(cls, env: os._Environ | dict) -> dict:
        instance = Path(env.get("INSTANCE_DIR", Path.cwd() / "var"))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'partybuild.db'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
        redis_url = env.get("REDIS_URL") or None
        return {
            "ENV_NAME": cls.ENV_NAME,
            "TESTING": cls.TESTING,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEY": env.get("SECRET_KEY") or DEV_SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            # hide_parameters: a failed statement's error (and so the log) names
            # no values, which are coordinates, IPs, phones' hashes.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
            "REDIS_URL": redis_url,
            # Background jobs (app.jobs.queue): unset runs them in-process, at
            # once, when REDIS_URL is unset too (the embedded default: a worker
            # could not see an in-process Redis), and on RQ workers otherwise.
            "JOBS_EAGER": _flag(env, "JOBS_EAGER"),
            # The queues `flask jobs worker` takes jobs from, the first first.
            "JOBS_QUEUES": [name.strip() for name in env.get("JOBS_QUEUES", "default,periodic").split(",")
                            if name.strip()],
            # Access tokens are short; refresh tokens rotate on every use.
            "ACCESS_TOKEN_TTL": _int(env, "ACCESS_TOKEN_TTL", 15 * 60),
            "REFRESH_TOKEN_TTL": _int(env, "REFRESH_TOKEN_TTL", 30 * 24 * 3600),
            "JWT_ALGORITHM": "HS256",
            # A separate key for phone numbers, so that rotating SECRET_KEY
            # (tokens) does not make stored phones unreadable.
            "PHONE_KEY": env.get("PHONE_KEY") or None,
            # Key rotation (app.members.phones): the current key's version, and
            # earlier keys still readable until `flask keys rotate-phones` ran,
            # as "1:<secret>,2:<secret>".
            "PHONE_KEY_VERSION": _int(env, "PHONE_KEY_VERSION", 1),
            "PHONE_KEYS_OLD": _old_keys(env.get("PHONE_KEYS_OLD", "")),
            "WECHAT_API_BASE": env.get("WECHAT_API_BASE", "http://127.0.0.1:9100").rstrip("/"),
            "WECHAT_APPID": env.get("WECHAT_APPID", "wx-demo-appid"),
            "WECHAT_SECRET": env.get("WECHAT_SECRET", "demo-app-secret"),
            "WECHAT_TIMEOUT": float(env.get("WECHAT_TIMEOUT", "5")),
            # Subscribe messages (app.subscriptions): per event, the template id,
            # the page it opens and the template's data keys, as JSON; events not
            # named keep the demo defaults (app/subscriptions/templates.py).
            "SUBSCRIBE_TEMPLATES": _json(env, "SUBSCRIBE_TEMPLATES"),
            # miniprogram_state of every message: formal | trial | developer.
            "SUBSCRIBE_STATE": env.get("SUBSCRIBE_STATE", "formal"),
            # One-time subscriptions a user may hold per template (each accept adds one).
            "SUBSCRIBE_MAX_PER_TEMPLATE": _int(env, "SUBSCRIBE_MAX_PER_TEMPLATE", 20),
            # An event still overdue this long after its deadline reminds the
            # level above its owner (escalation is the owner's decision).
            "GRID_ESCALATION_REMINDER_HOURS": float(env.get("GRID_ESCALATION_REMINDER_HOURS", "24")),
            # WeChat's text check unreachable: "open" stores the text unchecked
            # (shown) and re-checks it by a job; "closed" refuses the write (503).
            "CONTENT_CHECK_FAILURE": _choice(env, "CONTENT_CHECK_FAILURE", ("open", "closed")),
            # WeChat's message push (/wechat/push): the token set in the mini-program's
            # console; unset refuses every push (required in production).
            "WECHAT_PUSH_TOKEN": env.get("WECHAT_PUSH_TOKEN") or None,
            # Refused (badly signed) pushes per address; WeChat's own never count.
            "RATELIMIT_WECHAT_PUSH": env.get("RATELIMIT_WECHAT_PUSH", "30/minute"),
            # The app's public origin, for links WeChat fetches (a photo to check);
            # development: this machine on the port `flask run`/./dev uses.
            "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL")
                                or f"http://localhost:{env.get('PORT') or 5000}").rstrip("/"),
            # QR codes are URLs on this base, so WeChat's camera opens the mini-program.
            "QR_BASE_URL": env.get("QR_BASE_URL", "https://dj.example.cn").rstrip("/"),
            # What posters, plates and task codes print: `url` QR codes (on
            # QR_BASE_URL) or `wxacode`, mini-program codes from WeChat's
            # getwxacodeunlimit that open WXACODE_PAGE with the code as `scene`.
            "QR_KIND": _choice(env, "QR_KIND", ("url", "wxacode")),
            "WXACODE_PAGE": env.get("WXACODE_PAGE", "pages/index/index"),
            "WXACODE_ENV_VERSION": _choice(env, "WXACODE_ENV_VERSION", ("release", "trial", "develop")),
            # WeChat refuses a code for a page the released version lacks unless
            # check_path is off (trial and develop builds); production always checks.
            "WXACODE_CHECK_PATH": env.get("WXACODE_CHECK_PATH", "1") != "0",
            "WXACODE_WIDTH": _within(_int(env, "WXACODE_WIDTH", 640), "WXACODE_WIDTH", 280, 1280),
            # A printed code's image is kept this long (per object and key version).
            "WXACODE_CACHE_SECONDS": _int(env, "WXACODE_CACHE_SECONDS", 30 * 24 * 3600),
            # Seconds a worker may judge scans by its copy of a center's settings
            # (key rotation and deletion are still immediate); 0 turns it off.
            "CENTER_CACHE_SECONDS": _int(env, "CENTER_CACHE_SECONDS", 30),
            "CHECKIN_CLOCK_SKEW": _int(env, "CHECKIN_CLOCK_SKEW", 120),
            "CHECKIN_OFFLINE_MAX_AGE": _int(env, "CHECKIN_OFFLINE_MAX_AGE", 24 * 3600),
            "BADGE_TTL": _int(env, "BADGE_TTL", 60),
            "BADGE_KEY": env.get("BADGE_KEY") or None,
            "RATELIMIT_VERIFY": env.get("RATELIMIT_VERIFY", "30/minute"),
            # Exports of one's own data per user (each reads every table about them).
            "RATELIMIT_EXPORT": env.get("RATELIMIT_EXPORT", "5/hour"),
            "WITHDRAW_CUTOFF": _int(env, "WITHDRAW_CUTOFF", 2 * 3600),
            "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(instance / "uploads"),
            # Retention (app.privacy.retention): how long personal details are kept.
            "RETENTION_ATTEMPT_DETAILS_DAYS": _int(env, "RETENTION_ATTEMPT_DETAILS_DAYS", 90),
            "RETENTION_CHECKIN_POSITION_DAYS": _int(env, "RETENTION_CHECKIN_POSITION_DAYS", 90),
            "RETENTION_BADGE_POSITION_DAYS": _int(env, "RETENTION_BADGE_POSITION_DAYS", 30),
            "RETENTION_ORPHAN_UPLOAD_HOURS": _int(env, "RETENTION_ORPHAN_UPLOAD_HOURS", 24),
            "MAX_UPLOAD_BYTES": _int(env, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
            "BENCH_ENDPOINT": env.get("BENCH_ENDPOINT", "0") == "1",
            "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "30/minute"),
            "RATELIMIT_REFRESH": env.get("RATELIMIT_REFRESH", "60/minute"),
            # The console's QR login: a ticket lives this long; a login page
            # renews it when it expires and polls every ~1.5 s.
            "CONSOLE_TICKET_TTL": _int(env, "CONSOLE_TICKET_TTL", 120),
            "RATELIMIT_CONSOLE_TICKET": env.get("RATELIMIT_CONSOLE_TICKET", "10/minute"),
            "RATELIMIT_CONSOLE_REDEEM": env.get("RATELIMIT_CONSOLE_REDEEM", "90/minute"),
            "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") != "0",
            "RATELIMIT_HEADERS_ENABLED": True,
            # A JSON body is small; uploads have their own, larger limit.
            "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 11 * 1024 * 1024),
            "MAX_JSON_BYTES": _int(env, "MAX_JSON_BYTES", 256 * 1024),
            "MAX_IMPORT_BYTES": _int(env, "MAX_IMPORT_BYTES", 5 * 1024 * 1024),
            # Longer URLs are 414 in the envelope; keep gunicorn's limit_request_line
            # (and nginx's large_client_header_buffers) above it so the app answers.
            "MAX_URI_LENGTH": _int(env, "MAX_URI_LENGTH", 4096),
            # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are
            # believed (nginx alone: 1). 0: the client is the socket's peer, and no
            # header a client sends changes who it is (rate limits key on it).
            "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
            "LOG_JSON": env.get("LOG_JSON", "1") != "0",
            "API_TITLE": "Party building mini-program API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": "docs",
            # Swagger UI from npm's swagger-ui-dist, served by the app (/vendor/):
            # the docs work with no internet. A CDN URL may be set instead.
            "OPENAPI_SWAGGER_UI_URL": env.get("SWAGGER_UI_URL", "/vendor/swagger-ui-dist/"),
            # The faces (app.web): front-end packages installed by `npm ci` (./dev).
            "NODE_MODULES_DIR": env.get("NODE_MODULES_DIR") or str(ROOT / "node_modules"),
            # The mini-program stand-in at /mp/ and the demo accounts' one-click
            # logins on the start screens: development and the demo, never production.
            "SERVE_MINI_PROGRAM": env.get("SERVE_MINI_PROGRAM", "1") == "1",
            "DEMO_LOGINS": env.get("DEMO_LOGINS", "1") == "1",
        }


def _old_keys(raw: str) -> dict[int, str]:
    keys = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        version, _, secret = item.partition(":")
        if not version.strip().isdigit() or not secret:
            raise ConfigError("PHONE_KEYS_OLD is a list of <version>:<secret>, separated by commas")
        keys[int(version)] = secret
    return keys


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True


class ProductionConfig(Config):
    ENV_NAME = "production"

    @classmethod
    def from_env(cls, env) -> dict:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PHONE_KEY", "BADGE_KEY",
                                     "PUBLIC_BASE_URL", "WECHAT_PUSH_TOKEN")
                   if not env.get(name)]
        if missing:
            raise ConfigError(f"production needs these environment variables: {', '.join(missing)}")
        if env["SECRET_KEY"] == DEV_SECRET or len(env["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be a random string of at least 32 characters")
        # Each secret guards something else; one shared would make rotating or
        # leaking one a matter of all three.
        if len({env["SECRET_KEY"], env["PHONE_KEY"], env["BADGE_KEY"]}) < 3:
            raise ConfigError("SECRET_KEY, PHONE_KEY and BADGE_KEY must be three different secrets")
        settings = super().from_env(env)
        settings["SERVE_MINI_PROGRAM"] = env.get("SERVE_MINI_PROGRAM") == "1"
        settings["DEMO_LOGINS"] = False
        settings["WXACODE_CHECK_PATH"] = True
        return settings


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProductionConfig}


def load_config(name: str | None = None, env=None) -> dict:
    env = os.environ if env is None else env
    name = name or env.get("APP_ENV", "development")
    try:
        return CONFIGS[name].from_env(env)
    except KeyError:
        raise ConfigError(f"unknown APP_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
