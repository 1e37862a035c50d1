"""Browser tests: Playwright for Python driving Debian's Chromium against the
app on a live server, on whichever database the run uses.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``CHROMIUM`` overrides), which ``./dev install`` installs from Debian.
Screenshots go to ``test-artifacts/screens/`` (``TEST_ARTIFACTS`` overrides),
not committed: look at them.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
# Flags for a closed network: no background calls to Google's hosts.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=zh-CN"]
PHONE = {"width": 375, "height": 667}
LAPTOP = {"width": 1366, "height": 768}
# 丰泽社区's service center in the tests that place the phone.
HERE = {"latitude": 24.9065, "longitude": 118.5896}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run ./dev install (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


class Screens:
    """``shot(page, name)``: a full-page screenshot under test-artifacts/screens/."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request):
    return Screens(ARTIFACTS / "screens")


@pytest.fixture
def pages(browser, live_url, request):
    """Open pages of the app: ``pages.phone(api=...)`` (the stand-in, 375×667,
    logged in as that ApiClient's user if given) and ``pages.console(api=...)``.
    Console errors and failed page scripts fail the test."""
    opened = []
    problems: list[str] = []

    def context(viewport, storage_key=None, api=None, openid=None, location=None):
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  geolocation=location or HERE, permissions=["geolocation"],
                                  accept_downloads=True)
        if api is not None:
            # Logged in as that user, once: a later logout on the page sticks.
            session = {key: api.tokens[key] for key in ("access_token", "refresh_token")}
            script = f"localStorage.setItem({json.dumps(storage_key)}, {json.dumps(json.dumps(session))});"
            if openid:
                script += f"localStorage.setItem('mp.openid', {json.dumps(openid)});"
            ctx.add_init_script(f"if (!sessionStorage.getItem('seeded')) {{ {script} "
                                "sessionStorage.setItem('seeded', '1'); }")
        opened.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and not _expected(message.text)
                and problems.append(f"console error: {message.text}"))
        return page

    class Pages:
        url = live_url

        def phone(self, api=None, openid=None, path="/mp/", location=None):
            page = context(PHONE, "mp.session", api, openid, location)
            page.goto(live_url + path)
            return page

        def console(self, api=None, path="/admin/"):
            page = context(LAPTOP, "admin.session", api)
            page.goto(live_url + path)
            return page

        def blank(self, viewport=LAPTOP):
            return context(viewport)

    yield Pages()
    for ctx in opened:
        ctx.close()
    assert not problems, problems


def _expected(text: str) -> bool:
    # A refused API call is shown on the page; the browser also logs it.
    return "Failed to load resource" in text
