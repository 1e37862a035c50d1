"""The periodic overdue job: each deadline is told once, to the step's people,
and the level above is reminded when it stays overdue; on the clock, never sleeping."""
from __future__ import annotations

import datetime as dt

from app.jobs.periodic import remind_overdue_events
from tests.subscriptions.conftest import T0, notice_rows, notices

HOURS = dt.timedelta(hours=1)


def test_a_deadline_is_told_once_however_often_the_job_runs(world, grant, messages):
    grant(world.admin, "grid_event_overdue", count=3)
    event_id = world.event()
    world.travel(T0 + 23 * HOURS)
    assert remind_overdue_events() == (0, 0)  # not yet due (24 h to accept)
    world.travel(T0 + 24 * HOURS + dt.timedelta(minutes=1))
    assert remind_overdue_events() == (1, 0)
    world.travel(T0 + 25 * HOURS)
    assert remind_overdue_events() == (0, 0)
    assert len(messages(world.admin)) == 1
    [notice] = notices(world.admin, "grid_event_overdue")
    assert notice["data"]["event_id"] == event_id and notice["data"]["step"] == "accept"
    assert messages(world.admin)[0]["data"]["thing4"] == "受理已超时"


def test_a_new_deadline_is_told_again_when_it_passes(world, people, grant, messages):
    handler = people("o-handler")
    grant(handler, "grid_event_overdue", count=3)
    event_id = world.dispatched(handler)  # the handle step: 120 h
    world.act(handler, event_id, "take")
    world.travel(T0 + 121 * HOURS)
    assert remind_overdue_events() == (1, 0)
    world.act(handler, event_id, "extend", hours=24)
    world.act(world.admin, event_id, "approve_extension")
    assert remind_overdue_events() == (0, 0)  # the new deadline is a day off
    world.travel(T0 + 146 * HOURS)
    overdue, _ = remind_overdue_events()
    assert overdue == 1
    assert len(messages(handler)) == 2  # once per deadline
    assert all(n["data"]["step"] == "handle" for n in notices(handler, "grid_event_overdue"))


def test_an_event_being_handled_tells_its_handler_not_the_owner(world, people, grant, messages):
    handler = people("o-handler")
    grant(handler, "grid_event_overdue")
    grant(world.admin, "grid_event_overdue")
    event_id = world.dispatched(handler)
    world.travel(T0 + 121 * HOURS)
    remind_overdue_events()
    assert len(messages(handler)) == 1 and messages(world.admin) == []
    assert [n.user_id for n in notice_rows("grid_event_overdue")] == [handler.user_id]
    assert event_id


def test_closed_events_are_never_told(world, people, grant, messages):
    handler = people("o-handler")
    event_id = world.dispatched(handler)
    world.act(handler, event_id, "take")
    world.act(handler, event_id, "resolve", note="已修好")
    world.act(world.admin, event_id, "verify_ok")
    world.travel(T0 + 500 * HOURS)
    assert remind_overdue_events() == (0, 0)
    assert notice_rows("grid_event_overdue") == [] and notice_rows("grid_event_escalation") == []


def test_long_overdue_reminds_the_level_above_once(world, people, tree, grant, messages):
    street = people("o-street", "org_admin", tree.street)
    district = people("o-district", "district_admin", tree.district)
    grant(street, "grid_event_escalation", count=2)
    world.event()
    world.travel(T0 + 25 * HOURS)
    assert remind_overdue_events() == (1, 0)  # overdue, not long enough for the level above
    world.travel(T0 + 48 * HOURS + dt.timedelta(minutes=5))
    assert remind_overdue_events() == (0, 1)
    assert remind_overdue_events() == (0, 0)
    [message] = messages(street)
    assert message["data"]["phrase2"] == "请督办" and message["data"]["thing4"] == "丰泽社区超时未办结"
    assert notices(district, "grid_event_escalation") == []  # the district is two levels up


def test_the_reminder_delay_is_a_setting(world, people, tree, app, monkeypatch):
    monkeypatch.setitem(app.config, "GRID_ESCALATION_REMINDER_HOURS", 2)
    street = people("o-street", "org_admin", tree.street)
    world.event()
    world.travel(T0 + 26 * HOURS + dt.timedelta(minutes=1))
    assert remind_overdue_events() == (1, 1)
    assert len(notices(street, "grid_event_escalation")) == 1


def test_an_event_owned_by_the_district_reminds_no_one(world, people, tree):
    district = people("o-district", "district_admin", tree.district)
    street = people("o-street", "org_admin", tree.street)
    event_id = world.event()
    world.act(world.admin, event_id, "escalate", reason="需要街道协调")
    world.act(street, event_id, "escalate", reason="需要区级部门")
    world.travel(T0 + 60 * HOURS)
    assert remind_overdue_events() == (1, 1)  # told overdue to the district; no level above it
    assert len(notices(district, "grid_event_overdue")) == 1
    assert notice_rows("grid_event_escalation") == []


def test_the_job_is_a_command_too(app, world):
    world.event()
    world.travel(T0 + 25 * HOURS)
    result = app.test_cli_runner().invoke(args=["jobs", "remind-overdue-events"])
    assert result.exit_code == 0, result.output
    assert "told 1 overdue events" in result.output
