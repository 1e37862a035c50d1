"""Photos are shown to others only once WeChat's asynchronous media check
passed them: the result arrives at /wechat/push, signed; risky photos are
removed and their uploader told; review holds them for an admin."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.uploads.storage import get_storage
from tests.conftest import assert_error
from tests.grid.helpers import EVENTS, report, reported, upload_id
from tests.uploads.helpers import (
    PUSH,
    PUSH_TOKEN,
    check_result,
    media_event,
    push,
    upload_row,
)

MEDIA_CHECK = "/wxa/media_check_async"
QUEUE = "/api/v1/moderation/photos"


def photos(api, event_id: int) -> list[dict]:
    response = api.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 200, response.json
    return response.json["photos"]


@pytest.fixture
def pending(resident, grid):
    """A resident's report with one photo WeChat has not judged yet: (event id, upload id)."""
    photo = upload_id(resident, checked=None)
    return reported(resident, photo_ids=[photo])["id"], photo


def test_a_photo_is_checked_by_wechat_on_a_job_with_a_link_it_can_fetch(app, resident, mock):
    photo = upload_id(resident, checked=None)
    row = upload_row(photo)
    assert row.check_state == "pending" and row.trace_id in mock.media_checks
    check = mock.media_checks[row.trace_id]
    assert check.openid == "o-resident" and check.media_type == 2 and check.scene == 3
    assert check.media_url.startswith(app.config["PUBLIC_BASE_URL"] + "/media/")
    assert mock.calls[MEDIA_CHECK] == 1
    assert resident.get(f"/api/v1/uploads/{photo}").status_code == 200  # the uploader sees it


def test_pending_photos_are_hidden_from_others_until_the_mock_pushes_pass(
        pending, resident, leader, admin, pushing, door, mock):
    event_id, photo = pending
    url = f"{EVENTS}/{event_id}/photos/{photo}"
    # the grid's leader sees the event, not the photo; the uploader and the admin see it, marked
    assert photos(leader, event_id) == []
    assert_error(leader.get(url), 404, "not_found")
    assert [(p["upload_id"], p["check_state"]) for p in photos(resident, event_id)] == [(photo, "pending")]
    assert [p["check_state"] for p in photos(admin, event_id)] == ["pending"]
    assert admin.get(url).status_code == 200
    listed = leader.get(EVENTS).json["items"]
    assert [e["photos"] for e in listed] == [[]]

    # WeChat's result, pushed by the mock (signed) to the live app
    answer = door("media-result", {"trace_id": upload_row(photo).trace_id})
    assert answer == {"status": 200, "body": "success"}
    row = upload_row(photo)
    assert (row.check_state, row.label, row.moderator_id) == ("pass", 100, None) and row.checked_at
    assert [(p["upload_id"], p["check_state"]) for p in photos(leader, event_id)] == [(photo, "pass")]
    response = leader.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert [len(e["photos"]) for e in leader.get(EVENTS).json["items"]] == [1]


def test_a_risky_photo_is_removed_for_everyone_and_its_uploader_told(
        pending, resident, leader, admin, pushing, door):
    event_id, photo = pending
    stored = Path(get_storage()._path(upload_row(photo).storage_key))
    assert stored.exists()
    answer = door("media-result", {"trace_id": upload_row(photo).trace_id, "suggest": "risky",
                                   "label": 20002})
    assert answer["status"] == 200 and answer["body"] == "success"
    row = upload_row(photo)
    assert (row.check_state, row.label) == ("risky", 20002)
    for api in (resident, leader, admin):
        assert photos(api, event_id) == []
        assert_error(api.get(f"{EVENTS}/{event_id}/photos/{photo}"), 404, "not_found")
    assert_error(resident.get(f"/api/v1/uploads/{photo}"), 404, "not_found")
    assert not stored.exists()  # deleted, not kept aside
    notices = resident.get("/api/v1/me/notices").json["items"]
    assert [(n["kind"], n["data"]) for n in notices] == [
        ("photo_rejected", {"upload_id": photo, "event_id": event_id, "label": 20002, "by": "wechat"})]
    assert leader.get("/api/v1/me/notices").json["items"] == []


