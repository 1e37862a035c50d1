"""The errors of the grid feature, each a kind of one of the status classes
of :mod:`app.errors` (the status lives there); their codes are the API's."""
from __future__ import annotations

from app.errors import Conflict, ValidationFailed


class NoGrid(ValidationFailed):
    code = "no_grid"
    zh = "该位置不在任何网格内，且您没有所属网格。"
    en = "This location is in no grid, and you belong to none."


class InvalidBoundary(ValidationFailed):
    code = "invalid_boundary"
    zh = "网格边界不是有效的 GeoJSON 多边形：{why}。"
    en = "The boundary is not a valid GeoJSON Polygon: {why}."


class TooManyPhotos(ValidationFailed):
    code = "too_many_photos"
    zh = "每次最多上传 {max} 张照片。"
    en = "At most {max} photos per report."


class UnknownCategory(ValidationFailed):
    code = "unknown_category"
    zh = "未知的事件类别。"
    en = "Unknown event category."


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"
    zh = "事件当前为“{state}”状态，不能执行“{action}”。"
    en = "The event is {state}; '{action}' is not possible now."


class ReopenExpired(Conflict):
    code = "reopen_expired"
    zh = "结案超过 {days} 天，不能再重新打开，请重新上报。"
    en = "Closed more than {days} days ago; report it again instead."


class InvalidDuplicate(ValidationFailed):
    code = "invalid_duplicate"
    zh = "重复事件须指向同一社区内的另一个事件。"
    en = "A duplicate must point at another event of the same community."


class NoHigherLevel(Conflict):
    code = "no_higher_level"
    zh = "已是最高层级，不能再上报。"
    en = "Already owned by the top level."


class NoPendingExtension(Conflict):
    code = "no_pending_extension"
    zh = "没有待审批的延期申请。"
    en = "There is no extension request to approve."


class MissingField(ValidationFailed):
    """An argument the action needs (the request schema leaves it optional,
    as other actions do without it)."""

    code = "validation_failed"
    zh = "缺少“{field}”。"
    en = "'{field}' is required for this action."

    def __init__(self, field: str):
        super().__init__({"field": field, "fields": {field: ["Required for this action."]}})
