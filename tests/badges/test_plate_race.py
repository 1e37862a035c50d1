"""Two zone admins decide one merchant plate at once: exactly one wins."""
from __future__ import annotations

import pytest
import time_machine

from app.badges import services
from app.badges.models import MerchantPlate
from app.extensions import db
from tests.badges.helpers import PLATES, T0, apply_plate, business_zone
from tests.members.races import all_read_first, fire, one_winner
from tests.tasks.conftest import live_url  # noqa: F401  (the live threaded server)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_approve_and_reject_of_one_plate_at_once_one_wins(live_url, member, login_as, tree, monkeypatch):
    zone = business_zone(tree.street)
    plate = apply_plate(member("陈小文", "13800138000"), zone)
    first, second = login_as("org_admin", zone), login_as("org_admin", tree.street)
    all_read_first(monkeypatch, services, "authorize", 2)
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
