"""QR_KIND=wxacode: posters, plates and task codes are mini-program codes
(the mock's PNG decodes to ``wxacode:<page>?scene=<scene>``); the API says
what a scene is, and the flow a URL code leads to works with it."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.common import code_images, signed_codes
from app.extensions import get_redis
from app.wechat.client import WeChatClient
from tests.badges.helpers import (
    PLATES,
    POSTS,
    SCAN,
    apply_plate,
    business_zone,
    decode_png,
    make_post,
)
from tests.codes.conftest import HERE
from tests.conftest import assert_error
from tests.posters.pdfs import read_pdf
from tests.tasks.conftest import task_body

PAGE = "pages/index/index"
SCENES = "/api/v1/scenes"
WXACODE = re.compile(r"wxacode:(?P<page>[^?]+)\?scene=(?P<scene>.+)")


def scene_in(png: bytes) -> str:
    """The scene a mini-program code's image carries, read by a real QR decoder."""
    found = WXACODE.fullmatch(decode_png(png))
    assert found, "not a mini-program code"
    assert found["page"] == PAGE
    scene = found["scene"]
    assert len(scene) <= 32 and code_images.SCENE_PATTERN.fullmatch(scene)
    return scene


def poster_scene(admin, center_id: int) -> str:
    response = admin.get(f"/api/v1/centers/{center_id}/poster.png")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    return scene_in(response.data)


def resolve(api, scene: str):
    return api.get(f"{SCENES}/{scene}")


# ---- centers -------------------------------------------------------------------

def test_center_poster_scene_resolves_and_checks_in(admin, make_center, member):
    center = make_center()
    scene = poster_scene(admin, center.id)
    someone = member()
    answer = resolve(someone, scene)
    assert answer.status_code == 200, answer.json
    assert answer.json == {"scene": scene, "kind": "center", "subject_id": center.id, "code": scene}
    checkin = someone.post("/api/v1/checkins", json={"code": answer.json["code"], "location": HERE})
    assert checkin.status_code == 201, checkin.json
    assert checkin.json["checkin"]["center_id"] == center.id


