"""WeChat's platform duties (content security, subscribe messages,
mini-program codes, message push) in the mock and in the client.

The mock runs over real HTTP on a free port for this module, and so does a
small receiving app standing in for the app's message push endpoint; every
test starts from a reset mock and an empty fakeredis.
"""
from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest
import requests
import zxingcpp
from flask import Flask, request
from PIL import Image
from werkzeug.serving import make_server

from app.wechat.client import ACCESS_TOKEN_KEY, SecResult, WeChatClient, verify_push_signature
from app.wechat.errors import (
    WeChatCallFailed,
    WeChatNoQuota,
    WeChatRejected,
    WeChatTransient,
    WeChatUnavailable,
)
from mini_program_mock.wechat import create_mock_app
from tests.wechat.conftest import APPID, SECRET, client_for

PAGES = ("pages/index/index", "pages/task/detail", "pages/center/detail")
PUSH_TOKEN = "push-token-for-tests"
TEMPLATE = "tmpl-help-accepted"
USER = "o-platform-user"

SEC_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK = "/wxa/media_check_async"
SEND = "/cgi-bin/message/subscribe/send"
WXACODE = "/wxa/getwxacodeunlimit"


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def receiver():
    """The app's message push endpoint, as the issue describes it: WeChat's
    URL check echoes ``echostr``; a push is accepted only when signed."""
    app = Flask(__name__)
    received: list[dict] = []

    @app.route("/wechat/push", methods=["GET", "POST"])
    def push():
        args = request.args
        if not verify_push_signature(PUSH_TOKEN, args.get("signature"), args.get("timestamp"),
                                     args.get("nonce")):
            return "forged", 403
        if request.method == "GET":
            return args.get("echostr", "")
        received.append(request.get_json())
        return "success"

    server, thread, url = _serve(app)
    yield f"{url}/wechat/push", received
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def mock_server(receiver):
    app = create_mock_app(appid=APPID, secret=SECRET, pages=PAGES, push_url=receiver[0],
                          push_token=PUSH_TOKEN)
    server, thread, url = _serve(app)
    yield app, url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def mock(mock_server, receiver):
    state = mock_server[0].extensions["wechat_mock"]
    with state.lock:
        state.reset()
        state.push_url, state.push_token = receiver[0], PUSH_TOKEN
    receiver[1].clear()
    return state


@pytest.fixture
def client(base_url, redis, mock):
    return client_for(base_url, redis)