@pytest.mark.parametrize("query", [
    {},
    {"timestamp": "1764122400", "nonce": "1234"},
    {"signature": "0" * 40, "timestamp": "1764122400", "nonce": "1234"},
    {"signature": "", "timestamp": "", "nonce": ""},
    {"signature": "签名" * 20, "timestamp": "1764122400", "nonce": "1234"},  # not ASCII: no 500
])
def test_forged_or_unsigned_pushes_are_refused_and_change_nothing(client, pending, query, resident):
    _, photo = pending
    event = media_event(upload_row(photo).trace_id, "pass")
    assert_error(push(client, event, query=query), 403, "push_signature_invalid")
    assert upload_row(photo).check_state == "pending"


def test_a_push_signed_with_another_token_is_refused(client, pending, leader):
    event_id, photo = pending
    for suggest in ("pass", "risky"):
        response = push(client, media_event(upload_row(photo).trace_id, suggest), token="not-our-token")
        assert_error(response, 403, "push_signature_invalid")
    assert upload_row(photo).check_state == "pending"
    assert photos(leader, event_id) == []


def test_a_tampered_signed_push_is_refused(client, pending):
    """The signature covers the token, timestamp and nonce: change the timestamp and it fails."""
    from mini_program_mock.wechat.server import _signed_query

    _, photo = pending
    query = _signed_query(PUSH_TOKEN)
    query["timestamp"] = str(int(query["timestamp"]) + 1)
    assert_error(push(client, media_event(upload_row(photo).trace_id), query=query), 403,
                 "push_signature_invalid")
    assert upload_row(photo).check_state == "pending"


def test_no_push_token_configured_refuses_every_push(make_app, pending):
    other = make_app(WECHAT_PUSH_TOKEN=None).test_client()
    _, photo = pending
    assert_error(push(other, media_event(upload_row(photo).trace_id)), 403, "push_signature_invalid")
    assert_error(other.get(PUSH, query_string={"echostr": "x"}), 403, "push_signature_invalid")
    assert upload_row(photo).check_state == "pending"