def test_center_poster_pdf_embeds_the_mini_program_code(admin, make_center):
    center = make_center()
    response = admin.get(f"/api/v1/centers/{center.id}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert read_pdf(response.data).code == f"wxacode:{PAGE}?scene={poster_scene(admin, center.id)}"


def test_a_rotated_key_refuses_the_old_scene_and_prints_a_new_one(admin, make_center, member, wechat):
    center = make_center()
    old = poster_scene(admin, center.id)
    calls = wechat.calls()
    rotated = admin.post(f"/api/v1/centers/{center.id}/rotate-key", json={})
    assert rotated.status_code == 200, rotated.json
    assert wechat.calls() == calls + 1  # the job made the new code at once
    new = poster_scene(admin, center.id)
    assert new != old and wechat.calls() == calls + 1  # ...so printing it cost nothing
    someone = member()
    assert_error(resolve(someone, old), 410, "scene_revoked")
    assert resolve(someone, new).json["subject_id"] == center.id
    assert_error(someone.post("/api/v1/checkins", json={"code": old, "location": HERE}), 400, "invalid_code")


def test_a_center_moved_to_a_screen_revokes_its_poster_scene(admin, make_center, login_as, tree):
    center = make_center()
    scene = poster_scene(admin, center.id)
    assert admin.patch(f"/api/v1/centers/{center.id}", json={"code_mode": "rotating"}).status_code == 200
    assert_error(resolve(login_as(None), scene), 410, "scene_revoked")


# ---- forged and unknown scenes ------------------------------------------------------

def test_forged_and_unknown_scenes_are_not_found(admin, make_center, login_as, tree):
    center = make_center()
    scene = poster_scene(admin, center.id)
    someone = login_as(None)
    forged_mac = scene[:-2] + ("AA" if scene[-2:] != "AA" else "BB")
    raw = signed_codes.parse(scene)
    other_key = signed_codes.sign("center_static", center.id, raw.key_version, 0, b"guessed key")
    unknown = signed_codes.sign("center_static", 999_999, 1, 0, b"guessed key")
    rotating = signed_codes.sign("center_rotating", center.id, raw.key_version, 0, b"guessed key")
    future = signed_codes.sign("center_static", center.id, raw.key_version + 1, 0, b"guessed key")
    beyond = signed_codes.sign("center_static", 2**32 - 1, 1, 0, b"guessed key")
    for bad in (forged_mac, other_key, unknown, rotating, future, beyond, "hello", "A" * 32, "~" * 32):
        assert_error(resolve(someone, bad), 404, "scene_not_found")
    assert_error(resolve(someone, "A" * 65), 404, "not_found")  # longer than any scene
    assert_error(admin.client.get(f"{SCENES}/{scene}"), 401, "unauthorized")


def test_a_made_up_key_version_of_a_key_that_never_rotates_is_not_found(admin, tree, login_as):
    """Tasks and merchant plates have one key for life: a scene naming another
    version is a forgery (404), and says nothing about the task."""
    task = admin.post("/api/v1/tasks", json=task_body(tree.a)).json
    forged = signed_codes.sign("task", task["id"], 2, 0, b"guessed key")
    assert_error(resolve(login_as(None), forged), 404, "scene_not_found")


# ---- plates --------------------------------------------------------------------

def test_post_plate_scene_resolves_scans_and_rates(admin, tree, login_as):
    post = make_post(admin, tree.a)
    response = admin.get(f"{POSTS}/{post['id']}/plate.png")
    assert response.status_code == 200
    scene = scene_in(response.data)
    resident = login_as(None)
    answer = resolve(resident, scene)
    assert answer.status_code == 200, answer.json
    assert (answer.json["kind"], answer.json["subject_id"]) == ("post_plate", post["id"])
    scanned = resident.post(SCAN, json={"code": answer.json["code"]})
    assert scanned.status_code == 200, scanned.json
    assert scanned.json["post"]["id"] == post["id"]
    rated = resident.post(f"{POSTS}/{post['id']}/ratings", json={"score": 5, "comment": "热情"})
    assert rated.status_code == 201, rated.json


def test_post_plate_pdf_embeds_the_mini_program_code(admin, tree):
    post = make_post(admin, tree.a)
    response = admin.get(f"{POSTS}/{post['id']}/plate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    scene = scene_in(admin.get(f"{POSTS}/{post['id']}/plate.png").data)
    assert WXACODE.fullmatch(read_pdf(response.data).code)["scene"] == scene


def test_merchant_plate_scene_resolves_and_takes_feedback(member, login_as, tree, wechat):
    zone = business_zone(tree.street)
    owner, zone_admin = member("陈小文", "13800138000"), login_as("org_admin", zone)
    plate = apply_plate(owner, zone)
    assert wechat.calls() == 0  # nothing to print before approval
    assert zone_admin.post(f"{PLATES}/{plate['id']}/approve", json={}).status_code == 200
    assert wechat.calls() == 1
    png = owner.get(f"{PLATES}/{plate['id']}/plate.png")
    assert png.status_code == 200 and wechat.calls() == 1
    scene = scene_in(png.data)
    customer = login_as(None)
    answer = resolve(customer, scene)
    assert (answer.json["kind"], answer.json["subject_id"]) == ("merchant_plate", plate["id"])
    scanned = customer.post(SCAN, json={"code": answer.json["code"]})
    assert scanned.status_code == 200 and scanned.json["valid"] is True, scanned.json
    feedback = customer.post(f"{PLATES}/{plate['id']}/feedback", json={"score": 4, "comment": "实惠"})
    assert feedback.status_code == 201, feedback.json


# ---- task codes ------------------------------------------------------------------

def test_task_code_scene_resolves_checks_in_and_expires(admin, login_as, tree, clock):
    task = admin.post("/api/v1/tasks", json=task_body(tree.a)).json
    assert admin.post(f"/api/v1/tasks/{task['id']}/publish", json={}).status_code == 200
    volunteer = login_as(None)
    assert volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
    assert volunteer.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    start = dt.datetime.fromisoformat(task["starts_at"])
    clock.move_to(start)
    for api in (admin, volunteer):
        api.refresh()
    response = admin.get(f"/api/v1/tasks/{task['id']}/code.png")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    scene = scene_in(response.data)
    answer = resolve(volunteer, scene)
    assert (answer.json["kind"], answer.json["subject_id"]) == ("task", task["id"])
    checked = volunteer.post(f"/api/v1/tasks/{task['id']}/check-in", json={"code": answer.json["code"]})
    assert checked.status_code == 200, checked.json
    clock.move_to(start + dt.timedelta(minutes=2))  # past the code's step and grace
    volunteer.refresh()
    assert_error(resolve(volunteer, scene), 410, "scene_expired")
    assert scene_in(admin.get(f"/api/v1/tasks/{task['id']}/code.png").data) != scene


def test_a_task_code_image_is_kept_only_while_the_code_is_valid(admin, tree, wechat):
    task = admin.post("/api/v1/tasks", json=task_body(tree.a)).json
    url = f"/api/v1/tasks/{task['id']}/code.png"
    first = admin.get(url)
    assert admin.get(url).data == first.data and wechat.calls() == 1  # same step: the cache
    keys = list(get_redis().scan_iter("wxacode:task:*"))
    assert len(keys) == 1 and 0 < get_redis().ttl(keys[0]) <= 60


# ---- the cache and WeChat down ---------------------------------------------------

def test_a_second_poster_does_not_call_wechat(admin, make_center, wechat):
    center = make_center()
    assert wechat.calls() == 1  # warmed by the job when the center was made
    first = admin.get(f"/api/v1/centers/{center.id}/poster.png")
    wechat.fail(-1, times=5)  # WeChat down from now on: only the cache can answer
    again = admin.get(f"/api/v1/centers/{center.id}/poster.png")
    pdf = admin.get(f"/api/v1/centers/{center.id}/poster.pdf")
    assert first.status_code == again.status_code == pdf.status_code == 200
    assert again.data == first.data and wechat.calls() == 1


def test_wechat_down_with_a_cold_cache_is_503_not_500(admin, make_center, wechat, caplog):
    wechat.fail(-1, times=2)  # the warming job, then the request
    center = make_center()
    assert "failed" in caplog.text  # the job's failure is logged; the center is made
    error = assert_error(admin.get(f"/api/v1/centers/{center.id}/poster.png"), 503, "wechat_unavailable")
    assert error["details"] == {"dependency": "wechat"}
    assert admin.get(f"/api/v1/centers/{center.id}/poster.png").status_code == 200  # WeChat is back
    assert wechat.calls() == 3


def test_wechat_unreachable_is_503_with_retry_after(app, admin, tree, monkeypatch):
    post = make_post(admin, tree.a)
    get_redis().flushdb()  # a cold cache (and no access token)
    monkeypatch.setitem(app.extensions, "wechat", WeChatClient(
        "http://127.0.0.1:9", "wx-demo-appid", "demo-app-secret", 1.0, get_redis()))
    for path in ("plate.png", "plate.pdf"):
        response = admin.get(f"{POSTS}/{post['id']}/{path}")
        assert_error(response, 503, "wechat_unavailable")
        assert response.headers["Retry-After"] == "5"


def test_a_page_wechat_refuses_is_503_without_retry_after(app, admin, tree, monkeypatch, wechat):
    monkeypatch.setitem(app.config, "WXACODE_PAGE", "pages/missing/index")
    post = make_post(admin, tree.a)  # the job is refused (and logs it): nothing cached
    response = admin.get(f"{POSTS}/{post['id']}/plate.png")
    assert_error(response, 503, "wechat_unavailable")
    assert "Retry-After" not in response.headers
    assert wechat.calls() == 2


def test_url_mode_still_prints_url_codes(app, admin, make_center, monkeypatch, wechat):
    monkeypatch.setitem(app.config, "QR_KIND", "url")
    center = make_center()
    text = decode_png(admin.get(f"/api/v1/centers/{center.id}/poster.png").data)
    assert text.startswith("https://dj.example.cn/q/") and wechat.calls() == 0


# ---- scenes ----------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(signed_codes.KINDS)), subject_id=st.integers(1, 2**31 - 1),
       key_version=st.integers(1, 65535), step=st.integers(0, 2**32 - 1), key=st.binary(min_size=1))
def test_every_scene_fits_wechats_limit(kind, subject_id, key_version, step, key):
    token = signed_codes.sign(kind, subject_id, key_version, step, key)
    assert len(code_images.scene_of(token)) <= code_images.SCENE_MAX


def test_scene_of_refuses_what_wechat_would(app):
    for bad in ("", "a" * 33, "空格 不行", "a%20b"):
        with pytest.raises(ValueError):
            code_images.scene_of(bad)


def test_qr_kind_is_checked_at_start():
    from app.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="QR_KIND"):
        load_config("testing", {"QR_KIND": "barcode"})
    with pytest.raises(ConfigError, match="WXACODE_ENV_VERSION"):
        load_config("testing", {"WXACODE_ENV_VERSION": "beta"})
    with pytest.raises(ConfigError, match="WXACODE_WIDTH"):
        load_config("testing", {"WXACODE_WIDTH": "2000"})
    assert load_config("testing", {})["QR_KIND"] == "url"
    from tests.conftest import PRODUCTION_ENV

    production = load_config("production", {**PRODUCTION_ENV, "WXACODE_CHECK_PATH": "0"})
    assert production["WXACODE_CHECK_PATH"] is True



