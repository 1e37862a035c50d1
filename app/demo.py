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
    "demo-grid-leader": ("grid_leader", "丰泽社区第一网格党小组"),
    "demo-building-leader": ("building_leader", "丰泽社区第一网格党小组"),
    "demo-lane-leader": ("lane_leader", "丰泽社区第一网格党小组"),
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
    entry = db.session.scalar(select(RosterEntry).where(
        RosterEntry.phone_hash.in_(phones.lookup_hashes(phone))))
    if entry is None:
        entry = RosterEntry(branch_id=branch.id, name=name, phone_encrypted=phones.encrypt(phone),
                            phone_hash=phones.lookup_hash(phone), phone_masked=phones.mask(phone),
                            join_date=join, member_status=status)
        db.session.add(entry)
        db.session.flush()
    return entry


def _bound(entry: RosterEntry) -> bool:
    return db.session.scalar(select(MemberIdentity.id).where(
        MemberIdentity.roster_entry_id == entry.id, MemberIdentity.status != "revoked")) is not None


def seed() -> list[str]:
    nodes: dict[str, OrgNode] = {}
    created: list = []
    _tree(TREE, None, nodes, created)

    users = {openid: _user(openid) for openid in ACCOUNTS}
    for openid, (role, org_name) in ACCOUNTS.items():
        if role is None or org_name is None:
            continue
        org = nodes[org_name]
        held = db.session.scalar(select(RoleGrant).where(
            RoleGrant.user_id == users[openid].id, RoleGrant.org_id == org.id, RoleGrant.role == role))
        if held is None:
            db.session.add(RoleGrant(user_id=users[openid].id, org_id=org.id, role=role))

    # A roster of twenty members per branch; phones 139xxxxxxxx, stable across runs.
    branches = [n for n in nodes.values() if n.kind == "party_branch"]
    to_try = None  # a roster entry nobody has bound: the banner offers it for trying the binding
    for b_index, branch in enumerate(branches):
        for i in range(20):
            name = SURNAMES[(b_index + i) % 20] + GIVEN[(i * 7 + b_index) % 20] + GIVEN[(i * 3) % 20]
            phone = f"139{b_index:04d}{i:04d}"
            entry = _roster_entry(name, phone, branch, dt.date(1985 + i, 1 + i % 12, 1 + b_index % 28),
                                  "full" if i % 5 else "probationary")
            if to_try is None and branch.name == DEMO_MEMBER[2] and i % 5 and not _bound(entry):
                to_try = (name, phone, branch.name)

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
    db.session.flush()
    identity = db.session.scalars(select(MemberIdentity).where(MemberIdentity.user_id == member.id)).one()
    lines_more = _seed_services(nodes, users, identity)
    db.session.commit()

    lines = [f"organization tree: {len(nodes)} nodes ({len(created)} new)"]
    lines += [f"account {openid}: {role or 'no role'}" + (f" on {org} (org {nodes[org].id})" if org else "")
              for openid, (role, org) in ACCOUNTS.items()]
    lines.append(f"demo-member is {name}, phone {phones.mask(phone)}, of {branch_name}")
    if to_try:
        lines.append(f"to try binding: log in as a new openid and bind as {to_try[0]}, "
                     f"phone {to_try[1]} ({to_try[2]})")
    return lines + lines_more


FENGZE = (21.8580, 111.9620)  # GCJ-02


def _get_or_add(model, defaults: dict | None = None, **key):
    row = db.session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def _demo_display(center) -> str:
    """The demo center's screen: a device whose token is derived from SECRET_KEY,
    so that every seed of the same instance prints the same display page URL."""
    import hashlib
    import hmac

    from flask import current_app

    from app.checkin.devices import hash_device_token
    from app.checkin.models import DisplayDevice

    secret = current_app.config["SECRET_KEY"].encode()
    token = "dev_" + hmac.new(secret, f"demo-display-{center.id}".encode(), hashlib.sha256).hexdigest()[:43]
    _get_or_add(DisplayDevice, {"center_id": center.id, "name": "演示大屏"}, token_hash=hash_device_token(token))
    return f"/display/centers/{center.id}?device_token={token}"