def door(base_url, name, **body):
    response = requests.post(f"{base_url}/mock/wx/{name}", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def known_user(base_url, openid=USER):
    door(base_url, "login", openid=openid)  # a user who opened the mini-program


def delivered(base_url, openid=USER):
    response = requests.get(f"{base_url}/mock/wx/messages", params={"openid": openid}, timeout=5)
    assert response.status_code == 200
    return response.json()["messages"]


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


DATA = {"thing1": "帮忙买菜", "time2": "2026-12-02 10:00", "phrase3": "已接单"}


# -- content security ----------------------------------------------------------

def test_msg_sec_check_passes_ordinary_text(client, base_url):
    known_user(base_url)
    result = client.msg_sec_check("周六上午帮忙打扫楼道", USER, 2)
    assert isinstance(result, SecResult)
    assert (result.suggest, result.label) == ("pass", 100)
    assert result.trace_id


def test_msg_sec_check_follows_the_sec_rules_worst_first(client, base_url):
    known_user(base_url)
    door(base_url, "sec-rules", contains="广告", suggest="review", label=10001)
    door(base_url, "sec-rules", contains="赌博", suggest="risky", label=20006)
    def verdict(*args, **kwargs):
        result = client.msg_sec_check(*args, **kwargs)
        return result.suggest, result.label

    assert verdict("这里有广告", USER, 3) == ("review", 10001)
    assert verdict("广告：赌博网站", USER, 3) == ("risky", 20006)
    # The title is checked along with the content.
    assert verdict("正文无害", USER, 1, title="赌博") == ("risky", 20006)


def test_msg_sec_check_of_an_unknown_user_is_rejected(client, mock):
    with pytest.raises(WeChatRejected) as caught:
        client.msg_sec_check("你好", "o-never-seen", 2)
    assert (caught.value.errcode, caught.value.retryable) == (40003, False)
    assert caught.value.status == 503  # escaping a request, it is WeChat being unavailable


def test_a_busy_msg_sec_check_is_transient(client, base_url):
    known_user(base_url)
    door(base_url, "fail", path=SEC_CHECK, errcode=-1)
    with pytest.raises(WeChatTransient) as caught:
        client.msg_sec_check("你好", USER, 2)
    assert (caught.value.errcode, caught.value.retryable) == (-1, True)
    assert client.msg_sec_check("你好", USER, 2).suggest == "pass"


def test_media_check_async_answers_a_trace_id_the_mock_remembers(client, base_url, mock):
    known_user(base_url)
    trace_id = client.media_check_async("https://example.com/p/1.jpg", USER, 3)
    check = mock.media_checks[trace_id]
    assert (check.openid, check.media_type, check.scene) == (USER, 2, 3)


def test_the_media_result_is_pushed_to_the_app_signed(client, base_url, receiver):
    known_user(base_url)
    door(base_url, "sec-rules", contains="bad.jpg", suggest="risky", label=20002)
    good = client.media_check_async("https://example.com/good.jpg", USER, 1)
    bad = client.media_check_async("https://example.com/bad.jpg", USER, 1)
    assert door(base_url, "media-result", trace_id=good) == {"status": 200, "body": "success"}
    assert door(base_url, "media-result", trace_id=bad)["status"] == 200
    # A door can also say what WeChat decided, whatever the rules say.
    assert door(base_url, "media-result", trace_id=good, suggest="review", label=21000)["status"] == 200
    first, second, third = receiver[1]
    assert (first["MsgType"], first["Event"], first["appid"], first["version"]) == (
        "event", "wxa_media_check", APPID, 2)
    assert (first["trace_id"], first["FromUserName"], first["errcode"]) == (good, USER, 0)
    assert first["result"] == {"suggest": "pass", "label": 100}
    assert first["detail"][0]["suggest"] == "pass"
    assert (second["trace_id"], second["result"]) == (bad, {"suggest": "risky", "label": 20002})
    assert third["result"] == {"suggest": "review", "label": 21000}


def test_a_push_signed_with_another_token_is_refused_by_the_app(client, base_url, receiver):
    known_user(base_url)
    trace_id = client.media_check_async("https://example.com/a.jpg", USER, 1)
    door(base_url, "push", url=receiver[0], token="not-the-apps-token")
    assert door(base_url, "media-result", trace_id=trace_id) == {"status": 403, "body": "forged"}
    assert receiver[1] == []
    # An unsigned POST, as a forger would send it, is refused too.
    assert requests.post(receiver[0], json={"trace_id": trace_id}, timeout=5).status_code == 403


def test_the_push_url_check_is_echoed(base_url, mock):
    assert door(base_url, "push-verify") == {"status": 200, "echoed": True}


def test_verify_push_signature():
    timestamp, nonce = "1700000000", "12345"
    signature = hashlib.sha1("".join(sorted([PUSH_TOKEN, timestamp, nonce])).encode()).hexdigest()
    assert verify_push_signature(PUSH_TOKEN, signature, timestamp, nonce)
    assert verify_push_signature(PUSH_TOKEN, signature.upper(), timestamp, nonce)
    assert not verify_push_signature(PUSH_TOKEN, signature, timestamp, "12346")
    assert not verify_push_signature("other", signature, timestamp, nonce)
    assert not verify_push_signature(PUSH_TOKEN, None, timestamp, nonce)
    assert not verify_push_signature(PUSH_TOKEN, "", timestamp, nonce)


# -- subscribe messages -------------------------------------------------------

def test_a_subscribe_message_spends_one_subscription(client, base_url, mock):
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE, count=2)
    client.send_subscribe_message(USER, TEMPLATE, "pages/task/detail?id=7", DATA, "developer")
    client.send_subscribe_message(USER, TEMPLATE, None, {"thing1": {"value": "第二条"}}, "formal")
    first, second = delivered(base_url)
    assert (first["template_id"], first["page"], first["miniprogram_state"]) == (
        TEMPLATE, "pages/task/detail?id=7", "developer")
    assert first["data"] == DATA
    assert second["data"] == {"thing1": "第二条"}
    with pytest.raises(WeChatNoQuota) as caught:  # both spent
        client.send_subscribe_message(USER, TEMPLATE, None, DATA)
    assert (caught.value.errcode, caught.value.retryable) == (43101, False)
    assert len(delivered(base_url)) == 2


