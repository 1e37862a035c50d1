"""The one transition mechanism: a claim wins once, a stale one gets state_changed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from app.auth.models import User
from app.common.transitions import Machine, StateChanged, Transition, TransitionNotAllowed
from app.extensions import db
from app.tasks.models import HelpRequest

MACHINE = Machine(HelpRequest, [
    Transition("dispatch", ("submitted",), "dispatched", who="admin"),
    Transition("reject", ("submitted",), "rejected", who="admin"),
    Transition("touch", ("submitted", "dispatched"), None),
])


@pytest.fixture
def request_row(app, tree):
    user = User(openid="resident-1")
    db.session.add(user)
    db.session.flush()
    now = dt.datetime.now(dt.UTC)
    row = HelpRequest(requester_id=user.id, community_id=tree.a, category="errand",
                      description="买菜", window_start=now, window_end=now + dt.timedelta(hours=1),
                      phone_encrypted="x", phone_masked="138****0000")
    db.session.add(row)
    db.session.commit()
    return row


def test_apply_moves_the_state_and_refreshes_the_object(request_row):
    came_from = MACHINE.apply(request_row, "dispatch", reject_reason=None)
    db.session.commit()
    assert came_from == "submitted"
    assert request_row.state == "dispatched"
    db.session.expire_all()
    assert db.session.get(HelpRequest, request_row.id).state == "dispatched"


def test_a_stale_claim_loses_with_the_state_now_stored(request_row):
    # Another request rejects it after we read it, before we write.
    with db.engine.begin() as other:
        other.execute(text("UPDATE help_requests SET state = 'rejected' WHERE id = :id"),
                      {"id": request_row.id})
    assert request_row.state == "submitted"  # what we read
    with pytest.raises(StateChanged) as raised:
        MACHINE.apply(request_row, "dispatch")
    db.session.rollback()
    assert raised.value.details == {"state": "rejected", "action": "dispatch"}
    assert raised.value.status == 409


def test_a_state_that_does_not_allow_the_action_is_refused_before_any_write(request_row, count_queries):
    request_row.state = "rejected"
    with count_queries() as q, pytest.raises(TransitionNotAllowed) as raised:
        MACHINE.apply(request_row, "dispatch")
    assert q.count == 0
    assert raised.value.details == {"state": "rejected", "action": "dispatch"}
    db.session.rollback()


def test_a_self_transition_is_still_claimed_and_extra_conditions_count(request_row):
    MACHINE.apply(request_row, "touch", address="门口")
    assert request_row.state == "submitted" and request_row.address == "门口"
    with pytest.raises(StateChanged):
        MACHINE.apply(request_row, "touch", where=[HelpRequest.address == "别处"])
    db.session.rollback()


def test_possible_lists_actions_in_table_order_filtered_by_who(request_row):
    assert MACHINE.possible(request_row) == ["dispatch", "reject", "touch"]
    assert MACHINE.possible(request_row, lambda t: t.who != "admin") == ["touch"]
    assert db.session.scalar(select(HelpRequest.state)) == "submitted"


def test_an_action_declared_twice_is_a_programming_error():
    with pytest.raises(ValueError):
        Machine(HelpRequest, [Transition("a", ("x",), "y"), Transition("a", ("y",), "z")])
