"""The leaders' pages of the stand-in, in Chromium against the real API: a
building leader reports a grid event with a photo and the phone's location,
and follows it through dispatch and resolution to the verification."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.grid.categories import ensure_default_categories
from tests.browser.conftest import HERE
from tests.grid.conftest import square
from tests.grid.helpers import acted, image_bytes

AT = {"lat": HERE["latitude"], "lng": HERE["longitude"]}  # the phone's place, GCJ-02


def top(page):
    page.evaluate("window.scrollTo(0, 0)")
    return page


@pytest.fixture
def grid(admin, tree):
    ensure_default_categories()
    response = admin.post("/api/v1/grids", json={
        "community_id": tree.a, "name": "丰泽第一网格", "households": 320,
        "boundary": square(AT["lng"] - 0.003, AT["lat"] - 0.003)})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def leader(admin, grid, login):
    api = login("building-leader")
    response = admin.post(f"/api/v1/grids/{grid['id']}/leaders",
                          json={"user_id": api.user_id, "role": "building_leader", "buildings": ["3 栋"]})
    assert response.status_code == 201, response.json
    return api


def test_a_building_leader_reports_an_event_with_a_photo_and_follows_it_to_the_end(
        pages, shot, admin, leader, grid, login, tmp_path):
    photo = tmp_path / "lamp.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(320, 240), color=(40, 90, 160)))
    page = pages.phone(api=leader, openid="building-leader", path="/mp/#/")
    page.click("[data-menu='#/grid-events/new']")
    expect(page.locator("#title")).to_have_text("上报网格事件")
    expect(page.locator("[data-located]")).to_have_attribute("data-located", "true")
    expect(page.locator("#event-category")).to_contain_text("设施损坏")
    page.select_option("#event-category", "facilities")
    page.check("input[name=urgency][value=urgent]")
    page.fill("#event-title", "3 栋楼道灯不亮")
    page.fill("#event-description", "3 栋 2 单元一到三楼的楼道灯都不亮，老人晚上上下楼不安全")
    page.set_input_files("[data-photos]", str(photo))
    expect(page.locator(".photo-picker")).to_have_attribute("data-uploaded", "1")
    expect(page.locator(".photo-picker img[data-upload]")).to_have_count(1)
    shot(page, "mp-event-new")
    page.click("[data-event-form] button[type=submit]")

    expect(page.locator("#title")).to_have_text("事件详情")
    card = page.locator("[data-event]")
    expect(card.locator("[data-state]")).to_have_text("已上报")  # a leader's report needs no confirming
    expect(card).to_contain_text("紧急")
    expect(card.locator("[data-light=green]")).to_be_visible()
    expect(card.locator("[data-deadline]")).to_contain_text("受理时限")
    expect(card.locator("img[data-photo]")).to_have_attribute("src", re.compile("^blob:"))
    # WeChat's check has not answered: the reporter sees the photo, marked
    expect(card.locator("figure[data-check-state=pending] figcaption")).to_have_text("审核中")
    shot(page, "mp-event-photo-checking")
    expect(page.locator("[data-step=report]")).to_contain_text("楼栋长")

    events = leader.get("/api/v1/grid-events", query_string={"mine": "true"}).json["items"]
    assert len(events) == 1
    event = events[0]
    assert (event["title"], event["category"], event["urgency"], event["state"]) == (
        "3 栋楼道灯不亮", "facilities", "urgent", "reported")
    assert event["grid_id"] == grid["id"]
    assert (event["location"]["lat"], event["location"]["lng"]) == (AT["lat"], AT["lng"])
    assert [p["stage"] for p in event["photos"]] == ["report"]

    # the community accepts and dispatches it; the handler takes it and resolves it
    handler = login("electrician")
    acted(admin, event["id"], "accept")
    acted(admin, event["id"], "dispatch", to_user_id=handler.user_id, note="请物业电工处理")
    acted(handler, event["id"], "take")
    acted(handler, event["id"], "resolve", note="已更换 3 个灯泡")
    page.reload()
    expect(card.locator("[data-state]")).to_have_text("待核查")
    steps = page.locator("[data-timeline] [data-step]")
    expect(steps).to_have_count(5)
    for i, (action, label) in enumerate([("report", "上报"), ("accept", "受理"), ("dispatch", "派遣"),
                                         ("take", "接收处置"), ("resolve", "处置完成")]):
        expect(steps.nth(i)).to_have_attribute("data-step", action)
        expect(steps.nth(i)).to_contain_text(label)
    expect(page.locator("[data-step=dispatch]")).to_contain_text("请物业电工处理")
    expect(page.locator("[data-step=resolve]")).to_contain_text("已更换 3 个灯泡")
    expect(page.locator("[data-step=resolve]")).to_contain_text("处置中 → 待核查")

    # the leader comments, then verifies: the step the lifecycle leaves to them
    page.fill("[data-comment-form] textarea", "今晚去看了，灯亮了")
    page.click("[data-comment-form] button[type=submit]")
    expect(page.locator("[data-timeline] [data-comment]")).to_contain_text("今晚去看了，灯亮了")
    expect(page.locator("[data-action]")).to_have_count(2)  # verify_ok, verify_fail
    shot(top(page), "mp-event-resolved")
    page.click("[data-action=verify_ok]")
    page.fill("[data-action-form=verify_ok] textarea[name=note]", "现场核查，灯已修好")
    page.click("[data-action-form=verify_ok] button[type=submit]")
    expect(card.locator("[data-state]")).to_have_text("已结案")
    expect(page.locator("[data-step=verify_ok]")).to_contain_text("现场核查，灯已修好")
    expect(page.locator("[data-action]")).to_have_count(1)  # the reporter may reopen within 7 days
    expect(page.locator("[data-action=reopen]")).to_be_visible()
    shot(top(page), "mp-event-closed")
    assert leader.get(f"/api/v1/grid-events/{event['id']}").json["state"] == "closed"

    page.goto(page.url.split("#")[0] + "#/grid-events?tab=mine")
    expect(page.locator("[data-event]")).to_have_count(1)
    expect(page.locator("[data-event] [data-state]")).to_have_text("已结案")
    shot(page, "mp-events-mine")


def test_a_refused_step_shows_the_apis_reason_and_a_report_needs_a_place(pages, admin, leader, login, tmp_path):
    reported = leader.post("/api/v1/grid-events", json={
        "category": "sanitation", "title": "垃圾满溢", "location": AT, "urgency": "normal"})
    assert reported.status_code == 201, reported.json
    event_id = reported.json["event"]["id"]
    handler = login("cleaner")
    acted(admin, event_id, "accept")
    acted(admin, event_id, "dispatch", to_user_id=handler.user_id)
    acted(handler, event_id, "take")
    acted(handler, event_id, "resolve")
    page = pages.phone(api=leader, openid="building-leader", path=f"/mp/#/grid-event?id={event_id}")
    page.click("[data-action=verify_fail]")
    page.click("[data-action-form=verify_fail] button[type=submit]")  # the reason is required: the browser asks
    expect(page.locator("[data-action-form=verify_fail]")).to_be_visible()
    page.fill("[data-action-form=verify_fail] textarea[name=reason]", "还有两袋没清走")
    page.click("[data-action-form=verify_fail] button[type=submit]")
    expect(page.locator("[data-event] [data-state]")).to_have_text("已派遣")
    expect(page.locator("[data-step=verify_fail]")).to_contain_text("还有两袋没清走")
    expect(page.locator("[data-event]")).to_contain_text("返工")
    # the handler took it back meanwhile: the page shows the API's refusal
    acted(handler, event_id, "take")
    acted(handler, event_id, "resolve")
    page.reload()
    expect(page.locator("[data-action=verify_ok]")).to_be_visible()
    acted(admin, event_id, "verify_ok")
    page.click("[data-action=verify_ok]")
    page.click("[data-action-form=verify_ok] button[type=submit]")
    expect(page.locator("[data-action-form=verify_ok] [role=alert]")).to_contain_text("事件已是“已结案”状态")


def test_the_leader_menu_is_for_leaders_only(pages, shot, leader, login):
    page = pages.phone(api=login("plain-resident"), openid="plain-resident", path="/mp/#/")
    expect(page.locator("[data-menu='#/help-requests/new']")).to_be_visible()
    expect(page.locator("[data-menu='#/grid-events/new']")).to_have_count(0)
    shot(page, "mp-home-resident")
    page = pages.phone(api=leader, openid="building-leader", path="/mp/#/")
    expect(page.locator("[data-menu='#/grid-events/new']")).to_be_visible()
    shot(page, "mp-home-leader")


def test_no_events_yet_is_said_plainly(pages, leader):
    page = pages.phone(api=leader, openid="building-leader", path="/mp/#/grid-events?tab=mine")
    expect(page.locator("#view .empty")).to_have_text("您还没有上报过事件")
