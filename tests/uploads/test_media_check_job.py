"""The media check job (retried when WeChat is busy, never asking twice) and
the signed, expiring links WeChat fetches photos by."""
from __future__ import annotations

import base64
import datetime as dt
import io
from urllib.parse import urlsplit

import pytest
from rq.job import Job, JobStatus

from app.common import signed_codes
from app.config import ConfigError, load_config
from app.extensions import db, get_queue_redis
from app.jobs.queue import enqueue, job_id_for
from app.uploads import services
from tests.conftest import PRODUCTION_ENV, assert_error
from tests.grid.helpers import image_bytes, upload, upload_id
from tests.uploads.helpers import check_result, upload_row

MEDIA_CHECK = "/wxa/media_check_async"


def test_a_transient_errcode_is_retried_and_the_check_asked_once(app, resident, run_worker, door, mock,
                                                                 clock):
    door("fail", {"path": MEDIA_CHECK, "errcode": -1})  # WeChat busy, once
    photo = upload_id(resident, checked=None)
    assert upload_row(photo).trace_id is None  # queued, not run
    run_worker()
    assert mock.calls[MEDIA_CHECK] == 1 and upload_row(photo).trace_id is None  # failed; retry in 10 s
    clock.shift(dt.timedelta(seconds=11))
    run_worker()
    row = upload_row(photo)
    assert row.trace_id in mock.media_checks and row.check_state == "pending"
    assert mock.calls[MEDIA_CHECK] == 2
    # the same check enqueued again (its RQ record gone, say) does not ask WeChat again
    forget_job(photo)
    again = enqueue(services.check_photo, photo, job_id=f"mediacheck:{photo}")
    run_worker()
    assert again.get_status() == JobStatus.FINISHED
    assert mock.calls[MEDIA_CHECK] == 2 and upload_row(photo).trace_id == row.trace_id


def forget_job(upload_id: int) -> None:
    """Drop RQ's record of the upload's job, so that the same key enqueues anew."""
    Job.fetch(job_id_for(f"mediacheck:{upload_id}"), connection=get_queue_redis()).delete()


def test_a_retry_after_the_call_succeeded_does_not_ask_again(app, resident, mock):
    """once(): the call is marked done, so a second run of the job for the
    same upload (a retry, a duplicate worker) never calls WeChat again, even
    if it finds no trace_id (its first run died before the commit, say)."""
    photo = upload_id(resident, checked=None)
    assert mock.calls[MEDIA_CHECK] == 1
    row = upload_row(photo)
    row.trace_id = None
    db.session.commit()
    forget_job(photo)
    enqueue(services.check_photo, photo, job_id=f"mediacheck:{photo}")
    assert mock.calls[MEDIA_CHECK] == 1


def test_a_check_wechat_refuses_goes_to_review(app, resident, door, mock, leader):
    door("fail", {"path": MEDIA_CHECK, "errcode": 40003})  # invalid openid: retrying cannot help
    photo = upload_id(resident, checked=None)
    row = upload_row(photo)
    assert (row.check_state, row.trace_id) == ("review", None) and row.checked_at
    assert mock.calls[MEDIA_CHECK] == 1


def test_an_unreachable_wechat_leaves_the_photo_pending_for_a_retry(app, resident, make_app, caplog):
    offline = make_app(WECHAT_API_BASE="http://127.0.0.1:9", WECHAT_TIMEOUT=0.5).test_client()
    response = offline.post("/api/v1/uploads", headers=resident.headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(image_bytes()), "p.jpg", "image/jpeg")})
    assert response.status_code == 201  # the upload stands; the (eager) job's failure is logged
    row = upload_row(response.json["id"])
    assert (row.check_state, row.trace_id) == ("pending", None)
    assert "WeChatTransient" in caplog.text


# ---- signed media links ---------------------------------------------------------------------

def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_link_wechat_fetches_serves_the_photo_without_login(app, client, resident, mock):
    photo = upload_id(resident, checked=None)
    url = mock.media_checks[upload_row(photo).trace_id].media_url
    response = client.get(_path(url))
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data == resident.get(f"/api/v1/uploads/{photo}").data
    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_expired_link_is_refused(app, client, resident, mock, clock):
    photo = upload_id(resident, checked=None)
    path = _path(mock.media_checks[upload_row(photo).trace_id].media_url)
    clock.shift(dt.timedelta(seconds=services.MEDIA_LINK_SECONDS - 1))
    assert client.get(path).status_code == 200
    clock.shift(dt.timedelta(seconds=1))
    assert_error(client.get(path), 403, "media_link_invalid")


def test_forged_links_are_refused(app, client, resident, mock):
    photo = upload_id(resident, checked=None)
    other = upload_id(resident, checked=None)
    token = _path(mock.media_checks[upload_row(photo).trace_id].media_url).rsplit("/", 1)[1]
    code = signed_codes.parse(token)
    # the same MAC on another photo's payload, or a later expiry
    for subject, expiry in ((other, code.step), (photo, code.step + 3600)):
        payload = signed_codes._PAYLOAD.pack(signed_codes.VERSION, signed_codes.KINDS["media"], subject, 0,
                                             expiry)
        forged = base64.urlsafe_b64encode(payload + code.mac).decode().rstrip("=")
        assert_error(client.get(f"/media/{forged}"), 403, "media_link_invalid")
    # signed with another key, or a code of another kind signed with ours
    stranger = signed_codes.sign("media", photo, 0, code.step, b"another key")
    assert_error(client.get(f"/media/{stranger}"), 403, "media_link_invalid")
    task_code = signed_codes.sign("task", photo, 0, code.step, services._link_key())
    assert_error(client.get(f"/media/{task_code}"), 403, "media_link_invalid")
    for junk in ("x", "A" * 32, token[:-1]):
        assert_error(client.get(f"/media/{junk}"), 403, "media_link_invalid")


def test_a_risky_photo_s_link_serves_nothing(app, client, resident, mock):
    photo = upload_id(resident, checked=None)
    path = _path(mock.media_checks[upload_row(photo).trace_id].media_url)
    check_result(client, photo, "risky")
    assert_error(client.get(path), 404, "not_found")


def test_a_new_upload_is_pending_in_its_answer(resident):
    response = upload(resident)
    assert response.status_code == 201 and response.json["check_state"] == "pending"


# ---- configuration ----------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["PUBLIC_BASE_URL", "WECHAT_PUSH_TOKEN"])
def test_production_needs_the_public_url_and_the_push_token(missing):
    with pytest.raises(ConfigError, match=missing):
        load_config("production", {k: v for k, v in PRODUCTION_ENV.items() if k != missing})
    settings = load_config("production", PRODUCTION_ENV)
    assert settings["PUBLIC_BASE_URL"] == "https://api.example.cn"
    assert settings["WECHAT_PUSH_TOKEN"] == "push-token"


def test_development_defaults_to_this_machine():
    assert load_config("development", {})["PUBLIC_BASE_URL"] == "http://localhost:5000"
    assert load_config("development", {"PORT": "8000"})["PUBLIC_BASE_URL"] == "http://localhost:8000"
    assert load_config("development", {})["WECHAT_PUSH_TOKEN"] is None