# ---- the warming job -------------------------------------------------------------

def test_the_warming_job_runs_on_a_worker_and_retries_a_transient_failure(app, admin, make_center, wechat,
                                                                           monkeypatch):
    import signal

    from rq import SimpleWorker

    from app.jobs.queue import make_worker

    monkeypatch.setitem(app.config, "JOBS_EAGER", False)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        center = make_center()
        assert wechat.calls() == 0  # queued, not run
        make_worker(worker_class=SimpleWorker).work(burst=True, logging_level="WARNING")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert wechat.calls() == 1
    assert admin.get(f"/api/v1/centers/{center.id}/poster.png").status_code == 200
    assert wechat.calls() == 1  # the worker's image was printed


def test_the_warming_job_raises_what_a_retry_can_fix_and_logs_the_rest(app, admin, make_center, wechat,
                                                                      monkeypatch, caplog):
    from app.checkin.codes import poster_token
    from app.checkin.models import ServiceCenter
    from app.extensions import db
    from app.wechat.errors import WeChatTransient

    center = make_center()
    get_redis().flushdb()
    token = poster_token(db.session.get(ServiceCenter, center.id))
    wechat.fail(-1)
    with pytest.raises(WeChatTransient):
        code_images.warm_wxacode(token)  # RQ retries it
    monkeypatch.setitem(app.config, "WXACODE_PAGE", "pages/missing/index")
    with caplog.at_level("ERROR"):
        assert code_images.warm_wxacode(token) is None  # no retry can help: logged
    assert "refused to make the mini-program code" in caplog.text


def test_no_redis_for_the_job_still_makes_the_center(app, admin, make_center, wechat, monkeypatch):
    import redis

    from app.jobs import queue

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("down")

    monkeypatch.setattr(queue, "enqueue", down)
    center = make_center()  # 201: the warming is an optimisation
    assert wechat.calls() == 0
    assert admin.get(f"/api/v1/centers/{center.id}/poster.png").status_code == 200
    assert wechat.calls() == 1
