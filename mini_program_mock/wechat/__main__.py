"""``python -m mini_program_mock.wechat --port 9100``: run the mock WeChat server."""
from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from mini_program_mock.wechat.server import DEFAULT_PAGES, create_mock_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mini_program_mock.wechat",
                                     description="Mock of WeChat's server APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--appid", default="wx-demo-appid")
    parser.add_argument("--secret", default="demo-app-secret")
    parser.add_argument("--code-ttl", type=int, default=300, help="seconds a login/phone code lives")
    parser.add_argument("--per-user-limit", type=int, default=20,
                        help="code exchanges per openid per minute before 45011")
    parser.add_argument("--page", action="append", dest="pages",
                        help="a page of the mini-program (repeat; the first is the home page)")
    parser.add_argument("--push-url", help="the app's message push URL")
    parser.add_argument("--push-token", help="the token pushes are signed with")
    parser.add_argument("--auto-push", type=float, metavar="SECONDS",
                        help="push each media check's result by itself this long after the check")
    args = parser.parse_args(argv)
    app = create_mock_app(appid=args.appid, secret=args.secret, code_ttl=args.code_ttl,
                          per_user_limit=args.per_user_limit,
                          pages=args.pages or DEFAULT_PAGES, push_url=args.push_url,
                          push_token=args.push_token, auto_push=args.auto_push)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
