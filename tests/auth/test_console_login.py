"""The console's QR login: a ticket, an admin's phone confirms, the page redeems once."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app.auth.models import ConsoleTicket
from app.extensions import db
from tests.conftest import assert_error, fire

TICKETS = "/api/v1/auth/console-tickets"


def _create(client) -> dict:
    response = client.post(TICKETS)
    assert response.status_code == 201, response.json
    return response.json


def _redeem(client, ticket: dict, secret: str | None = None):
    return client.post(f"{TICKETS}/{ticket['ticket']}/redeem",
                       json={"poll_secret": secret or ticket["poll_secret"]})


def test_a_ticket_carries_a_qr_of_a_login_url_and_a_secret_stored_only_hashed(app, client):
    ticket = _create(client)
    assert ticket["qr_text"] == f"{app.config['QR_BASE_URL']}/l/{ticket['ticket']}"
    assert ticket["qr_svg"].lstrip().startswith("<") and "svg" in ticket["qr_svg"][:200]
    assert ticket["state"] == "pending"
    expires = dt.datetime.fromisoformat(ticket["expires_at"])
    remaining = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 100 < remaining <= 120
    stored = db.session.get(ConsoleTicket, ticket["ticket"])
    assert stored.poll_secret_hash != ticket["poll_secret"]
    assert ticket["poll_secret"] not in stored.poll_secret_hash


def test_pending_then_confirmed_by_an_admin_then_the_page_logs_in_as_that_admin(client, login_as, tree):
    admin = login_as("org_admin", tree.a)
    ticket = _create(client)
    pending = _redeem(client, ticket)
    assert pending.status_code == 202
    assert pending.json["state"] == "pending"
    assert "access_token" not in pending.json

    confirmed = admin.post(f"{TICKETS}/{ticket['ticket']}/confirm")
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["state"] == "confirmed"

    redeemed = _redeem(client, ticket)
    assert redeemed.status_code == 200, redeemed.json
    assert redeemed.json["state"] == "redeemed"
    assert redeemed.json["user"]["id"] == admin.user_id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {redeemed.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["user"]["id"] == admin.user_id
    assert [grant["org"]["id"] for grant in me.json["roles"]] == [tree.a]
    # The console's session refreshes like any other.
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": redeemed.json["refresh_token"]})
    assert refreshed.status_code == 200


@pytest.mark.parametrize("role", [None, "grid_leader"])
def test_only_an_admin_may_confirm(client, login_as, tree, role):
    user = login_as(role, tree.a)
    ticket = _create(client)
    assert_error(user.post(f"{TICKETS}/{ticket['ticket']}/confirm"), 403, "console_login_forbidden")
    assert _redeem(client, ticket).status_code == 202  # still pending


@pytest.mark.parametrize("role", ["district_admin", "org_admin", "center_admin"])
def test_every_console_role_may_confirm(client, login_as, tree, role):
    ticket = _create(client)
    assert login_as(role, tree.a).post(f"{TICKETS}/{ticket['ticket']}/confirm").status_code == 200


def test_confirming_needs_a_login(client):
    ticket = _create(client)
    assert_error(client.post(f"{TICKETS}/{ticket['ticket']}/confirm"), 401, "unauthorized")


def test_an_unknown_ticket_is_404(client, admin):
    assert_error(admin.post(f"{TICKETS}/no-such-ticket/confirm"), 404, "console_ticket_not_found")
    assert_error(client.post(f"{TICKETS}/{'x' * 200}/redeem", json={"poll_secret": "s"}),
                 404, "console_ticket_not_found")


def test_a_ticket_is_confirmed_once(client, login_as, tree):
    first, second = login_as("org_admin", tree.a), login_as("org_admin", tree.b)
    ticket = _create(client)
    assert first.post(f"{TICKETS}/{ticket['ticket']}/confirm").status_code == 200
    assert_error(second.post(f"{TICKETS}/{ticket['ticket']}/confirm"), 409, "console_ticket_used")
    assert _redeem(client, ticket).json["user"]["id"] == first.user_id


def test_an_expired_ticket_can_be_neither_confirmed_nor_redeemed(client, login_as, tree, app):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        admin = login_as("org_admin", tree.a)
        ticket = _create(client)
        clock.shift(app.config["CONSOLE_TICKET_TTL"] - 1)
        assert _redeem(client, ticket).status_code == 202
        clock.shift(1)
        assert_error(_redeem(client, ticket), 410, "console_ticket_expired")
        assert_error(admin.post(f"{TICKETS}/{ticket['ticket']}/confirm"), 410, "console_ticket_expired")


def test_a_ticket_confirmed_in_its_last_second_is_still_picked_up_by_the_next_poll(client, login_as, tree, app):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        admin = login_as("org_admin", tree.a)
        ticket = _create(client)
        clock.shift(app.config["CONSOLE_TICKET_TTL"] - 1)
        assert admin.post(f"{TICKETS}/{ticket['ticket']}/confirm").status_code == 200
        clock.shift(2)
        assert _redeem(client, ticket).status_code == 200
        # ...but a confirmed ticket not picked up within the grace expires too.
        other = _create(client)
        assert admin.post(f"{TICKETS}/{other['ticket']}/confirm").status_code == 200
        clock.shift(app.config["CONSOLE_TICKET_TTL"] + 31)
        assert_error(_redeem(client, other), 410, "console_ticket_expired")


def test_redeeming_twice_answers_the_tokens_once(client, admin):
    ticket = _create(client)
    admin.post(f"{TICKETS}/{ticket['ticket']}/confirm")
    assert _redeem(client, ticket).status_code == 200
    assert_error(_redeem(client, ticket), 409, "console_ticket_used")
    assert_error(admin.post(f"{TICKETS}/{ticket['ticket']}/confirm"), 409, "console_ticket_used")


def test_only_the_page_holding_the_poll_secret_may_redeem(client, admin):
    ticket, other = _create(client), _create(client)
    admin.post(f"{TICKETS}/{ticket['ticket']}/confirm")
    assert_error(_redeem(client, ticket, secret=other["poll_secret"]), 403, "console_ticket_secret_invalid")
    assert_error(_redeem(client, ticket, secret="guess"), 403, "console_ticket_secret_invalid")
    assert _redeem(client, ticket).status_code == 200  # the wrong guesses spent nothing
    assert_error(client.post(f"{TICKETS}/{ticket['ticket']}/redeem", json={}), 422, "validation_failed")


def test_two_redeems_racing_hand_out_one_token_pair(client, admin, live_url):
    from sqlalchemy import func, select

    from app.auth.models import TokenFamily

    families_before = db.session.scalar(select(func.count()).select_from(TokenFamily))
    ticket = _create(client)
    admin.post(f"{TICKETS}/{ticket['ticket']}/confirm")
    url = f"{live_url}{TICKETS}/{ticket['ticket']}/redeem"
    answers = fire([(url, {"poll_secret": ticket["poll_secret"]}, {})] * 6)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 5, [answer.text for answer in answers]
    assert all(answer.json()["error"]["code"] == "console_ticket_used"
               for answer in answers if answer.status_code == 409)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TokenFamily)) == families_before + 1


def test_two_admins_confirming_at_once_one_wins(client, login_as, tree, live_url):
    admins = [login_as("org_admin", tree.a) for _ in range(4)]
    ticket = _create(client)
    url = f"{live_url}{TICKETS}/{ticket['ticket']}/confirm"
    answers = fire([(url, None, api.headers) for api in admins])
    assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409]
    winner = admins[[answer.status_code for answer in answers].index(200)]
    assert _redeem(client, ticket).json["user"]["id"] == winner.user_id


def test_a_disabled_admin_confirmed_ticket_gives_no_tokens(client, admin):
    from app.auth.models import User
    from app.common.db import utcnow

    ticket = _create(client)
    admin.post(f"{TICKETS}/{ticket['ticket']}/confirm")
    db.session.get(User, admin.user_id).disabled_at = utcnow()
    db.session.commit()
    assert_error(_redeem(client, ticket), 403, "account_disabled")
    assert_error(_redeem(client, ticket), 409, "console_ticket_used")


def test_creating_tickets_is_rate_limited(make_app):
    app = make_app(RATELIMIT_CONSOLE_TICKET="2/minute")
    client = app.test_client()
    assert client.post(TICKETS).status_code == 201
    assert client.post(TICKETS).status_code == 201
    assert_error(client.post(TICKETS), 429, "rate_limited")


def test_old_expired_tickets_are_deleted_when_new_ones_are_made(client):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        old = _create(client)
        clock.shift(dt.timedelta(days=1, minutes=3))
        fresh = _create(client)
    db.session.expire_all()
    assert db.session.get(ConsoleTicket, old["ticket"]) is None
    assert db.session.get(ConsoleTicket, fresh["ticket"]) is not None
