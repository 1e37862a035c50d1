"""The demo district: a small Jiangcheng-like tree with one account per role.

Idempotent: every object is found by its natural key before it is created,
so running the seed twice changes nothing.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.auth.models import RoleGrant, User
from app.extensions import db
from app.members import phones
from app.members.models import MemberIdentity, RosterEntry
from app.orgs.models import MemberCommunityReport, OrgCommunityReport, OrgNode
from app.orgs.services import insert_node

# (kind, name, children)
TREE = ("district", "江城区", [
    ("linkage_center", "江城区城市党建联动中心", []),
    ("street", "南恩街道", [
        ("community", "丰泽社区", [
            ("party_branch", "丰泽社区第一党支部", []),
            ("party_branch", "丰泽社区第二党支部", []),
            ("party_group", "丰泽社区第一网格党小组", []),
            ("business_zone", "金山商圈", [("party_branch", "金山商圈联合党支部", [])]),
            ("housing_estate", "丰泽花园", []),
        ]),
        ("community", "新江社区", [("party_branch", "新江社区党支部", [])]),
    ]),
    ("street", "城南街道", [
        ("community", "岗列社区", [("party_branch", "岗列社区党支部", [])]),
        ("community", "平冈社区", [("party_branch", "平冈社区党支部", [])]),
        ("office_building", "汇银大厦", [("party_branch", "汇银大厦联合党支部", [])]),
    ]),
    ("street", "城北街道", [
        ("community", "北苑社区", [("party_branch", "北苑社区党支部", [])]),
        ("school", "江城第一中学", [("party_branch", "江城第一中学党支部", [])]),
    ]),
    ("party_branch", "区市场监督管理局机关党支部", []),
])

# openid -> (role, org name); log in as any of them through the mock WeChat.
ACCOUNTS = {
    "demo-district-admin": ("district_admin", "江城区"),
    "demo-street-admin": ("org_admin", "南恩街道"),
    "demo-community-admin": ("org_admin", "丰泽社区"),
    "demo-center-admin": ("center_admin", "丰泽社区"),
    "demo-grid-leader": ("grid_leader", "丰泽社区"),
    "demo-building-leader": ("building_leader", "丰泽社区"),
    "demo-lane-leader": ("lane_leader", "丰泽社区"),
    "demo-member": (None, None),
    "demo-resident": (None, None),
}
DEMO_MEMBER = ("陈小文", "13800000001", "丰泽社区第一党支部")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def _node(kind: str, name: str, parent: OrgNode | None) -> tuple[OrgNode, bool]:
    same_parent = OrgNode.parent_id == parent.id if parent else OrgNode.parent_id.is_(None)
    node = db.session.scalar(select(OrgNode).where(OrgNode.kind == kind, OrgNode.name == name, same_parent))
    if node:
        return node, False
    return insert_node(kind, name, parent), True


def _tree(spec, parent, nodes, created) -> None:
    kind, name, children = spec
    node, new = _node(kind, name, parent)
    nodes[name] = node
    created += [1] if new else []
    for child in children:
        _tree(child, node, nodes, created)


def _user(openid: str) -> User:
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid)
        db.session.add(user)
        db.session.flush()
    return user


def _roster_entry(name: str, phone: str, branch: OrgNode, join: dt.date, status: str) -> RosterEntry:
    phone_hash = phones.lookup_hash(phone)
    entry = db.session.scalar(select(RosterEntry).where(RosterEntry.phone_hash == phone_hash))
    if entry is None:
        entry = RosterEntry(branch_id=branch.id, name=name, phone_encrypted=phones.encrypt(phone),
                            phone_hash=phone_hash, phone_masked=phones.mask(phone),
                            join_date=join, member_status=status)
        db.session.add(entry)
        db.session.flush()
    return entry


def seed() -> list[str]:
    nodes: dict[str, OrgNode] = {}
    created: list = []
    _tree(TREE, None, nodes, created)

    users = {openid: _user(openid) for openid in ACCOUNTS}
    for openid, (role, org_name) in ACCOUNTS.items():
        if role is None:
            continue
        org = nodes[org_name]
        held = db.session.scalar(select(RoleGrant).where(
            RoleGrant.user_id == users[openid].id, RoleGrant.org_id == org.id, RoleGrant.role == role))
        if held is None:
            db.session.add(RoleGrant(user_id=users[openid].id, org_id=org.id, role=role))

    # A roster of twenty members per branch; phones 139xxxxxxxx, stable across runs.
    branches = [n for n in nodes.values() if n.kind == "party_branch"]
    for b_index, branch in enumerate(branches):
        for i in range(20):
            name = SURNAMES[(b_index + i) % 20] + GIVEN[(i * 7 + b_index) % 20] + GIVEN[(i * 3) % 20]
            phone = f"139{b_index:04d}{i:04d}"
            _roster_entry(name, phone, branch, dt.date(1985 + i, 1 + i % 12, 1 + b_index % 28),
                          "full" if i % 5 else "probationary")

    name, phone, branch_name = DEMO_MEMBER
    member = users["demo-member"]
    entry = _roster_entry(name, phone, nodes[branch_name], dt.date(2008, 7, 1), "full")
    if db.session.scalar(select(MemberIdentity).where(MemberIdentity.user_id == member.id)) is None:
        identity = MemberIdentity(user_id=member.id, roster_entry_id=entry.id, branch_id=entry.branch_id,
                                  identity_no=f"pending-{member.id}", status="active")
        db.session.add(identity)
        db.session.flush()
        identity.identity_no = f"DY{identity.issued_at.year}{identity.id:07d}"
    community = nodes["丰泽社区"]
    if db.session.scalar(select(MemberCommunityReport).where(
            MemberCommunityReport.user_id == member.id)) is None:
        db.session.add(MemberCommunityReport(user_id=member.id, community_id=community.id,
                                             state="confirmed"))
    unit = nodes["区市场监督管理局机关党支部"]
    if db.session.scalar(select(OrgCommunityReport).where(
            OrgCommunityReport.org_id == unit.id)) is None:
        db.session.add(OrgCommunityReport(org_id=unit.id, community_id=community.id, state="confirmed"))
    db.session.commit()

    lines = [f"organization tree: {len(nodes)} nodes ({len(created)} new)"]
    lines += [f"account {openid}: {role or 'no role'}" + (f" on {org} (org {nodes[org].id})" if org else "")
              for openid, (role, org) in ACCOUNTS.items()]
    lines.append(f"demo-member is {name}, phone {phones.mask(phone)}, of {branch_name}")
    return lines
