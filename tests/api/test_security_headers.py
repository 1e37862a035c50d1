"""Security headers: nosniff everywhere, no-store on tokens and personal data,
and on every HTML page a Content-Security-Policy under which the page still works."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from flask import url_for
from PIL import Image

CENTER_LAT, CENTER_LNG = 21.8580, 111.9620


@pytest.fixture
def screen(admin, tree, client):
    """A center, a display device, and its page's URL."""
    center = admin.post("/api/v1/centers", json={
        "org_id": tree.a, "name": "丰泽社区党群服务中心", "address": "江城区丰泽路 1 号",
        "location": {"lat": CENTER_LAT, "lng": CENTER_LNG}}).json
    token = admin.post(f"/api/v1/centers/{center['id']}/display-devices",
                       json={"name": "大厅屏"}).json["device_token"]
    return {"id": center["id"], "token": token,
            "url": f"/display/centers/{center['id']}?device_token={token}"}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _responses(client, admin, screen):
    upload = admin.post("/api/v1/uploads", data={"file": (io.BytesIO(_png()), "a.png")},
                        content_type="multipart/form-data")
    assert upload.status_code == 201, upload.json
    center = f"/api/v1/centers/{screen['id']}"
    return {
        "json": admin.get("/api/v1/orgs"),
        "error": client.get("/api/v1/nothing-here"),
        "500-free 422": client.post("/api/v1/auth/wechat/login", json={}),
        "upload": admin.get(upload.headers["Location"]),
        "png": client.get(f"{center}/display-code.png?device_token={screen['token']}"),
        "svg": client.get(f"{center}/display-code.svg?device_token={screen['token']}"),
        "display page": client.get(screen["url"]),
        "docs page": client.get("/api/v1/docs"),
        "openapi": client.get("/api/v1/openapi.json"),
        "static": client.get("/static/display/center.js"),
        "health": client.get("/healthz"),
    }


def test_every_response_is_nosniff_and_unframable(client, admin, screen):
    for name, response in _responses(client, admin, screen).items():
        assert response.status_code < 500, name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "no-referrer", name
        policy = response.headers.get("Content-Security-Policy", "")
        if name == "display page":  # the console previews it: a frame of its own origin only
            assert response.headers.get("X-Frame-Options") == "SAMEORIGIN"
            assert "frame-ancestors 'self'" in policy
            continue
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert "frame-ancestors 'none'" in policy, name


def test_uploads_and_images_may_run_nothing(client, admin, screen):
    responses = _responses(client, admin, screen)
    for name in ("upload", "svg", "json", "error"):
        policy = responses[name].headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'none'") and "script-src" not in policy, name


def test_auth_and_me_are_never_cached(client, login, wx):
    api = login("o-cache")
    responses = [
        client.post("/api/v1/auth/wechat/login", json={"code": wx.code("o-cache")}),
        client.post("/api/v1/auth/wechat/login", json={"code": "bad"}),
        client.post("/api/v1/auth/refresh", json={"refresh_token": api.tokens["refresh_token"]}),
        api.get("/api/v1/me"),
        api.get("/api/v1/me/notices"),
        client.get("/api/v1/me"),  # 401
    ]
    for response in responses:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path


def test_other_paths_are_not_forced_no_store(client):
    assert "no-store" not in (client.get("/api/v1/openapi.json").headers.get("Cache-Control") or "")
    assert "no-store" not in (client.get("/api/v1/mentions").headers.get("Cache-Control") or "")


def _directives(policy: str) -> dict:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._in and data.strip():
            self.inline.append(self._in)

    def handle_endtag(self, tag):
        self._in = None


