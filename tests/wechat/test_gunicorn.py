"""The README's production command (gunicorn -c gunicorn.conf.py) for real: while
a login waits on a dripping WeChat, the same single worker answers other
requests at once, and the stalled login ends in the API's 503 JSON."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url(app, settings, tmp_path):
    """gunicorn with the repo's config, one worker, on the test database and mock WeChat."""
    port = _free_port()
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": settings["SECRET_KEY"],
           "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": settings["REDIS_URL"] or "",
           "INSTANCE_DIR": settings["INSTANCE_DIR"], "WECHAT_API_BASE": settings["WECHAT_API_BASE"],
           "WECHAT_TIMEOUT": "2", "LOG_JSON": "0", "RATELIMIT_ENABLED": "0"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (tmp_path / "gunicorn.log").open("w+")
    process = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        up = False
        for _ in range(150):  # a fresh worker on a busy machine: up to ~30 s
            if process.poll() is not None:
                break
            try:
                up = requests.get(f"{url}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                time.sleep(0.2)
            if up:
                break
        if not up:
            log.seek(0)
            pytest.skip(f"gunicorn could not start: {log.read()[-2000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_login_stalled_on_wechat_does_not_stall_the_worker(gunicorn_url, wx, wechat_server):
    mock = wechat_server.app.test_client()
    first = requests.post(f"{gunicorn_url}/api/v1/auth/wechat/login",
                          json={"code": wx.code("o-early")}, timeout=10)
    assert first.status_code == 200, first.text
    token = first.json()["access_token"]
    stalled_code = wx.code("o-stalled")
    mock.post("/mock/wx/slow", json={"path": "/sns/jscode2session", "interval_ms": 100, "bytes": 300})
    stalled = {}

    def log_in():
        started = time.monotonic()
        stalled["response"] = requests.post(f"{gunicorn_url}/api/v1/auth/wechat/login",
                                            json={"code": stalled_code}, timeout=60)
        stalled["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=log_in)
    thread.start()
    time.sleep(0.5)  # the login is now waiting on WeChat (real time: a real subprocess)
    assert "response" not in stalled
    started = time.monotonic()
    assert requests.get(f"{gunicorn_url}/healthz", timeout=5).status_code == 200
    me = requests.get(f"{gunicorn_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                      timeout=5)
    assert me.status_code == 200, me.text
    assert "response" not in stalled  # both answered while the login was still stalled
    assert time.monotonic() - started < 1.5
    thread.join(timeout=30)
    response = stalled["response"]
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert stalled["elapsed"] < 10  # the 2 s deadline, not the 30 s drip
