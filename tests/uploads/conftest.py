"""Photo-check fixtures: the grid fixtures (a grid of community A, its
leader, a resident who reports there), the mock's push target, a worker."""
from __future__ import annotations

import pytest

from tests.grid.conftest import categories, clock, grid, leader, resident  # noqa: F401 - fixtures
from tests.uploads.helpers import PUSH, PUSH_TOKEN


@pytest.fixture
def mock(wechat_server):
    return wechat_server.state


@pytest.fixture
def door(wechat_server):
    """``door(name, body)``: a test door of the mock WeChat, its JSON answer."""
    client = wechat_server.app.test_client()

    def call(name: str, body: dict | None = None):
        response = client.post(f"/mock/wx/{name}", json=body or {})
        assert response.status_code == 200, response.json
        return response.json

    return call


@pytest.fixture
def pushing(live_url, door, mock):
    """The mock pushes to the live app's /wechat/push, as WeChat would; the
    session's mock forgets the target afterwards."""
    door("push", {"url": live_url + PUSH, "token": PUSH_TOKEN})
    yield live_url
    with mock.lock:
        mock.push_url = mock.push_token = None


