"""Seed the benchmark database (PostgreSQL) and write tokens and codes for wrk.

A district with 5 streets and 50 communities, 30 service centers, 20,000
members (users, roster entries, identities, volunteers), 1,000,000 historic
check-ins over the past 50 days with their daily counts, and 5,000 tasks;
plus a small control district with 10,000 check-ins, so the statistics can
be timed against a history 100 times smaller.

    python -m bench.seed OUT_DIR
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from sqlalchemy import insert, select, text

from app import create_app
from app.auth import tokens
from app.auth.models import RoleGrant, User
from app.checkin.codes import poster_code
from app.checkin.models import Checkin, ServiceCenter
from app.common import signed_codes
from app.common.db import utcnow
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.services import create_root, insert_node
from app.tasks.models import Task, Volunteer

MEMBERS = 20_000
CENTERS = 30
HISTORY = 1_000_000
CONTROL_HISTORY = 10_000
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


def _history(centers, user_ids, rows: int, days: int) -> None:
    """``rows`` past check-ins, a different member per row within a day."""
    per_day = -(-rows // days)
    center_ids = "ARRAY[" + ",".join(str(c.id) for c in centers) + "]"
    first_user = user_ids[0]
    db.session.execute(text(f"""
        INSERT INTO checkins (center_id, user_id, identity_id, purpose, window_key, local_day,
                              checked_in_at, received_at, offline, lat, lng, distance_m, exit_offline)
        SELECT ({center_ids})[1 + g % {len(centers)}],
               {first_user} + g % {per_day},
               i.id, 'visit',
               to_char(current_date - 1 - g / {per_day}, 'YYYY-MM-DD'),
               current_date - 1 - g / {per_day},
               (current_date - 1 - g / {per_day}) + time '02:00',
               (current_date - 1 - g / {per_day}) + time '02:00',
               false, {LAT}, {LNG}, 10, false
        FROM generate_series(0, {rows - 1}) AS g
        JOIN member_identities i ON i.user_id = {first_user} + g % {per_day}
    """))
    db.session.execute(text(f"""
        INSERT INTO checkin_daily_counts (center_id, day, purpose, count)
        SELECT center_id, local_day, purpose, count(*) FROM checkins
        WHERE center_id = ANY({center_ids}) GROUP BY center_id, local_day, purpose
        ON CONFLICT (center_id, day, purpose) DO UPDATE SET count = EXCLUDED.count
    """))
    db.session.commit()


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
    """Members 16,000-19,999 already checked in today (for the duplicate run)."""
    today = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    rows = []
    for k, user_id in enumerate(user_ids[16_000:]):
        rows.append({"center_id": centers[k % len(centers)].id, "user_id": user_id})
    identity = dict(db.session.execute(select(MemberIdentity.user_id, MemberIdentity.id)).all())
    now = utcnow()
    db.session.execute(insert(Checkin), [
        {**r, "identity_id": identity[r["user_id"]], "purpose": "visit", "window_key": today.isoformat(),
         "local_day": today, "checked_in_at": now, "received_at": now, "offline": False,
         "exit_offline": False} for r in rows])
    db.session.commit()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        district, communities, branches = _tree("基准区", 5, 10)
        # the same shape (30 centers), a history 100 times smaller
        control, control_communities, _ = _tree("对照区", 3, 10)
        centers = _centers(communities, CENTERS)
        control_centers = _centers(control_communities, CENTERS)
        user_ids = _members(branches, communities)
        admin = User(openid="bench-admin")
        db.session.add(admin)
        db.session.flush()
        db.session.add_all([RoleGrant(user_id=admin.id, org_id=district.id, role="district_admin"),
                            RoleGrant(user_id=admin.id, org_id=control.id, role="district_admin")])
        db.session.commit()
        _history(centers, user_ids, HISTORY, 50)
        _history(control_centers, user_ids, CONTROL_HISTORY, 50)
        open_tasks, full_tasks = _tasks(communities, admin.id)
        _precheck_today(centers, user_ids)
        db.session.execute(text("ANALYZE"))
        db.session.commit()

        # Access tokens (the server runs with a long ACCESS_TOKEN_TTL).
        # members 0-11,999 check in for the first time (and accept open tasks), 12,000-15,999
        # check in at a fixed rate, 16,000-19,999 checked in today already (duplicates, full tasks)
        for name, part in (("tokens_first.txt", user_ids[:12_000]), ("tokens_rate.txt", user_ids[12_000:16_000]),
                           ("tokens_dup.txt", user_ids[16_000:])):
            (out / name).write_text("\n".join(tokens.issue_pair(u).access_token for u in part) + "\n")
        (out / "codes.txt").write_text("\n".join(poster_code(c) for c in centers) + "\n")
        (out / "tasks_open.txt").write_text("\n".join(map(str, open_tasks)) + "\n")
        (out / "tasks_full.txt").write_text("\n".join(map(str, full_tasks)) + "\n")
        (out / "admin_token.txt").write_text(tokens.issue_pair(admin.id).access_token + "\n")
        db.session.commit()  # the login sessions (token families) of every token above
        (out / "orgs.txt").write_text(f"{district.id}\n{control.id}\n")
        print(f"seeded in {time.perf_counter() - started:.1f} s: {len(communities)} communities, "
              f"{len(centers)} centers, {MEMBERS} members, {HISTORY} + {CONTROL_HISTORY} check-ins, "
              f"{TASKS} tasks")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out"))
