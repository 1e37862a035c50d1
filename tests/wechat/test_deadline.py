"""WECHAT_TIMEOUT is a deadline for the whole WeChat call, not a per-read
timeout: a login against a code2Session that drips its answer a byte at a
time answers 503 ``wechat_unavailable`` once the deadline passes."""
from __future__ import annotations

import time

import pytest

from tests.conftest import assert_error


@pytest.fixture
def slow_app(make_app, app):
    """A worker with a one-second WeChat deadline, on the test database."""
    return make_app(WECHAT_TIMEOUT=1.0)


def test_a_login_against_a_dripping_wechat_answers_503_at_the_deadline(slow_app, wx, wechat_server):
    code = wx.code("o-dripped")
    # 300 bytes one every 100 ms: 30 s to answer, each byte within any per-read timeout.
    wechat_server.app.test_client().post("/mock/wx/slow", json={
        "path": "/sns/jscode2session", "interval_ms": 100, "bytes": 300})
    started = time.monotonic()
    response = slow_app.test_client().post("/api/v1/auth/wechat/login", json={"code": code})
    elapsed = time.monotonic() - started
    assert_error(response, 503, "wechat_unavailable")
    assert elapsed < 5, elapsed  # a correctness bound against a 30 s drip, not a speed test


def test_a_slow_but_timely_wechat_still_logs_in(slow_app, wx, wechat_server):
    code = wx.code("o-patient")
    wechat_server.app.test_client().post("/mock/wx/slow", json={
        "path": "/sns/jscode2session", "interval_ms": 2, "bytes": 150})
    response = slow_app.test_client().post("/api/v1/auth/wechat/login", json={"code": code})
    assert response.status_code == 200, response.json
    assert response.json["access_token"]


@pytest.fixture
def dripping_headers():
    """A server that answers any request with headers dripped a byte every
    100 ms, for 30 s: each byte within any per-read timeout."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(300):
                if stop.wait(0.1):
                    return
                try:
                    connection.sendall(b"X")  # a header line that never ends
                except OSError:
                    return  # the client hung up: what the deadline should do

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(5)


def test_headers_dripped_a_byte_at_a_time_end_at_the_deadline(app, dripping_headers):
    from app.extensions import get_redis
    from app.wechat.client import WeChatClient
    from app.wechat.errors import WeChatUnavailable

    client = WeChatClient(dripping_headers, "wx-appid", "secret", timeout=1.0, redis=get_redis())
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        client.code2session("a-code")
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed  # a correctness bound against a 30 s drip, not a speed test
