"""The WeChat client against a mock server: each module starts its own
``mock_server`` (app, base URL) and its ``mock`` state, and its ``client``
with ``client_for`` (``client`` elsewhere is the Flask test client)."""
from __future__ import annotations

import fakeredis
import pytest

from app.wechat.client import WeChatClient

APPID = "wx-test-appid"
SECRET = "test-app-secret-do-not-log"


@pytest.fixture
def base_url(mock_server):
    return mock_server[1]


@pytest.fixture
def redis():
    return fakeredis.FakeRedis(decode_responses=True)


def client_for(base_url: str, redis) -> WeChatClient:
    """The app's client for the test app, as create_app would build it."""
    return WeChatClient(base_url, APPID, SECRET, 2.0, redis)
