"""Each event sends its subscribe message once, through the mock WeChat, when
the user holds a subscription, and only then; the in-app notice either way;
WeChat's errcodes: 43101 zeroes the count, 47003/40003 end it, a transient
one is retried without a second spend or a second message."""
from __future__ import annotations

import pytest
from rq import Retry
from rq.job import JobStatus

from app.jobs.queue import get_queue
from app.subscriptions import templates as tpl
from tests.subscriptions.conftest import (
    SCENARIOS,
    deliveries,
    notice_rows,
    notices,
    remaining,
)

SEND = "/cgi-bin/message/subscribe/send"
ALL = sorted(SCENARIOS)


@pytest.mark.parametrize("event", ALL)
def test_each_event_sends_one_message_and_adds_a_notice(event, scenario, grant, messages):
    happening = scenario(event)
    user = happening.recipient
    grant(user, event, count=2)
    happening.trigger()

    sent = messages(user)
    assert len(sent) == 1, sent
    message = sent[0]
    template = tpl.templates()[event]
    assert message["template_id"] == template.template_id
    assert message["page"].startswith(f"{template.page}?id=")
    if happening.object_id is not None:
        assert message["page"] == f"{template.page}?id={happening.object_id}"
    assert set(message["data"]) == set(template.data)
    assert message["data"]["phrase2"]  # WeChat's field rules held (the mock checks them)
    assert message["miniprogram_state"] == "formal"
    assert len(notices(user, event)) >= 1
    assert remaining(user, event) == 1  # one of two spent
    [delivery] = [d for d in deliveries(user.user_id) if d.event == event]
    assert delivery.status == "sent" and delivery.sent_at is not None and delivery.attempts == 1


@pytest.mark.parametrize("event", ALL)
def test_without_a_subscription_nothing_is_sent_but_the_notice_is_there(event, scenario, messages,
                                                                        wechat_server):
    happening = scenario(event)
    user = happening.recipient
    # WeChat would take it (it has quota), but the app holds none: it must not ask
    with wechat_server.state.lock:
        wechat_server.state.grant_subscription(user.openid, f"demo-{event}", 1)
    assert remaining(user, event) == 0
    calls = wechat_server.state.calls[SEND]
    happening.trigger()
    assert messages(user) == []
    assert wechat_server.state.calls[SEND] == calls
    assert len(notices(user, event)) >= 1
    assert [d.status for d in deliveries(user.user_id) if d.event == event] == ["no_quota"]


def test_the_same_event_twice_sends_one_message(scenario, grant, messages, app):
    """A second accept of the same help request (another volunteer) adds a
    notice, not a second message."""
    happening = scenario("help_request_accepted")
    grant(happening.recipient, "help_request_accepted", count=3)
    happening.trigger()
    assert len(messages(happening.recipient)) == 1


def test_the_actor_is_not_told_of_what_they_did(world, grant, messages):
    """An admin who dispatches an event to themselves gets no message."""
    event_id = world.event()
    world.act(world.admin, event_id, "accept")
    grant(world.admin, "grid_event_dispatched")
    world.act(world.admin, event_id, "dispatch", to_user_id=world.admin.user_id)
    assert messages(world.admin) == []
    assert notices(world.admin, "grid_event_dispatched") == []


def test_a_dispatch_to_an_organization_tells_its_admins(world, people, tree, grant, messages):
    unit_admin = people("o-unit-admin", "org_admin", tree.unit)
    grant(unit_admin, "grid_event_dispatched")
    event_id = world.event()
    world.act(world.admin, event_id, "accept")
    world.act(world.admin, event_id, "dispatch", to_org_id=tree.unit)
    assert [m["template_id"] for m in messages(unit_admin)] == ["demo-grid_event_dispatched"]


def test_rework_after_a_failed_verification_is_told_to_the_handler(world, people, grant, messages):
    handler = people("o-handler")
    event_id = world.dispatched(handler)
    world.act(handler, event_id, "take")
    world.act(handler, event_id, "resolve", note="已处理")
    grant(handler, "grid_event_returned")
    world.act(world.admin, event_id, "verify_fail", reason="灯还是不亮")
    [message] = messages(handler)
    assert message["data"]["phrase2"] == "返工" and message["data"]["thing4"] == "灯还是不亮"
    assert notices(handler, "grid_event_returned")[0]["data"]["reason"] == "灯还是不亮"


def test_a_change_of_description_only_tells_no_one(world, grant, messages):
    task_id = world.task()
    volunteer = world.volunteer("o-vol")
    world.accept(volunteer, task_id)
    grant(volunteer, "task_changed")
    assert world.admin.patch(f"/api/v1/tasks/{task_id}", json={"description": "带上手套"}).status_code == 200
    assert messages(volunteer) == [] and notices(volunteer, "task_changed") == []


def test_two_changes_are_two_messages(world, grant, messages, clock):
    import datetime as dt

    from tests.subscriptions.conftest import START

    task_id = world.task()
    volunteer = world.volunteer("o-vol")
    world.accept(volunteer, task_id)
    grant(volunteer, "task_changed", count=2)
    for hours in (1, 2):
        clock.shift(dt.timedelta(minutes=1))
        later = START + dt.timedelta(hours=hours)
        assert world.admin.patch(f"/api/v1/tasks/{task_id}", json={
            "starts_at": later.isoformat(), "ends_at": (later + dt.timedelta(hours=2)).isoformat(),
        }).status_code == 200
    assert len(messages(volunteer)) == 2
    assert remaining(volunteer, "task_changed") == 0


# ---- WeChat's errcodes -----------------------------------------------------------------------

def fail_next_send(door, errcode: int, times: int = 1) -> None:
    assert door.post("/mock/wx/fail", json={"path": SEND, "errcode": errcode, "times": times}).status_code == 200