@pytest.mark.parametrize("change, errcode", [
    ({"touser": "o-nobody"}, 40003),
    ({"template_id": "tmpl-unknown"}, 40037),
    ({"page": "pages/missing/page"}, 41030),
    ({"data": {"thing1": "二十一个字" * 5}}, 47003),   # a thing is 20 characters at most
    ({"data": {"number1": "十二"}}, 47003),
    ({"data": {"unheard_of1": "x"}}, 47003),
    ({"state": "production"}, 47003),
])
def test_a_subscribe_message_wechat_refuses_is_not_retryable(client, base_url, change, errcode):
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE)
    args = {"touser": USER, "template_id": TEMPLATE, "page": "pages/index/index",
            "data": DATA, "state": "formal", **change}
    with pytest.raises(WeChatRejected) as caught:
        client.send_subscribe_message(**args)
    assert (caught.value.errcode, caught.value.retryable) == (errcode, False)
    assert delivered(base_url) == []
    # Nothing was spent: the subscription still sends a good message.
    client.send_subscribe_message(USER, TEMPLATE, "pages/index/index", DATA)
    assert len(delivered(base_url)) == 1


@pytest.mark.parametrize("errcode", [-1, 45009, 45011])
def test_a_busy_or_rate_limited_send_is_transient_and_spends_nothing(client, base_url, errcode):
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE)
    door(base_url, "fail", path=SEND, errcode=errcode)
    with pytest.raises(WeChatTransient) as caught:
        client.send_subscribe_message(USER, TEMPLATE, None, DATA)
    assert (caught.value.errcode, caught.value.retryable) == (errcode, True)
    client.send_subscribe_message(USER, TEMPLATE, None, DATA)  # the retry goes through
    assert len(delivered(base_url)) == 1


def test_a_refused_token_is_refreshed_inside_the_send(client, base_url, mock, redis):
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE)
    redis.set(ACCESS_TOKEN_KEY, "stale-token")
    client.send_subscribe_message(USER, TEMPLATE, None, DATA)
    assert mock.calls[SEND] == 2
    assert mock.calls["/cgi-bin/stable_token"] == 1
    assert redis.get(ACCESS_TOKEN_KEY) == mock.access_token
    assert len(delivered(base_url)) == 1


def test_a_token_refused_twice_is_transient(client, base_url, mock):
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE)
    door(base_url, "fail", path=SEND, errcode=40001, times=2)
    with pytest.raises(WeChatTransient) as caught:
        client.send_subscribe_message(USER, TEMPLATE, None, DATA)
    assert caught.value.errcode == 40001
    assert mock.calls[SEND] == 2  # one retry, no more
    assert delivered(base_url) == []


def test_a_send_that_misses_the_deadline_is_transient(base_url, redis, mock):
    client = WeChatClient(base_url, APPID, SECRET, 0.5, redis)
    door(base_url, "subscriptions", openid=USER, template_id=TEMPLATE)
    door(base_url, "slow", path=SEND, interval_ms=50, bytes=200)
    started = time.monotonic()
    with pytest.raises(WeChatTransient) as caught:
        client.send_subscribe_message(USER, TEMPLATE, None, DATA)
    assert time.monotonic() - started < 1.5
    assert caught.value.errcode is None and caught.value.retryable


def test_an_unreachable_wechat_is_transient(redis):
    client = WeChatClient("http://127.0.0.1:9", APPID, SECRET, 1.0, redis)
    for call in (lambda: client.msg_sec_check("x", USER, 1),
                 lambda: client.send_subscribe_message(USER, TEMPLATE, None, DATA),
                 lambda: client.get_wxacode_unlimit("id=1", "pages/index/index")):
        with pytest.raises(WeChatTransient) as caught:
            call()
        assert isinstance(caught.value, WeChatCallFailed | WeChatUnavailable)
        assert caught.value.errcode is None


