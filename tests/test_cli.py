"""The bootstrap commands and the demo seed."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import RoleGrant, User
from app.extensions import db
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.models import OrgNode


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (OrgNode, User, RoleGrant, RosterEntry, MemberIdentity))


def test_bootstrap_a_district_admin(app, login):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "create-root", "--name", "江城区"])
    assert result.exit_code == 0, result.output
    district = db.session.scalar(select(OrgNode).where(OrgNode.kind == "district"))
    result = runner.invoke(args=["users", "grant-role", "--openid", "o-first-admin",
                                 "--org-id", str(district.id), "--role", "district_admin"])
    assert result.exit_code == 0, result.output
    assert "granted" in result.output
    again = runner.invoke(args=["users", "grant-role", "--openid", "o-first-admin",
                                "--org-id", str(district.id), "--role", "district_admin"])
    assert "already held" in again.output
    # the bootstrapped admin logs in and manages the tree
    admin = login("o-first-admin")
    response = admin.post("/api/v1/orgs", json={"parent_id": district.id, "kind": "street", "name": "南恩街道"})
    assert response.status_code == 201


def test_disable_user_kills_their_tokens(app, login):
    api = login("o-to-disable")
    result = app.test_cli_runner().invoke(args=["users", "disable", "--openid", "o-to-disable"])
    assert result.exit_code == 0
    assert api.get("/api/v1/me").status_code == 401


def test_demo_seed_is_idempotent_and_its_accounts_log_in(app, login):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = _counts()
    assert counts[0] >= 20 and counts[3] >= 200
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert "(0 new)" in second.output
    assert _counts() == counts
    member = login("demo-member").get("/api/v1/me").json
    assert member["identity"]["status"] == "active"
    assert member["community_report"]["state"] == "confirmed"
    admin = login("demo-community-admin").get("/api/v1/me").json
    assert admin["roles"][0]["role"] == "org_admin"
    # The same display page URL every time, and it opens the demo center's screen.
    url = next(line for line in first.output.splitlines() if line.startswith("display page")).split(": ")[1]
    assert url in second.output
    page = app.test_client().get(url)
    assert page.status_code == 200 and "丰泽社区党群服务中心" in page.text


def test_prune_sessions_deletes_ended_sessions_and_keeps_live_ones(app, login, clock):
    import datetime as dt

    from app.auth.models import TokenFamily

    ended, live = login("o-prune-1"), login("o-prune-2")
    assert ended.post("/api/v1/auth/logout", json={}).status_code in (200, 204)
    clock.shift(dt.timedelta(seconds=app.config["ACCESS_TOKEN_TTL"] + 1))
    result = app.test_cli_runner().invoke(args=["jobs", "prune-sessions"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 ended login sessions" in result.output
    assert db.session.scalar(select(func.count()).select_from(TokenFamily)) == 1
    live.refresh()