def _seed_services(nodes: dict, users: dict, identity: MemberIdentity) -> list[str]:
    """Centers, a grid with its leaders, volunteers, a task, a post and a plate."""
    from app.badges.models import MerchantPlate, PostAssignment, ServicePost
    from app.checkin.models import ServiceCenter
    from app.common import signed_codes
    from app.common.db import utcnow
    from app.grid.categories import ensure_default_categories
    from app.grid.models import Grid, GridLeader
    from app.tasks.models import Task, Volunteer

    lat, lng = FENGZE
    every_day = {day: [["08:30", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    fengze = nodes["丰泽社区"]
    center = _get_or_add(ServiceCenter, {
        "org_id": fengze.id, "address": "江城区丰泽路 1 号", "lat": lat, "lng": lng,
        "opening_hours": every_day, "closed_days": [], "code_mode": "rotating",
        "code_key": signed_codes.new_key()}, name="丰泽社区党群服务中心")
    _get_or_add(ServiceCenter, {
        "org_id": nodes["江城区"].id, "address": "江城区东风一路", "lat": 21.8590, "lng": 111.9820,
        "opening_hours": every_day, "closed_days": [], "code_mode": "static",
        "code_key": signed_codes.new_key()}, name="江城区党群服务中心")

    ensure_default_categories()
    square = {"type": "Polygon", "coordinates": [[[lng - .003, lat - .003], [lng + .003, lat - .003],
                                                  [lng + .003, lat + .003], [lng - .003, lat + .003],
                                                  [lng - .003, lat - .003]]]}
    grid = _get_or_add(Grid, {"community_id": fengze.id, "households": 320, "boundary": square,
                              "min_lat": lat - .003, "max_lat": lat + .003, "min_lng": lng - .003,
                              "max_lng": lng + .003}, party_group_id=nodes["丰泽社区第一网格党小组"].id,
                       name="丰泽社区第一网格")
    for openid, role, extra in (("demo-grid-leader", "grid_leader", {}),
                                ("demo-building-leader", "building_leader",
                                 {"buildings": ["丰泽花园 1 栋", "丰泽花园 2 栋"]}),
                                ("demo-lane-leader", "lane_leader", {"lanes": ["丰泽一巷"]})):
        _get_or_add(GridLeader, {"buildings": [], "lanes": [], **extra},
                    grid_id=grid.id, user_id=users[openid].id, role=role)

    for openid, is_member in (("demo-member", True), ("demo-resident", False)):
        _get_or_add(Volunteer, {"community_id": fengze.id, "skills": ["清扫", "陪护"],
                                "availability": "周末", "is_member": is_member}, user_id=users[openid].id)
    start = (utcnow() + dt.timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    _get_or_add(Task, {"community_id": fengze.id, "category": "community_service",
                       "description": "清理丰泽花园周边绿化带垃圾", "address": "丰泽花园", "lat": lat,
                       "lng": lng, "starts_at": start, "ends_at": start + dt.timedelta(hours=2),
                       "places": 12, "places_taken": 0, "hours_credited": 2, "state": "published",
                       "published_at": utcnow(), "code_key": signed_codes.new_key(), "required_skills": [],
                       "members_only": False}, title="周末社区环境清扫")

    post = _get_or_add(ServicePost, {"org_id": fengze.id, "unit": "丰泽社区党群服务中心", "window": "1 号窗口",
                                     "lat": lat, "lng": lng, "service_items": ["证明开具", "政策咨询"],
                                     "code_key": signed_codes.new_key()}, name="党员服务示范岗")
    _get_or_add(PostAssignment, post_id=post.id, identity_id=identity.id)
    _get_or_add(MerchantPlate, {"zone_id": nodes["金山商圈"].id, "address": "金山商圈 12 号",
                                "lat": lat, "lng": lng, "state": "approved",
                                "code_key": signed_codes.new_key()},
                owner_identity_id=identity.id, shop_name="陈记粮油店")
    display_url = _demo_display(center)
    return [f"service centers: {center.name} (center {center.id}, rotating) and 江城区党群服务中心 (static)",
            f"display page of {center.name}: {display_url}",
            f"grid {grid.name} with its three leaders; volunteers, a published task, a post and a plate"]
