"""Importing a branch roster file: all or nothing.

One bad row and nothing is written; re-importing the same roster updates
entries (keyed by phone), never duplicates them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.audit import log
from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.common.work import unit_of_work
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.members import phones, roster
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.models import BRANCH_KINDS, OrgNode
from app.orgs.services import visible_node


class RosterInvalid(ValidationFailed):
    code = "roster_invalid"
    zh = "名单文件有 {count} 处错误，未导入任何数据。"
    en = "The roster has {count} problems; nothing was imported."



def import_roster(actor: User, org_id: int, content: bytes, today: dt.date) -> dict:
    """Import a roster file into the branches under ``org_id`` (all or nothing).

    A phone already on a roster outside this subtree is reported like a new
    entry and left with that roster: the answer tells an admin nothing about
    rosters they cannot see."""
    org = visible_node(actor, org_id, "members.manage")
    try:
        parsed = roster.parse(content, today)
    except roster.RosterUnreadable as error:
        raise RosterInvalid({"count": 1, "rows": [{"row": 0, "column": "*", "error": str(error)}]}) from None

    branches = db.session.scalars(select(OrgNode).where(
        subtree_clause(OrgNode.path, org.path), OrgNode.kind.in_(BRANCH_KINDS))).all()
    by_name: dict[str, list[OrgNode]] = {}
    for branch in branches:
        by_name.setdefault(branch.name, []).append(branch)
    by_id = {str(b.id): b for b in branches}

    # each row's phone under every configured key, the current first (see phones)
    hashes = {r.row: phones.lookup_hashes(r.phone) for r in parsed.rows}
    existing: dict[str, RosterEntry] = {}
    values = [h for row_hashes in hashes.values() for h in row_hashes]
    for start in range(0, len(values), 500):
        for found in db.session.scalars(select(RosterEntry).where(
                RosterEntry.phone_hash.in_(values[start:start + 500]))):
            existing[found.phone_hash] = found

    branch_of: dict[int, OrgNode] = {}
    for number, name in parsed.branches.items():  # bad rows too: report every problem
        matches = [by_id[name]] if name in by_id else by_name.get(name, [])
        if len(matches) == 1:
            branch_of[number] = matches[0]
        else:
            parsed.error(number, "branch", "no such branch under this organization" if not matches
                         else "several branches have this name; use the branch id")
    resolved = []
    held_elsewhere = 0
    for row in parsed.rows:
        if row.row not in branch_of:
            continue
        entry = next((existing[h] for h in hashes[row.row] if h in existing), None)
        if entry is not None and not entry.branch.path.startswith(org.path):
            # On a roster outside the admin's subtree: the admin must not learn
            # that (nor whose), so the row reads like any new entry; the entry
            # stays where it is, and binding goes on resolving to it.
            held_elsewhere += 1
            continue
        resolved.append((row, branch_of[row.row], entry))
    if parsed.errors:
        errors = sorted(parsed.errors, key=lambda e: (e["row"], e["column"]))
        raise RosterInvalid({"count": len(errors), "rows": errors})

    with unit_of_work(conflict=Conflict):  # a concurrent import added the same phone
        counts = {"created": held_elsewhere, "updated": 0, "unchanged": 0}
        overwritten = []  # what the import changed, entry by entry, for the audit trail
        for row, branch, entry in resolved:
            if entry is None:
                db.session.add(RosterEntry(
                    branch_id=branch.id, name=row.name, phone_encrypted=phones.encrypt(row.phone),
                    phone_hash=hashes[row.row][0], phone_masked=phones.mask(row.phone),
                    join_date=row.join_date, member_status=row.member_status))
                counts["created"] += 1
                continue
            new = {"branch_id": branch.id, "name": row.name, "join_date": row.join_date,
                   "member_status": row.member_status}
            if all(getattr(entry, k) == v for k, v in new.items()):
                counts["unchanged"] += 1
                continue
            before = log.snapshot(entry, *new)
            for key, value in new.items():
                setattr(entry, key, value)
            overwritten.append({"entry_id": entry.id, **dict(zip(("before", "after"), log.changed(
                before, log.snapshot(entry, *new)), strict=True))})
            counts["updated"] += 1
        # A member who moved branch on the roster moves with it.
        moved = {e.id: b.id for _, b, e in resolved if e is not None}
        if moved:
            for identity in db.session.scalars(select(MemberIdentity).where(
                    MemberIdentity.roster_entry_id.in_(list(moved)))):
                if identity.roster_entry_id is not None:  # always, by the WHERE
                    identity.branch_id = moved[identity.roster_entry_id]
        log.record(actor, "roster.import", org, org_id=org.id,
                   after={**counts, "overwritten": overwritten})
    return counts
