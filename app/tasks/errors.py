"""The domain errors of volunteer service (their status comes from app/errors.py)."""
from __future__ import annotations

from app.errors import BadRequest, Conflict, Forbidden, ValidationFailed


class NotACommunity(ValidationFailed):
    code = "not_a_community"
    zh = "请选择一个社区。"
    en = "Choose a community."


class PlacesBelowTaken(Conflict):
    code = "places_below_taken"
    zh = "已有 {places_taken} 人接单，名额不能少于此数（您设为 {places}）。"
    en = "{places_taken} places are taken; places cannot be fewer (you asked for {places})."


class EndsBeforeStart(ValidationFailed):
    code = "ends_before_start"
    zh = "结束时间必须晚于开始时间。"
    en = "The end must be after the start."


class NotAVolunteer(Forbidden):
    code = "not_a_volunteer"
    zh = "请先注册成为志愿者。"
    en = "Register as a volunteer first."


class TaskNotOpen(Conflict):
    code = "task_not_open"
    zh = "该任务当前为“{state}”状态，不能接单。"
    en = "This task is {state}; it cannot be accepted."


class TaskFull(Conflict):
    code = "task_full"
    zh = "该任务名额已满。"
    en = "This task has no places left."


class ScheduleConflict(Conflict):
    code = "schedule_conflict"
    zh = "您已接的任务与该任务时间重叠。"
    en = "You already hold a task at an overlapping time."


class MembersOnly(Forbidden):
    code = "members_only"
    zh = "该任务仅限党员志愿者。"
    en = "This task is for Party-member volunteers only."


class WithdrawCutoffPassed(Conflict):
    code = "withdraw_cutoff_passed"
    zh = "距任务开始已不足 {cutoff_hours} 小时，不能退出，请联系组织者。"
    en = "Less than {cutoff_hours} hours before the start: withdrawing is closed; contact the organizer."


class NotTaskTime(Conflict):
    code = "not_task_time"
    zh = "现在不在该任务的签到时间内。"
    en = "It is not the time of this task."


class LocationRequired(ValidationFailed):
    code = "location_required"
    zh = "请提供位置或扫描组织者出示的二维码。"
    en = "Send your location or scan the organizer's code."


class OutOfRange(Forbidden):
    code = "out_of_range"
    zh = "您距离任务地点 {distance_m} 米，需在 {radius_m} 米以内。"
    en = "You are {distance_m} m from the task; it needs {radius_m} m or less."


class InvalidTaskCode(BadRequest):
    code = "invalid_code"
    zh = "该二维码不是本任务的有效签到码。"
    en = "This is not a valid code for this task."


class NotYourParticipation(Forbidden):
    code = "not_your_task"
    zh = "只有求助的居民（或无求助单任务的组织者）可以确认和评价。"
    en = "Only the resident who asked (or the organizer, for tasks without a request) can confirm."


class NeedsReview(Conflict):
    code = "needs_review"
    zh = "签退时间缺失，需组织者补录实际时间后才能确认。"
    en = "The check-out time is missing; the organizer must set the real time first."