def test_every_html_page_has_a_policy(app, client, admin, screen):
    """Every GET route the app serves; those that answer HTML carry the page headers."""
    html = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        # ids are the screen's center; an any() converter takes its first choice
        values = {arg: sorted(converter.items)[0] if hasattr(converter, "items") else screen["id"]
                  for arg, converter in rule._converters.items()}
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        response = client.get(path, query_string={"device_token": screen["token"]}, headers=admin.headers)
        if response.mimetype == "text/html" and response.status_code == 200:
            html[rule.endpoint] = response
    assert set(html) == {"display.center_screen", "api-docs.openapi_swagger_ui", "web.admin",
                         "web.mini_program"}
    for endpoint, response in html.items():
        policy = _directives(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"], endpoint
        assert "'unsafe-inline'" not in policy["script-src"], endpoint
        framable = endpoint == "display.center_screen"
        assert policy["frame-ancestors"] == (["'self'"] if framable else ["'none'"]), endpoint
        assert response.headers["X-Frame-Options"] == ("SAMEORIGIN" if framable else "DENY")
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_faces_load_scripts_only_from_the_app(client):
    """The console and the stand-in: no CDN, no inline script; the mock WeChat
    is reachable only where demo logins are on."""
    for path in ("/admin/", "/mp/"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = _directives(response.headers["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], path
        page = _Page()
        page.feed(response.text)
        assert "script" not in page.inline, path
        sources = [attrs["src"] for tag, attrs in page.tags if tag == "script"]
        assert sources and all(src.startswith("/") for src in sources), sources


def test_the_stand_in_is_not_served_in_production_and_vendor_is_fenced(make_app, client):
    assert client.get("/vendor/jsqr/dist/jsQR.js").status_code == 200
    assert client.get("/vendor/jsqr/package.json").status_code == 404  # only dist/
    assert client.get("/vendor/left-pad/index.js").status_code == 404
    assert client.get("/vendor/jsqr/dist/../../echarts/package.json").status_code == 404
    quiet = make_app(SERVE_MINI_PROGRAM=False, DEMO_LOGINS=False).test_client()
    assert quiet.get("/mp/").status_code == 404
    assert quiet.get("/admin/").status_code == 200
    assert quiet.get("/faces/config.json").json == {"api": "/api/v1", "demo": False}


def test_the_display_page_carries_nothing_its_policy_would_block(client, screen):
    response = client.get(screen["url"])
    assert response.status_code == 200
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert "'self'" in policy["connect-src"]
    page = _Page()
    page.feed(response.get_data(as_text=True))
    assert page.inline == []  # no inline <script> or <style>
    for tag, attrs in page.tags:
        assert "style" not in attrs and not any(name.startswith("on") for name in attrs), tag
    scripts = [attrs["src"] for tag, attrs in page.tags if tag == "script"]
    sheets = [attrs["href"] for tag, attrs in page.tags if tag == "link" and attrs.get("rel") == "stylesheet"]
    assert scripts and sheets
    for url in scripts + sheets:
        assert url.startswith("/") and not url.startswith("//"), url  # same origin: 'self'
        served = client.get(url)
        assert served.status_code == 200, url
    assert client.get(scripts[0]).mimetype in ("text/javascript", "application/javascript")
    assert client.get(sheets[0]).mimetype == "text/css"


NODE_HARNESS = r"""
const fs = require("fs");
const [script, pageJson, answerJson] = process.argv.slice(2);
const page = JSON.parse(pageJson), answer = JSON.parse(answerJson);
function element(dataset) {
  return {dataset: dataset || {}, innerHTML: "", textContent: "",
          classList: {set: new Set(), add(c) { this.set.add(c); }, remove(c) { this.set.delete(c); }}};
}
const elements = {code: element(page.code), status: element(), "today-count": element(), "center-name": element()};
const fetched = [];
const timers = [];
global.document = {body: {dataset: page.body}, getElementById: (id) => elements[id]};
global.fetch = (url, options) => { fetched.push(url); return Promise.resolve({ok: true, json: () => Promise.resolve(answer)}); };
global.setTimeout = (fn, ms) => { timers.push(ms); if (timers.length === 1) { fn(); } return timers.length; };
global.clearTimeout = () => {};
global.setInterval = () => 0;
eval(fs.readFileSync(script, "utf8"));
setImmediate(() => setImmediate(() => console.log(JSON.stringify({
  fetched, timers, code: elements.code.innerHTML, count: elements["today-count"].textContent,
  name: elements["center-name"].textContent, stale: elements.code.classList.set.has("stale")}))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_display_page_script_still_polls_and_swaps_the_code(app, client, screen, tmp_path):
    """Run the page's static script (node, a stub DOM) against the real display-code answer."""
    response = client.get(screen["url"])
    page = _Page()
    page.feed(response.get_data(as_text=True))
    attrs = {tag if tag == "body" else attrs.get("id"): attrs for tag, attrs in page.tags}
    data = lambda a: {re.sub(r"-(\w)", lambda m: m.group(1).upper(), k[5:]): v  # noqa: E731
                      for k, v in a.items() if k.startswith("data-")}
    dom = {"body": data(attrs["body"]), "code": data(attrs["code"])}
    src = next(a["src"] for t, a in page.tags if t == "script")
    script = tmp_path / "page.js"
    script.write_bytes(client.get(src).data)
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    polled = f"/api/v1/centers/{screen['id']}/display-code?device_token={screen['token']}"
    answer = client.get(polled).json
    run = subprocess.run(["node", str(harness), str(script), json.dumps(dom), json.dumps(answer)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["fetched"] == [polled]  # the token travels, URL-encoded
    assert result["code"] == answer["qr_svg"] and "<svg" in result["code"]
    assert result["count"] == answer["today_count"]
    assert result["name"] == answer["center_name"]
    assert result["stale"] is False
    assert len(result["timers"]) == 2  # scheduled from the page, then from the answer


def test_the_docs_page_allows_only_its_own_inline_script(client, app):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    policy = _directives(response.headers["Content-Security-Policy"])
    body = response.get_data()
    inline = re.findall(rb"<script>(.*?)</script>", body, re.S)
    assert len(inline) == 1
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(inline[0]).digest()).decode() + "'"
    # Swagger UI is the app's own (/vendor/swagger-ui-dist/), or a CDN's when SWAGGER_UI_URL says so.
    swagger = app.config["OPENAPI_SWAGGER_UI_URL"]
    assert policy["script-src"] == [swagger if swagger.startswith("https://") else "'self'", digest]
    for src in re.findall(rb'<script src="([^"]+)"', body):
        assert src.decode().startswith(app.config["OPENAPI_SWAGGER_UI_URL"])
    assert "'self'" in policy["connect-src"]  # fetches /api/v1/openapi.json