def test_43101_zeroes_the_count_and_is_not_retried(scenario, grant, messages, door, wechat_server):
    happening = scenario("task_cancelled")
    grant(happening.recipient, "task_cancelled", count=3)
    fail_next_send(door, 43101, times=5)
    calls = wechat_server.state.calls[SEND]
    happening.trigger()
    assert wechat_server.state.calls[SEND] == calls + 1  # one try, no retry
    assert messages(happening.recipient) == []
    assert remaining(happening.recipient, "task_cancelled") == 0
    [delivery] = deliveries(happening.recipient.user_id)
    assert (delivery.status, delivery.errcode) == ("refused", 43101)
    assert len(notices(happening.recipient, "task_cancelled")) == 1


@pytest.mark.parametrize("errcode", [47003, 40003])
def test_a_refused_message_is_not_retried_and_gives_the_subscription_back(errcode, scenario, grant,
                                                                          messages, door, wechat_server,
                                                                          caplog):
    happening = scenario("identity_revoked")
    grant(happening.recipient, "identity_revoked")
    fail_next_send(door, errcode, times=5)
    calls = wechat_server.state.calls[SEND]
    happening.trigger()
    assert wechat_server.state.calls[SEND] == calls + 1
    assert messages(happening.recipient) == []
    assert remaining(happening.recipient, "identity_revoked") == 1  # WeChat spent none
    [delivery] = deliveries(happening.recipient.user_id)
    assert (delivery.status, delivery.errcode) == ("rejected", errcode)
    assert f"errcode {errcode}" in caplog.text
    assert len(notices(happening.recipient, "identity_revoked")) == 1


def test_a_transient_errcode_is_retried_on_the_worker_and_sent_once(scenario, grant, messages, door,
                                                                    run_worker, clock, wechat_server):
    import datetime as dt

    happening = scenario("grid_event_dispatched")
    grant(happening.recipient, "grid_event_dispatched", count=2)
    fail_next_send(door, 45009)  # daily quota reached: try later
    happening.trigger()
    [job_id] = get_queue().job_ids
    job = get_queue().fetch_job(job_id)
    assert job.meta["key"].startswith("subscribe:grid_event_dispatched:")
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED  # back in 10 s
    [delivery] = deliveries(happening.recipient.user_id)
    assert (delivery.status, delivery.errcode) == ("retrying", 45009)
    assert messages(happening.recipient) == []
    clock.shift(dt.timedelta(seconds=11))
    run_worker()
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "sent"
    assert len(messages(happening.recipient)) == 1
    assert remaining(happening.recipient, "grid_event_dispatched") == 1  # one spent, not two
    [delivery] = deliveries(happening.recipient.user_id)
    assert delivery.status == "sent" and delivery.attempts == 2


def test_a_job_run_again_never_sends_or_spends_twice(scenario, grant, messages, app):
    """The job of a sent message, run again (a retry after a later failure,
    a duplicate on another worker): nothing more is spent or sent."""
    from app.jobs.queue import enqueue
    from app.subscriptions.services import deliver

    happening = scenario("waitlist_promoted")
    grant(happening.recipient, "waitlist_promoted", count=3)
    happening.trigger()
    [delivery] = deliveries(happening.recipient.user_id)
    again = get_queue().enqueue_call(deliver, args=(delivery.key, "waitlist_promoted", 1,
                                                    happening.recipient.user_id, {"title": "x"}),
                                     meta={"key": delivery.key})
    assert again.return_value() == "sent"
    assert enqueue(deliver, delivery.key, "waitlist_promoted", 1, happening.recipient.user_id, {},
                   job_id=delivery.key).get_status() == JobStatus.FINISHED
    assert len(messages(happening.recipient)) == 1
    assert remaining(happening.recipient, "waitlist_promoted") == 2


def test_a_transient_failure_then_a_rerun_sends_once(scenario, grant, messages, door):
    """In eager mode RQ does not retry: running the job function again is the retry."""
    from app.subscriptions.services import deliver

    happening = scenario("grid_event_closed")
    grant(happening.recipient, "grid_event_closed", count=2)
    fail_next_send(door, -1)  # WeChat busy
    happening.trigger()
    [delivery] = deliveries(happening.recipient.user_id)
    assert delivery.status == "retrying"
    job = get_queue().enqueue_call(deliver, args=(delivery.key, "grid_event_closed", 1,
                                                  happening.recipient.user_id, {"title": "路灯不亮"}),
                                   meta={"key": delivery.key}, retry=Retry(max=1))
    assert job.return_value() == "sent"
    assert len(messages(happening.recipient)) == 1
    assert remaining(happening.recipient, "grid_event_closed") == 1


def test_a_rolled_back_change_stages_no_message(world, grant, messages):
    """A transition refused after the claim (a missing reason) sends nothing."""
    handler = world.people("o-handler")
    event_id = world.dispatched(handler)
    grant(world.admin, "grid_event_returned")
    response = handler.post(f"/api/v1/grid-events/{event_id}/transitions", json={"action": "return"})
    assert response.status_code == 422
    world.act(world.admin, event_id, "escalate", reason="超出社区能力")  # a later commit, other event
    assert messages(world.admin) == [] and notice_rows("grid_event_returned") == []


def test_a_disabled_user_gets_no_message(scenario, grant, messages, app):
    from app.auth.models import User
    from app.common.db import utcnow
    from app.extensions import db

    happening = scenario("task_cancelled")
    grant(happening.recipient, "task_cancelled")
    db.session.get(User, happening.recipient.user_id).disabled_at = utcnow()
    db.session.commit()
    happening.trigger()
    assert messages(happening.recipient) == []
    assert [d.status for d in deliveries(happening.recipient.user_id)] == ["skipped"]
