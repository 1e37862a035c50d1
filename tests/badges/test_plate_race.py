"""Two zone admins decide one merchant plate at once, or two off-duty scans of
one post arrive at once: exactly one wins."""
from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from app.badges import merchants, scans
from app.badges.models import DutySession, MerchantPlate
from app.extensions import db
from tests.badges.helpers import DUTY, PLATES, T0, apply_plate, assign, business_zone, make_post, post_plate_code
from tests.members.races import all_read_first, fire, one_winner


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_approve_and_reject_of_one_plate_at_once_one_wins(live_url, member, login_as, tree, monkeypatch):
    zone = business_zone(tree.street)
    plate = apply_plate(member("陈小文", "13800138000"), zone)
    first, second = login_as("org_admin", zone), login_as("org_admin", tree.street)
    all_read_first(monkeypatch, merchants, "authorize", 2)
    base = f"{live_url}{PLATES}/{plate['id']}"
    responses = fire([(f"{base}/approve", {}, first.headers),
                      (f"{base}/reject", {"reason": "证照不全"}, second.headers)])
    won, lost = one_winner(responses)
    state = won.json()["state"]
    assert state in ("approved", "rejected")
    assert lost.json()["error"]["details"]["state"] == state
    db.session.expire_all()
    stored = db.session.get(MerchantPlate, plate["id"])
    assert stored.state == state
    assert stored.reason == (None if state == "approved" else "证照不全")
    assert stored.decided_by_id == (first.user_id if state == "approved" else second.user_id)


def test_two_off_duty_scans_at_once_end_the_session_once(live_url, member, admin, tree, monkeypatch):
    on_duty = member("李四", "13900000009")
    post = make_post(admin, tree.a)
    assign(admin, post["id"], on_duty.identity["id"])
    code = post_plate_code(admin, post["id"])
    assert on_duty.post(DUTY, json={"code": code}).json["on_duty"] is True
    # both scans have found the open session before either ends it
    all_read_first(monkeypatch, scans, "utcnow", 2)
    responses = fire([(f"{live_url}{DUTY}", {"code": code}, on_duty.headers)] * 2)
    won, _lost = one_winner(responses)
    assert won.json()["on_duty"] is False
    monkeypatch.undo()
    db.session.expire_all()
    sessions = db.session.scalars(select(DutySession)).all()
    assert len(sessions) == 1 and sessions[0].ended_at is not None
