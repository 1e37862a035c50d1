"""Seed the benchmark database (PostgreSQL) and write tokens and codes for the load.

A district with 5 streets and 50 communities (a grid each), 30 service
centers, 30,000 members (users, roster entries, identities, volunteers) and
5,000 open tasks; a control district of the same shape whose history stays
at 1,000 rows of each kind; and a viewer who reported one grid event. The
district's history is grown afterwards, step by step, by ``bench.history``.

    python -m bench.seed OUT_DIR
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from sqlalchemy import insert, select

from app import create_app
from app.auth import tokens
from app.auth.models import RoleGrant, User
from app.checkin.codes import poster_code
from app.checkin.models import Checkin, ServiceCenter
from app.common import signed_codes
from app.common.db import utcnow
from app.extensions import db
from app.grid.models import Grid
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.services import create_root, insert_node
from app.tasks.models import Task, Volunteer
from bench import history

MEMBERS = 30_000
CENTERS = 30
CONTROL_ROWS = 1_000
TASKS = 5_000
FULL_TASKS = 1_000
LAT, LNG = 21.8580, 111.9620


def _tree(name: str, streets: int, communities_per_street: int):
    district = create_root("district", name)
    communities, branches = [], []
    for s in range(streets):
        street = insert_node("street", f"{name}第{s + 1}街道", district)
        for c in range(communities_per_street):
            community = insert_node("community", f"{street.name}第{c + 1}社区", street)
            communities.append(community)
            branches.append(insert_node("party_branch", f"{community.name}党支部", community))
    db.session.commit()
    return district, communities, branches


def _centers(communities, count: int) -> list[ServiceCenter]:
    centers = [ServiceCenter(org_id=c.id, name=f"{c.name}党群服务中心", address="", lat=LAT, lng=LNG,
                             radius_m=500, opening_hours={}, closed_days=[], code_mode="static",
                             code_key=signed_codes.new_key()) for c in communities[:count]]
    db.session.add_all(centers)
    db.session.commit()
    return centers


def _members(branches, communities) -> list[int]:
    now = utcnow()
    db.session.execute(insert(User), [{"openid": f"bench-u{i}", "created_at": now} for i in range(MEMBERS)])
    user_ids = list(db.session.scalars(select(User.id).where(User.openid.like("bench-u%")).order_by(User.id)))
    entries = []
    for i in range(MEMBERS):
        phone = f"137{i:08d}"
        entries.append({"branch_id": branches[i % len(branches)].id, "name": f"党员{i}",
                        "phone_encrypted": phones.encrypt(phone), "phone_hash": phones.lookup_hash(phone),
                        "phone_masked": phones.mask(phone), "join_date": dt.date(2000, 7, 1),
                        "member_status": "full", "created_at": now, "updated_at": now})
    db.session.execute(insert(RosterEntry), entries)
    entry_ids = list(db.session.scalars(select(RosterEntry.id).order_by(RosterEntry.id)))
    db.session.execute(insert(MemberIdentity), [
        {"user_id": user_ids[i], "roster_entry_id": entry_ids[i], "branch_id": branches[i % len(branches)].id,
         "identity_no": f"BN{i:08d}", "status": "active", "issued_at": now} for i in range(MEMBERS)])
    db.session.execute(insert(Volunteer), [
        {"user_id": user_ids[i], "community_id": communities[i % len(communities)].id, "skills": [],
         "availability": "", "is_member": True, "created_at": now} for i in range(MEMBERS)])
    db.session.commit()
    return user_ids


def _tasks(communities, admin_id: int) -> tuple[list[int], list[int]]:
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=7)
    rows = []
    for i in range(TASKS):
        full = i >= TASKS - FULL_TASKS
        rows.append({"community_id": communities[i % len(communities)].id, "title": f"任务{i}", "description": "",
                     "category": "community_service", "address": "", "lat": LAT, "lng": LNG, "radius_m": 300,
                     "starts_at": start, "ends_at": start + dt.timedelta(hours=2), "places": 10,
                     "places_taken": 10 if full else 0, "required_skills": [], "members_only": False,
                     "hours_credited": 2, "state": "published", "code_key": signed_codes.new_key(),
                     "created_by_id": admin_id, "created_at": utcnow(), "published_at": utcnow()})
    db.session.execute(insert(Task), rows)
    db.session.commit()
    ids = list(db.session.scalars(select(Task.id).order_by(Task.id)))
    return ids[:TASKS - FULL_TASKS], ids[TASKS - FULL_TASKS:]


def _precheck_today(centers, user_ids) -> None:
    """Members 24,000-29,999 already checked in today (for the duplicate run)."""
    today = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    rows = []
    for k, user_id in enumerate(user_ids[24_000:]):
        rows.append({"center_id": centers[k % len(centers)].id, "user_id": user_id})
    identity = dict(db.session.execute(select(MemberIdentity.user_id, MemberIdentity.id)).all())
    now = utcnow()
    db.session.execute(insert(Checkin), [
        {**r, "identity_id": identity[r["user_id"]], "purpose": "visit", "window_key": today.isoformat(),
         "local_day": today, "checked_in_at": now, "received_at": now, "offline": False,
         "exit_offline": False} for r in rows])
    db.session.commit()


def _grids(communities) -> tuple[list[int], list[int]]:
    """One grid (and its grid Party group) per community."""
    grids = []
    for community in communities:
        group = insert_node("party_group", f"{community.name}第1网格党小组", community)
        grids.append(Grid(community_id=community.id, party_group_id=group.id, name=f"{community.name}第1网格",
                          households=300))
    db.session.add_all(grids)
    db.session.commit()
    return [g.id for g in grids], [g.community_id for g in grids]


def _spec(tag: str, centers, communities, grids: tuple[list[int], list[int]], user_ids, admin_id: int) -> dict:
    """What bench.history needs to grow a district's history."""
    return {"tag": tag, "centers": [c.id for c in centers], "communities": [c.id for c in communities],
            "grids": grids[0], "grid_communities": grids[1], "first_user": user_ids[0],
            "users": len(user_ids), "admin": admin_id}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        district, communities, branches = _tree("基准区", 5, 10)
        # the same shape (30 centers), a small history that does not grow
        control, control_communities, _ = _tree("对照区", 3, 10)
        centers = _centers(communities, CENTERS)
        control_centers = _centers(control_communities, CENTERS)
        user_ids = _members(branches, communities)
        assert user_ids == list(range(user_ids[0], user_ids[0] + MEMBERS)), "bench.history needs contiguous ids"
        admin = User(openid="bench-admin")
        viewer = User(openid="bench-viewer")  # sees one grid event: the one they reported
        db.session.add_all([admin, viewer])
        db.session.flush()
        db.session.add_all([RoleGrant(user_id=admin.id, org_id=district.id, role="district_admin"),
                            RoleGrant(user_id=admin.id, org_id=control.id, role="district_admin")])
        db.session.commit()
        district_grids, control_grids = _grids(communities), _grids(control_communities)
        open_tasks, full_tasks = _tasks(communities, admin.id)
        _precheck_today(centers, user_ids)
        db.session.commit()
        spec = _spec("h", centers, communities, district_grids, user_ids, admin.id)
        control_spec = _spec("c", control_centers, control_communities, control_grids, user_ids, admin.id)
        with db.engine.connect() as c:
            history.grow(c, control_spec, CONTROL_ROWS)
            history.grow(c, {**spec, "tag": "v", "first_user": viewer.id, "users": 1}, 1)

        # Access tokens (the server runs with a long ACCESS_TOKEN_TTL).
        # members 0-11,999 check in for the first time (and accept open tasks), 12,000-23,999
        # check in at a fixed rate, 24,000-29,999 checked in today already (duplicates, full tasks)
        for name, part in (("tokens_first.txt", user_ids[:12_000]), ("tokens_rate.txt", user_ids[12_000:24_000]),
                           ("tokens_dup.txt", user_ids[24_000:])):
            (out / name).write_text("\n".join(tokens.issue_pair(u).access_token for u in part) + "\n")
        (out / "codes.txt").write_text("\n".join(poster_code(c) for c in centers) + "\n")
        (out / "tasks_open.txt").write_text("\n".join(map(str, open_tasks)) + "\n")
        (out / "tasks_full.txt").write_text("\n".join(map(str, full_tasks)) + "\n")
        (out / "admin_token.txt").write_text(tokens.issue_pair(admin.id).access_token + "\n")
        (out / "viewer_token.txt").write_text(tokens.issue_pair(viewer.id).access_token + "\n")
        db.session.commit()  # the login sessions (token families) of every token above
        (out / "orgs.txt").write_text(f"{district.id}\n{control.id}\n")
        (out / "state.json").write_text(json.dumps({
            "database_url": db.engine.url.render_as_string(hide_password=False),
            "district_id": district.id, "control_id": control.id, "center_id": centers[0].id,
            "district": spec, "control": control_spec}, indent=1))
        print(f"seeded in {time.perf_counter() - started:.1f} s: {len(communities)} communities, "
              f"{len(centers)} centers, {MEMBERS} members, {TASKS} tasks; control district: "
              f"{CONTROL_ROWS} rows of each history", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out"))
