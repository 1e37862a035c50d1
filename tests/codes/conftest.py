"""Fixtures for mini-program codes: QR_KIND=wxacode, a clock, and the mock's counter."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from mini_program_mock.wechat.server import GET_WXACODE_UNLIMIT

# A Thursday morning in Yangjiang, 10:00 +08:00 (before any login).
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
CENTER_LAT, CENTER_LNG = 21.8580, 111.9620
HERE = {"lat": CENTER_LAT, "lng": CENTER_LNG, "coord_system": "gcj02", "accuracy": 20}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def wxacode(app, monkeypatch):
    """Every test here prints mini-program codes."""
    monkeypatch.setitem(app.config, "QR_KIND", "wxacode")


@pytest.fixture
def wechat(wechat_server):
    """The mock WeChat: ``calls()`` to getwxacodeunlimit so far, ``fail(errcode, times)``."""
    doors = wechat_server.app.test_client()

    def fail(errcode: int = -1, times: int = 1) -> None:
        response = doors.post("/mock/wx/fail", json={"path": GET_WXACODE_UNLIMIT, "errcode": errcode,
                                                      "times": times})
        assert response.status_code == 200, response.json

    return SimpleNamespace(calls=lambda: wechat_server.state.calls[GET_WXACODE_UNLIMIT], fail=fail)


@pytest.fixture
def make_center(admin, tree):
    def make(**fields):
        body = {"org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
                "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}, "code_mode": "static", **fields}
        response = admin.post("/api/v1/centers", json=body)
        assert response.status_code == 201, response.json
        return SimpleNamespace(**response.json)

    return make
