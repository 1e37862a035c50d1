"""Configuration: what production refuses to start without."""
from __future__ import annotations

import pytest

from app.config import ConfigError, load_config
from tests.conftest import PRODUCTION_ENV

PRODUCTION = {**PRODUCTION_ENV, "APP_ENV": "production"}


def test_production_starts_with_every_secret():
    settings = load_config(env=PRODUCTION)
    assert settings["ENV_NAME"] == "production" and settings["DEMO_LOGINS"] is False
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    assert settings["PUBLIC_BASE_URL"] == "https://api.example.cn"


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PHONE_KEY", "BADGE_KEY",
                                  "PUBLIC_BASE_URL", "WECHAT_PUSH_TOKEN"])
def test_production_refuses_to_start_without(name):
    with pytest.raises(ConfigError, match=name):
        load_config(env={key: value for key, value in PRODUCTION.items() if key != name})


@pytest.mark.parametrize("name", ["PHONE_KEY", "BADGE_KEY"])
def test_production_refuses_a_secret_shared_with_secret_key(name):
    """A fallback to SECRET_KEY, or the same value set twice, is one secret guarding three things."""
    with pytest.raises(ConfigError, match="different"):
        load_config(env={**PRODUCTION, name: PRODUCTION["SECRET_KEY"]})


def test_development_falls_back_to_secret_key():
    settings = load_config("development", env={})
    assert settings["BADGE_KEY"] is None and settings["PHONE_KEY"] is None