# -- mini-program codes ---------------------------------------------------------

def test_a_wxacode_is_a_png_that_decodes_to_page_and_scene(client):
    png = client.get_wxacode_unlimit("c=12&k=3", "pages/center/detail", env_version="trial")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode(png) == "wxacode:pages/center/detail?scene=c=12&k=3"
    # Without a page, the home page opens.
    assert decode(client.get_wxacode_unlimit("t=9")) == "wxacode:pages/index/index?scene=t=9"
    # An unpublished page is allowed when the path is not checked.
    assert decode(client.get_wxacode_unlimit("t=9", "pages/new/page", check_path=False)) \
        == "wxacode:pages/new/page?scene=t=9"


def test_the_width_sets_the_image_size(client):
    small = Image.open(io.BytesIO(client.get_wxacode_unlimit("a=1", width=280)))
    large = Image.open(io.BytesIO(client.get_wxacode_unlimit("a=1", width=1280)))
    assert small.size[0] < large.size[0]


@pytest.mark.parametrize("args, errcode", [
    ({"scene": "x" * 33}, 40169),
    ({"scene": "有中文"}, 40169),
    ({"scene": ""}, 40169),
    ({"scene": "a=1", "page": "pages/missing/page"}, 41030),
    ({"scene": "a=1", "page": "/pages/index/index"}, 41030),
    ({"scene": "a=1", "env_version": "beta"}, 40097),
    ({"scene": "a=1", "width": 100}, 40097),
])
def test_a_wxacode_wechat_refuses_is_a_typed_error(client, args, errcode):
    with pytest.raises(WeChatRejected) as caught:
        client.get_wxacode_unlimit(**args)
    assert (caught.value.errcode, caught.value.retryable) == (errcode, False)


def test_a_busy_wxacode_is_transient_and_a_stale_token_is_refreshed(client, base_url, mock, redis):
    door(base_url, "fail", path=WXACODE, errcode=45009)
    with pytest.raises(WeChatTransient) as caught:
        client.get_wxacode_unlimit("a=1")
    assert caught.value.errcode == 45009
    redis.set(ACCESS_TOKEN_KEY, "stale-token")
    assert decode(client.get_wxacode_unlimit("a=2")) == "wxacode:pages/index/index?scene=a=2"
    assert mock.calls[WXACODE] == 3


# -- the mock's own answers, through its Flask test client ------------------------

@pytest.fixture
def mock_http():
    http = create_mock_app(appid=APPID, secret=SECRET, pages=PAGES).test_client()
    http.token = http.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET,
    }).get_json()["access_token"]
    return http


def test_mock_msg_sec_check_answers_wechats_shape(mock_http):
    mock_http.post("/mock/wx/login", json={"openid": USER})
    url = f"{SEC_CHECK}?access_token={mock_http.token}"
    response = mock_http.post(url, json={"content": "你好", "version": 2, "scene": 2,
                                         "openid": USER})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"errcode", "errmsg", "trace_id", "result", "detail"}
    assert (body["errcode"], body["errmsg"], body["result"]) == (0, "ok", {"suggest": "pass",
                                                                           "label": 100})
    assert body["detail"][0]["strategy"] == "content_model"
    for change, errcode in [({"openid": "o-x"}, 40003), ({"scene": 5}, 40097),
                            ({"version": 1}, 40097), ({"content": ""}, 40097),
                            ({"content": "字" * 2501}, 40097)]:
        body = mock_http.post(url, json={"content": "你好", "version": 2, "scene": 2,
                                         "openid": USER, **change}).get_json()
        assert body["errcode"] == errcode
    assert mock_http.post(f"{SEC_CHECK}?access_token=nope", json={}).get_json()["errcode"] == 40001
    assert mock_http.post(url, data="not json").get_json()["errcode"] == 47001


