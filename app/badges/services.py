"""The badge figures of a subtree (``/stats/badges``); the rest of the feature
lives in badge, posts, plate_codes, scans and merchants."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.permissions import subtree_clause
from app.badges.models import BadgeShown, DutySession, MerchantPlate, PlateScan, PostRating, ServicePost
from app.extensions import db
from app.orgs.models import OrgNode
from app.orgs.services import visible_node

# ---- counts ------------------------------------------------------------------

def badge_stats(actor: User, org_id: int) -> dict:
    """Identities shown, posts, members on duty now, plate scans, ratings —
    for the subtree of ``org_id``; each one indexed query over the subtree."""
    org = visible_node(actor, org_id, "stats.read")
    in_tree = subtree_clause(OrgNode.path, org.path)
    shown = db.session.scalar(select(func.count(BadgeShown.id))
                              .join(OrgNode, OrgNode.id == BadgeShown.branch_id).where(in_tree))
    posts = db.session.scalar(select(func.count(ServicePost.id)).join(ServicePost.org)
                              .where(in_tree, ServicePost.deleted_at.is_(None)))
    duty = db.session.scalar(select(func.count(DutySession.id))
                             .join(ServicePost, ServicePost.id == DutySession.post_id)
                             .join(OrgNode, OrgNode.id == ServicePost.org_id)
                             .where(in_tree, DutySession.ended_at.is_(None)))
    scans = dict(db.session.execute(select(PlateScan.kind, func.count(PlateScan.id))
                                    .join(OrgNode, OrgNode.id == PlateScan.org_id)
                                    .where(in_tree).group_by(PlateScan.kind)).all())
    ratings, average = db.session.execute(
        select(func.count(PostRating.id), func.avg(PostRating.score))
        .join(ServicePost, ServicePost.id == PostRating.post_id)
        .join(OrgNode, OrgNode.id == ServicePost.org_id).where(in_tree)).one()
    plates = dict(db.session.execute(select(MerchantPlate.state, func.count(MerchantPlate.id))
                                     .join(MerchantPlate.zone).where(in_tree)
                                     .group_by(MerchantPlate.state)).all())
    return {
        "org_id": org.id, "identities_shown": shown, "posts": posts, "on_duty_now": duty,
        "post_plate_scans": scans.get("post", 0), "merchant_plate_scans": scans.get("merchant", 0),
        "ratings": ratings, "average_rating": round(float(average), 2) if average is not None else None,
        "merchant_plates": {state: plates.get(state, 0)
                            for state in ("pending", "approved", "rejected", "revoked")},
    }
