"""The errors of badges, service posts and merchant plates."""
from __future__ import annotations

from app.errors import BadRequest, Conflict, Forbidden, ValidationFailed


class InvalidPlateCode(BadRequest):
    code = "invalid_plate_code"
    zh = "这不是有效的党员示范岗或党员商户牌二维码（{why}）。"
    en = "This is not a valid post or merchant plate code ({why})."


class BadgeNotPlate(InvalidPlateCode):
    code = "badge_not_plate"
    zh = "这是党员身份码，请使用“验证党员身份”功能扫描。"
    en = "This is a member badge, not a plate; verify it with the badge scanner."


class NotAssigned(Forbidden):
    code = "not_assigned_to_post"
    zh = "您不是该示范岗的在岗党员。"
    en = "You are not assigned to this post."


class AlreadyRatedToday(Conflict):
    code = "already_rated_today"
    zh = "您今天已评价过该示范岗。"
    en = "You have already rated this post today."


class PlateRevoked(Conflict):
    code = "plate_revoked"
    zh = "该党员商户牌已被撤销。"
    en = "This merchant plate has been revoked."


class PlateNotPending(Conflict):
    code = "plate_not_pending"
    zh = "该申请已处理。"
    en = "This application has already been decided."


class PlateNotApproved(Conflict):
    code = "plate_not_approved"
    zh = "该商户牌尚未获批或已撤销。"
    en = "This plate is not (or no longer) approved."


class NotABusinessZone(ValidationFailed):
    code = "not_a_business_zone"
    zh = "党员商户牌须挂靠商圈。"
    en = "Merchant plates belong to a business zone."