def test_an_unknown_trace_id_is_answered_success_and_changes_nothing(client, pending, caplog):
    _, photo = pending
    with caplog.at_level(logging.WARNING, "app.uploads.services"):
        response = push(client, media_event("not-a-trace-of-ours", "risky"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert "unknown trace_id" in caplog.text
    assert upload_row(photo).check_state == "pending"


def test_the_same_push_twice_is_harmless_and_the_first_verdict_wins(client, pending, resident, leader):
    event_id, photo = pending
    trace_id = upload_row(photo).trace_id
    first = media_event(trace_id, "pass")
    for _ in range(2):
        response = push(client, first)
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    checked_at = upload_row(photo).checked_at
    # a later, different verdict for the same check changes nothing either
    assert push(client, media_event(trace_id, "risky")).get_data(as_text=True) == "success"
    row = upload_row(photo)
    assert (row.check_state, row.checked_at) == ("pass", checked_at)
    assert leader.get(f"{EVENTS}/{event_id}/photos/{photo}").status_code == 200
    assert resident.get("/api/v1/me/notices").json["items"] == []


def test_the_mock_verifies_the_push_url(pushing, door):
    assert door("push-verify") == {"status": 200, "echoed": True}


def test_url_verification_answers_echostr_only_when_signed(client):
    from mini_program_mock.wechat.server import _signed_query

    signed = _signed_query(PUSH_TOKEN)
    response = client.get(PUSH, query_string={**signed, "echostr": "abc123"})
    assert response.status_code == 200 and response.get_data(as_text=True) == "abc123"
    assert response.mimetype == "text/plain"
    forged = {**_signed_query("wrong-token"), "echostr": "abc123"}
    assert_error(client.get(PUSH, query_string=forged), 403, "push_signature_invalid")
    assert_error(client.get(PUSH, query_string={"echostr": "abc123"}), 403, "push_signature_invalid")
    error = assert_error(client.get(PUSH, query_string=signed), 422, "validation_failed")
    assert "echostr" in error["details"]["fields"]


def test_signed_pushes_with_bad_bodies_are_clear_errors(client, pending):
    _, photo = pending
    trace_id = upload_row(photo).trace_id
    assert_error(push(client, b"not json"), 400, "malformed_json")
    assert_error(push(client, [1, 2]), 400, "malformed_json")
    no_trace = media_event(trace_id)
    del no_trace["trace_id"]
    assert "trace_id" in assert_error(push(client, no_trace), 422, "validation_failed")["details"]["fields"]
    bogus = media_event(trace_id)
    bogus["result"] = {"suggest": "maybe"}
    assert "result" in assert_error(push(client, bogus), 422, "validation_failed")["details"]["fields"]
    assert upload_row(photo).check_state == "pending"
    # events of other kinds are WeChat's too: answered, ignored
    other = push(client, {"MsgType": "event", "Event": "user_enter_tempsession"})
    assert other.status_code == 200 and other.get_data(as_text=True) == "success"
    # a result for another mini-program is ignored
    foreign = media_event(trace_id, "risky")
    foreign["appid"] = "wx-someone-else"
    assert push(client, foreign).get_data(as_text=True) == "success"
    assert upload_row(photo).check_state == "pending"


def test_a_check_that_failed_at_wechat_goes_to_review(client, pending, leader, resident):
    event_id, photo = pending
    failed = media_event(upload_row(photo).trace_id)
    failed.update(errcode=-1008, errmsg="media download failed")
    del failed["result"]
    assert push(client, failed).get_data(as_text=True) == "success"
    assert upload_row(photo).check_state == "review"
    assert photos(leader, event_id) == []
    assert [p["check_state"] for p in photos(resident, event_id)] == ["review"]


def test_refused_pushes_are_rate_limited_but_wechat_s_are_not(app, make_app):
    limited = make_app(RATELIMIT_WECHAT_PUSH="3/minute").test_client()
    for _ in range(3):
        assert_error(push(limited, media_event("x"), token="forged"), 403, "push_signature_invalid")
    assert_error(push(limited, media_event("x"), token="forged"), 429, "rate_limited")
    limiter_free = make_app(RATELIMIT_WECHAT_PUSH="1/minute").test_client()
    for _ in range(3):  # WeChat's own pushes never count
        assert push(limiter_free, media_event("unknown")).get_data(as_text=True) == "success"


# ---- review: the moderation queue ------------------------------------------------------------

@pytest.fixture
def in_review(client, pending):
    event_id, photo = pending
    check_result(client, photo, "review", 21000)
    return event_id, photo


def test_review_holds_a_photo_until_an_admin_releases_it(in_review, admin, admin_b, street_admin,
                                                         leader, resident):
    event_id, photo = in_review
    assert photos(leader, event_id) == []
    assert [p["check_state"] for p in photos(resident, event_id)] == ["review"]
    queue = admin.get(QUEUE)
    assert queue.status_code == 200, queue.json
    [item] = queue.json["items"]
    assert (item["id"], item["event_id"], item["stage"], item["check_state"], item["label"]) == \
        (photo, event_id, "report", "review", 21000)
    assert item["owner_id"] == resident.user_id and queue.json["next_cursor"] is None
    assert admin.get(item["url"]).status_code == 200  # the admin can look at it
    assert [i["id"] for i in street_admin.get(QUEUE).json["items"]] == [photo]  # the subtree
    assert admin_b.get(QUEUE).json["items"] == []  # another community's admin
    assert admin.get(QUEUE, query_string={"state": "pending"}).json["items"] == []
    assert_error(leader.get(QUEUE), 403, "forbidden")
    assert_error(admin.get(QUEUE, query_string={"state": "pass"}), 422, "validation_failed")
    assert_error(admin_b.post(f"{QUEUE}/{photo}/release"), 404, "not_found")
    assert_error(leader.post(f"{QUEUE}/{photo}/release"), 404, "not_found")

    released = admin.post(f"{QUEUE}/{photo}/release")
    assert released.status_code == 200, released.json
    assert released.json["check_state"] == "pass" and released.json["moderator_id"] == admin.user_id
    assert [p["check_state"] for p in photos(leader, event_id)] == ["pass"]
    assert admin.get(QUEUE).json["items"] == []
    error = assert_error(admin.post(f"{QUEUE}/{photo}/reject"), 409, "photo_already_decided")
    assert error["details"]["check_state"] == "pass"
    assert resident.get("/api/v1/me/notices").json["items"] == []


def test_an_admin_rejects_a_photo_in_review(in_review, admin, resident, leader):
    event_id, photo = in_review
    stored = Path(get_storage()._path(upload_row(photo).storage_key))
    rejected = admin.post(f"{QUEUE}/{photo}/reject")
    assert rejected.status_code == 200, rejected.json
    assert rejected.json["check_state"] == "risky"
    assert not stored.exists()
    for api in (resident, leader, admin):
        assert photos(api, event_id) == []
    [notice] = resident.get("/api/v1/me/notices").json["items"]
    assert notice["kind"] == "photo_rejected" and notice["data"]["by"] == "admin"
    assert_error(admin.post(f"{QUEUE}/{photo}/release"), 409, "photo_already_decided")


def test_stuck_pending_photos_are_listed_and_can_be_decided(pending, admin):
    _, photo = pending
    assert admin.get(QUEUE).json["items"] == []
    assert [i["id"] for i in admin.get(QUEUE, query_string={"state": "pending"}).json["items"]] == [photo]
    assert admin.post(f"{QUEUE}/{photo}/release").json["check_state"] == "pass"


def test_the_queue_pages_by_keyset_without_n_plus_1(client, resident, admin, grid, count_queries):
    made = []
    for i in range(5):
        photo = upload_id(resident, checked="review")
        reported(resident, title=f"事件 {i}", photo_ids=[photo])
        made.append(photo)
    seen, cursor, counts = [], None, []
    while True:
        with count_queries() as q:
            page = admin.get(QUEUE, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        counts.append(q.count)
        assert page.status_code == 200, page.json
        seen += [i["id"] for i in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == made  # oldest first, each once
    # user, (grants, first time only), the page, its events: whatever the page holds
    assert max(counts) <= 4 and len(set(counts[1:])) == 1, counts


def test_event_lists_with_photos_stay_n_plus_1_free(client, resident, leader, grid, count_queries):
    def list_count():
        with count_queries() as q:
            assert leader.get(EVENTS).status_code == 200
        return q.count

    reported(resident, photo_ids=[upload_id(resident)])
    one = list_count()
    for i in range(4):
        reported(resident, title=f"事件 {i}", photo_ids=[upload_id(resident), upload_id(resident, checked=None)])
    assert list_count() == one
    assert sum(len(e["photos"]) for e in leader.get(EVENTS).json["items"]) == 5



def test_the_demo_mock_pushes_results_by_itself(resident, leader, pending, pushing, mock):
    """``--auto-push`` (./dev demo): the mock pushes each result unasked, as WeChat does."""
    import time

    with mock.lock:
        mock.auto_push = 0.2
    try:
        photo = upload_id(resident, checked=None)
        deadline = time.monotonic() + 10
        while upload_row(photo).check_state == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)  # another thread's work, not the clock: wait for it
    finally:
        with mock.lock:
            mock.auto_push = None
    assert upload_row(photo).check_state == "pass"
    assert upload_row(pending[1]).check_state == "pending"  # only checks asked meanwhile


def test_a_risky_upload_cannot_be_attached(resident, grid):
    photo = upload_id(resident, checked="risky")
    error = assert_error(report(resident, photo_ids=[photo]), 422, "upload_not_usable")
    assert error["details"]["upload_id"] == photo
    assert resident.get(EVENTS).json["items"] == []
