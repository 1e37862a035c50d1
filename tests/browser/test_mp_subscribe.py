"""Subscribe messages in the stand-in: where the user will want to hear what
happens next, a card asks WeChat (wx.requestSubscribeMessage) for the
templates of those events and posts the answer to the API; the message then
arrives through the mock WeChat when the event happens."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.subscriptions import templates as tpl
from tests.browser.conftest import HERE
from tests.browser.test_mp_member import bind_in_page, roster_entry

AT = {"lat": HERE["latitude"], "lng": HERE["longitude"]}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def mini_program_pages(wechat_server):
    """The mock WeChat knows the pages the messages open (as `--page` tells it)."""
    state = wechat_server.state
    before = state.pages
    state.pages = tuple(dict.fromkeys((*before, *(page for _, page in tpl.EVENTS.values()))))
    yield
    state.pages = before


def counts(api) -> dict[str, int]:
    return {item["template_id"]: item["remaining"] for item in api.get("/api/v1/me/subscriptions").json["items"]}


def delivered(wechat_server, openid: str) -> list[dict]:
    return wechat_server.app.test_client().get("/mock/wx/messages", query_string={"openid": openid}).json["messages"]


def grant_wechat(wechat_server, openid: str, template_id: str) -> None:
    """What WeChat itself counts when the user taps 允许 (the stand-in's wx only records the choice)."""
    wechat_server.app.test_client().post("/mock/wx/subscriptions", json={"openid": openid, "template_id": template_id})


def test_after_asking_for_help_the_resident_subscribes_and_hears_of_the_volunteer(
        pages, shot, login, admin, member, tree, wechat_server):
    resident = login("resident-subscribe")
    start, end = now() + dt.timedelta(hours=3), now() + dt.timedelta(hours=5)
    request = resident.post("/api/v1/help-requests", json={
        "community_id": tree.a, "category": "medical_escort", "description": "陪老人去市人民医院复诊",
        "location": AT, "window_start": start.isoformat(), "window_end": end.isoformat(),
        "contact_phone": "13900001111"}).json

    page = pages.phone(api=resident, openid="resident-subscribe", path=f"/mp/#/help-request?id={request['id']}")
    prompt = page.locator("[data-subscribe]")
    expect(prompt).to_contain_text("志愿者接单、服务完成时，用微信通知您？")
    page.click("[data-subscribe-ask]")
    sheet = page.locator("[data-sheet=接收消息通知]")
    expect(sheet).to_contain_text("求助已被接单")
    expect(sheet).to_contain_text("求助已完成")
    shot(page, "mp-subscribe-sheet")
    sheet.get_by_role("button", name="允许").click()
    expect(page.locator("[data-subscribed]")).to_have_attribute("data-subscribed", "2")
    expect(page.locator("[data-subscribed]")).to_contain_text("已开启微信通知")
    shot(page, "mp-subscribe-done")
    assert counts(resident)["demo-help_request_accepted"] == 1
    assert counts(resident)["demo-help_request_completed"] == 1
    recorded = page.evaluate("JSON.parse(localStorage.getItem('mp.subscriptions'))")
    assert recorded[-1]["choices"] == {"demo-help_request_accepted": "accept",
                                       "demo-help_request_completed": "accept"}

    # held now: the card does not ask again
    page.reload()
    expect(page.locator("[data-request]")).to_be_visible()
    expect(page.locator("[data-subscribe]")).to_be_hidden()

    # 派单 and 接单: the message arrives through WeChat
    grant_wechat(wechat_server, "resident-subscribe", "demo-help_request_accepted")
    task = admin.post("/api/v1/tasks", json={"help_request_id": request["id"], "title": "陪诊",
                                             "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                                             "places": 1}).json
    assert admin.post(f"/api/v1/tasks/{task['id']}/publish", json={}).status_code == 200
    volunteer = member(name="陈小文", phone="13800138000")
    assert volunteer.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
    assert volunteer.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    [message] = delivered(wechat_server, "resident-subscribe")
    assert message["template_id"] == "demo-help_request_accepted"
    assert message["page"] == f"pages/help-request?id={request['id']}"
    assert message["data"]["thing1"] == "陪诊" and message["data"]["phrase2"] == "已接单"


def test_a_volunteer_allows_one_template_of_three_after_joining_the_waitlist(pages, shot, member, admin, tree):
    start = now() + dt.timedelta(days=1)
    task = admin.post("/api/v1/tasks", json={
        "community_id": tree.a, "title": "清理楼道杂物", "category": "other", "description": "带上手套",
        "location": AT, "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        "places": 1}).json
    assert admin.post(f"/api/v1/tasks/{task['id']}/publish", json={}).status_code == 200
    first = member(name="陈小文", phone="13800138401", openid="member-first")
    assert first.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201
    assert first.post(f"/api/v1/tasks/{task['id']}/accept", json={}).status_code == 201
    second = member(name="林志强", phone="13800138402", openid="member-second")
    assert second.put("/api/v1/me/volunteer", json={"community_id": tree.a}).status_code == 201

    page = pages.phone(api=second, openid="member-second", path=f"/mp/#/volunteer/task?id={task['id']}")
    page.click("[data-accept=waitlist]")
    expect(page.locator("[data-participation=waitlisted]")).to_be_visible()
    expect(page.locator("[data-subscribe]")).to_contain_text("候补成功、任务变更或取消时")
    page.click("[data-subscribe-ask]")
    sheet = page.locator("[data-sheet=接收消息通知]")
    expect(sheet.locator("input[type=checkbox]")).to_have_count(3)
    sheet.locator("input[value=demo-task_cancelled]").uncheck()
    sheet.locator("input[value=demo-task_changed]").uncheck()
    sheet.get_by_role("button", name="允许").click()
    expect(page.locator("[data-subscribed]")).to_have_attribute("data-subscribed", "1")
    shot(page, "mp-subscribe-waitlist")
    held = counts(second)
    assert (held["demo-waitlist_promoted"], held["demo-task_cancelled"], held["demo-task_changed"]) == (1, 0, 0)


def test_refusing_every_template_posts_the_refusal_and_says_so(pages, login, tree):
    roster_entry("王建国", "13800138222", tree.a1)
    user = login("binding-subscribe")
    page = pages.phone(api=user, openid="binding-subscribe", path="/mp/#/member/bind")
    bind_in_page(page, "王健国", "13800138222")  # one character off: waits for the branch admin
    expect(page.locator("[data-pending]")).to_be_visible()
    expect(page.locator("[data-subscribe]")).to_contain_text("审核通过时，用微信通知您？")
    page.click("[data-subscribe-ask]")
    page.locator("[data-sheet=接收消息通知]").get_by_role("button", name="取消").click()
    expect(page.locator("[data-subscribed]")).to_have_attribute("data-subscribed", "0")
    expect(page.locator("[data-subscribed]")).to_contain_text("未开启微信通知")
    assert counts(user)["demo-identity_approved"] == 0
    recorded = page.evaluate("JSON.parse(localStorage.getItem('mp.subscriptions'))")
    assert recorded[-1]["choices"] == {"demo-identity_approved": "reject", "demo-identity_revoked": "reject"}