def test_mock_media_check_async_checks_its_arguments(mock_http):
    mock_http.post("/mock/wx/login", json={"openid": USER})
    url = f"{MEDIA_CHECK}?access_token={mock_http.token}"
    good = {"media_url": "https://e.com/a.jpg", "media_type": 2, "version": 2, "scene": 1,
            "openid": USER}
    body = mock_http.post(url, json=good).get_json()
    assert set(body) == {"errcode", "errmsg", "trace_id"} and body["errcode"] == 0
    for change, errcode in [({"media_type": 3}, 40097), ({"media_url": "ftp://x"}, 40097),
                            ({"openid": "o-x"}, 40003)]:
        assert mock_http.post(url, json={**good, **change}).get_json()["errcode"] == errcode


def test_mock_wxacode_errors_are_json_and_success_is_png(mock_http):
    url = f"{WXACODE}?access_token={mock_http.token}"
    ok = mock_http.post(url, json={"scene": "a=1", "page": "pages/index/index"})
    assert (ok.status_code, ok.content_type) == (200, "image/png")
    bad = mock_http.post(url, json={"scene": "a=1", "page": "pages/nowhere"})
    assert bad.status_code == 200 and bad.content_type.startswith("application/json")
    assert bad.get_json() == {"errcode": 41030, "errmsg": "invalid page"}


def test_mock_reset_forgets_rules_subscriptions_and_messages(mock_http):
    mock_http.post("/mock/wx/sec-rules", json={"contains": "x", "suggest": "risky"})
    mock_http.post("/mock/wx/subscriptions", json={"openid": USER, "template_id": TEMPLATE})
    state = mock_http.application.extensions["wechat_mock"]
    state.messages[USER] = [{"template_id": TEMPLATE}]
    assert mock_http.post("/mock/wx/reset").get_json() == {"ok": True}
    assert (state.sec_rules, state.quota, state.messages, state.users) == ([], {}, {}, set())
    assert state.pages == PAGES  # configuration stays
    assert mock_http.get(f"/mock/wx/messages?openid={USER}").get_json() == {"messages": []}


@pytest.mark.parametrize("path, body", [
    ("/mock/wx/sec-rules", {"contains": "x", "suggest": "pass"}),
    ("/mock/wx/sec-rules", {"contains": "", "suggest": "risky"}),
    ("/mock/wx/sec-rules", {"contains": "x", "suggest": "risky", "label": "porn"}),
    ("/mock/wx/subscriptions", {"openid": USER}),
    ("/mock/wx/subscriptions", {"openid": USER, "template_id": TEMPLATE, "count": 0}),
    ("/mock/wx/push", {"url": "not-a-url", "token": "t"}),
    ("/mock/wx/push", {"url": "http://x/y"}),
    ("/mock/wx/media-result", {"trace_id": "unknown"}),
    ("/mock/wx/media-result", {"trace_id": "x", "suggest": "maybe"}),
    ("/mock/wx/push-verify", {}),  # no push URL configured
    ("/mock/wx/fail", {"path": "/wxa/unknown"}),
])
def test_mock_new_doors_refuse_bad_input(mock_http, path, body):
    response = mock_http.post(path, json=body)
    assert response.status_code == 400
    assert isinstance(response.get_json()["error"], str)


def test_mock_messages_door_needs_an_openid(mock_http):
    assert mock_http.get("/mock/wx/messages").status_code == 400


def test_mock_main_takes_pages_and_the_push_url(monkeypatch):
    from mini_program_mock.wechat import __main__ as entry

    seen = {}
    monkeypatch.setattr(entry, "run_simple",
                        lambda host, port, app, threaded: seen.update(app=app))
    entry.main(["--page", "pages/home/home", "--page", "pages/task/detail",
                "--push-url", "http://127.0.0.1:5000/wechat/push", "--push-token", "t"])
    state = seen["app"].extensions["wechat_mock"]
    assert state.pages == ("pages/home/home", "pages/task/detail")
    assert (state.push_url, state.push_token) == ("http://127.0.0.1:5000/wechat/push", "t")
    entry.main([])
    assert seen["app"].extensions["wechat_mock"].pages == ("pages/index/index",)
