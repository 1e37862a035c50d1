"""The refusals of check-in (codes are the reasons the front end switches on) and of centers' screens and posters."""
from __future__ import annotations

from app.checkin.codes import CheckinRejected
from app.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from app.members.services import IdentityInactive, NotAMember

# ---- rejections (codes are the reasons the front end switches on) ----------------

class ScannedAtInFuture(CheckinRejected, ValidationFailed):
    code = "scanned_at_in_future"
    zh = "扫码时间晚于服务器时间，请校准手机时间。"
    en = "scanned_at is in the future; check the phone's clock."


class ScannedAtTooOld(CheckinRejected, ValidationFailed):
    code = "scanned_at_too_old"
    zh = "离线扫码记录已超过 {max_hours} 小时，不能再补交。"
    en = "Offline scans can be uploaded for {max_hours} hours at most."


class NotAMemberScan(CheckinRejected, NotAMember):
    pass


class IdentityInactiveScan(CheckinRejected, IdentityInactive):
    pass


class CenterClosed(CheckinRejected, Forbidden):
    code = "center_closed"
    zh = "服务中心当前不在开放时间。"
    en = "The center is closed at this time."


class LocationRequired(CheckinRejected, ValidationFailed):
    code = "location_required"
    zh = "签到需要位置信息，请允许小程序获取位置。"
    en = "Check-in needs your location; allow the mini-program to read it."


class OutOfRange(CheckinRejected, Forbidden):
    code = "out_of_range"
    zh = "您距离服务中心 {distance_m} 米，签到需在 {radius_m} 米以内。"
    en = "You are {distance_m} m from the center; check-in needs {radius_m} m or less."


class LocationInaccurate(CheckinRejected, ValidationFailed):
    code = "location_inaccurate"
    zh = "定位精度为 {accuracy_m} 米，超过签到范围 {radius_m} 米，请到开阔处重试。"
    en = "Your location is only accurate to {accuracy_m} m, more than the {radius_m} m radius; try again in the open."


class NotCheckedIn(CheckinRejected, Conflict):
    code = "not_checked_in"
    zh = "您今天尚未在该服务中心签到，无法签退。"
    en = "You have not checked in at this center in this window, so you cannot check out."


class ExitBeforeEntry(CheckinRejected, Conflict):
    code = "exit_before_entry"
    zh = "签退时间早于签到时间。"
    en = "The exit scan is earlier than the entry."


class InvalidDeviceToken(Unauthorized):
    code = "invalid_device_token"
    zh = "显示屏凭证无效或已停用。"
    en = "This display device token is invalid or revoked."


class StaticModeRequired(Conflict):
    code = "static_mode_required"
    zh = "该中心使用动态签到码，请使用显示屏；如需打印海报，请先改为静态码。"
    en = "This center uses rotating codes on a screen; switch it to static codes to print a poster."
