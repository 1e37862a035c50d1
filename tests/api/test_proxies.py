"""Who the client is: the socket's peer, or what TRUSTED_PROXIES proxies said,
never a header the client writes itself. Rate limits key on it."""
from __future__ import annotations

from app.config import load_config
from tests.conftest import assert_error

LOGIN = "/api/v1/auth/wechat/login"


def _login(client, peer="203.0.113.7", **headers):
    return client.post(LOGIN, json={"code": "bad"}, headers=headers,
                       environ_base={"REMOTE_ADDR": peer})


def test_no_proxy_is_trusted_by_default():
    assert load_config("development", env={})["TRUSTED_PROXIES"] == 0
    assert load_config("development", env={"TRUSTED_PROXIES": "1"})["TRUSTED_PROXIES"] == 1


def test_without_trusted_proxies_headers_do_not_reset_the_login_quota(make_app):
    client = make_app(RATELIMIT_LOGIN="2/minute", TRUSTED_PROXIES=0).test_client()
    assert _login(client, **{"X-Real-IP": "198.51.100.1"}).status_code == 401
    assert _login(client, **{"X-Forwarded-For": "198.51.100.2"}).status_code == 401
    response = _login(client, **{"X-Real-IP": "198.51.100.3", "X-Forwarded-For": "198.51.100.4"})
    assert_error(response, 429, "rate_limited")
    # Another socket peer is another client.
    assert _login(client, peer="203.0.113.8").status_code == 401


def test_behind_one_proxy_the_last_forwarded_hop_is_the_client(make_app):
    client = make_app(RATELIMIT_LOGIN="2/minute", TRUSTED_PROXIES=1).test_client()
    nginx = "10.0.0.2"
    # The client forges the first hops; nginx appends the address it saw.
    assert _login(client, nginx, **{"X-Forwarded-For": "1.1.1.1, 198.51.100.9"}).status_code == 401
    assert _login(client, nginx, **{"X-Forwarded-For": "2.2.2.2, 198.51.100.9",
                                    "X-Real-IP": "3.3.3.3"}).status_code == 401
    assert_error(_login(client, nginx, **{"X-Forwarded-For": "198.51.100.9"}), 429, "rate_limited")
    # Another client behind the same nginx has its own quota.
    assert _login(client, nginx, **{"X-Forwarded-For": "198.51.100.10"}).status_code == 401


def test_behind_one_proxy_a_request_without_forwarding_is_the_peer(make_app):
    client = make_app(RATELIMIT_LOGIN="1/minute", TRUSTED_PROXIES=1).test_client()
    assert _login(client, "10.0.0.2").status_code == 401
    assert_error(_login(client, "10.0.0.2", **{"X-Real-IP": "4.4.4.4"}), 429, "rate_limited")
