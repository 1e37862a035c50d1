"""The product's faces, served by the app: the admin console (/admin/), the
mini-program stand-in (/mp/, development and the demo only) and the npm
packages they and the API docs load (/vendor/...).

No build step: the pages are ES modules and static files. Third-party
packages come from ``node_modules`` (``npm ci`` in ./dev), and only the
distribution folders listed in ``VENDOR`` are reachable.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request, send_from_directory

from app.common import headers

blp = Blueprint("web", __name__)

MINI_PROGRAM_DIR = Path(__file__).resolve().parent.parent.parent / "mini_program_mock" / "web"
ADMIN_DIR = Path(__file__).resolve().parent.parent / "static" / "admin"
# npm package -> the folder of it that pages may load.
VENDOR = {"jsqr": "dist/", "echarts": "dist/", "swagger-ui-dist": ""}


@blp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in VENDOR or not filename.startswith(VENDOR[package]):
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / package
    if not root.is_dir():
        current_app.logger.error("front-end package %s is not installed: run ./dev install", package)
        abort(404)
    return send_from_directory(root, filename, max_age=24 * 3600)


@blp.get("/admin/")
def admin():
    return send_from_directory(ADMIN_DIR, "index.html", max_age=0)


@blp.get("/admin")
@blp.get("/mp")
def _add_slash():
    return current_app.redirect(request.path + "/", 308)


@blp.get("/mp/")
@blp.get("/mp/<path:filename>")
def mini_program(filename: str = "index.html"):
    if not current_app.config["SERVE_MINI_PROGRAM"]:
        abort(404)
    return send_from_directory(MINI_PROGRAM_DIR, filename, max_age=0)


@blp.get("/faces/config.json")
def faces_config():
    """What the pages need to know about this deployment. The mock WeChat's
    address and the demo accounts only where demo logins are on."""
    config = current_app.config
    answer: dict = {"api": "/api/v1", "demo": bool(config["DEMO_LOGINS"])}
    if config["DEMO_LOGINS"]:
        from app.demo import ACCOUNTS

        answer["wechat_base"] = config["WECHAT_API_BASE"]
        answer["demo_accounts"] = [
            {"openid": openid, "role": role, "org": org} for openid, (role, org) in ACCOUNTS.items()]
    return jsonify(answer)


@blp.after_request
def _faces_policy(response):
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = headers.faces_policy(
            current_app.config["WECHAT_API_BASE"] if current_app.config["DEMO_LOGINS"] else None)
    return response
