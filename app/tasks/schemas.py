from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    CoordinateSchema,
    Integer,
    LatLng,
    LocationOutSchema,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.moderation.schemas import content_state_field
from app.orgs.schemas import OrgRefSchema
from app.tasks.models import HELP_CATEGORIES, PARTICIPATION_STATES, REQUEST_STATES, TASK_STATES

Skill = ma.fields.String(validate=validate.Length(1, 30))


class VolunteerInSchema(Schema):
    community_id = Integer(required=True, validate=ID_RANGE)
    skills = ma.fields.List(Skill, load_default=list, validate=validate.Length(max=20))
    availability = ma.fields.String(load_default="", validate=validate.Length(max=200))
    name = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 50), metadata={
        "description": "Your name, for your service record and certificates (a member's is the roster's)"})


class VolunteerSchema(Schema):
    id = Integer()
    user_id = Integer(validate=ID_RANGE)
    community = ma.fields.Nested(OrgRefSchema)
    skills = ma.fields.List(ma.fields.String())
    availability = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    is_member = ma.fields.Boolean(metadata={"description": "党员志愿者"})
    created_at = AwareDateTime()
    content_state = content_state_field()


class HelpRequestInSchema(Schema):
    community_id = Integer(required=True, validate=ID_RANGE)
    category = ma.fields.String(required=True, validate=validate.OneOf(HELP_CATEGORIES))
    description = ma.fields.String(required=True, validate=validate.Length(1, 1000))
    address = ma.fields.String(load_default="", validate=validate.Length(max=200))
    location = ma.fields.Nested(CoordinateSchema, load_default=None, allow_none=True)
    window_start = AwareDateTime(required=True)
    window_end = AwareDateTime(required=True)
    contact_phone = ma.fields.String(required=True, validate=validate.Length(1, 20))


class HelpRequestSchema(Schema):
    id = Integer()
    requester_id = Integer(validate=ID_RANGE)
    community = ma.fields.Nested(OrgRefSchema)
    category = ma.fields.String()
    description = ma.fields.String()
    address = ma.fields.String()
    location = ma.fields.Nested(LocationOutSchema, allow_none=True, metadata={
        "description": "Where the help is wanted (GCJ-02), as a task's; null when none was given"})
    window_start = AwareDateTime()
    window_end = AwareDateTime()
    contact_phone = ma.fields.Function(
        lambda r: r.__dict__.get("phone_visible") or r.phone_masked,
        metadata={"description": "Masked, except for volunteers who accepted the resulting task"})
    state = ma.fields.String(metadata={"enum": list(REQUEST_STATES)})
    reject_reason = ma.fields.String(allow_none=True)
    task_id = Integer(allow_none=True, validate=ID_RANGE, metadata={
        "description": "The task the request became (dispatched), else null"})
    created_at = AwareDateTime()
    content_state = content_state_field()

    def get_attribute(self, obj, attr, default):
        # The row keeps lat/lng in columns; the answer nests them like every location.
        if attr == "location":
            return None if obj.lat is None else {"lat": obj.lat, "lng": obj.lng}
        return super().get_attribute(obj, attr, default)


class HelpRequestListArgsSchema(PageArgsSchema):
    community_id = Integer(validate=ID_RANGE)
    state = ma.fields.String(validate=validate.OneOf(REQUEST_STATES))
    mine = ma.fields.Boolean(load_default=False)


class ReasonSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))


class OptionalReasonSchema(Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class TaskInSchema(Schema):
    title = ma.fields.String(validate=validate.Length(1, 100))
    description = ma.fields.String(validate=validate.Length(max=2000))
    category = ma.fields.String(validate=validate.OneOf((*HELP_CATEGORIES, "community_service")))
    address = ma.fields.String(validate=validate.Length(max=200))
    location = ma.fields.Nested(CoordinateSchema, allow_none=True)
    radius_m = Integer(validate=validate.Range(20, 5000))
    starts_at = AwareDateTime()
    ends_at = AwareDateTime()
    places = Integer(validate=validate.Range(1, 10_000))
    required_skills = ma.fields.List(Skill, validate=validate.Length(max=20))
    members_only = ma.fields.Boolean()
    hours_credited = ma.fields.Decimal(places=2, validate=validate.Range(0, 24), as_string=False)


class TaskCreateSchema(TaskInSchema):
    community_id = Integer(load_default=None, validate=ID_RANGE)
    help_request_id = Integer(load_default=None, validate=ID_RANGE)
    title = ma.fields.String(required=True, validate=validate.Length(1, 100))
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    places = Integer(required=True, validate=validate.Range(1, 10_000))


class TaskSchema(Schema):
    id = Integer()
    community = ma.fields.Nested(OrgRefSchema)
    help_request_id = Integer(allow_none=True, validate=ID_RANGE)
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String()
    address = ma.fields.String()
    location = ma.fields.Function(lambda t: {"lat": t.lat, "lng": t.lng, "coord_system": "gcj02"})
    radius_m = Integer()
    starts_at = AwareDateTime()
    ends_at = AwareDateTime()
    places = Integer()
    places_taken = Integer()
    places_left = ma.fields.Function(lambda t: t.places - t.places_taken)
    required_skills = ma.fields.List(ma.fields.String())
    members_only = ma.fields.Boolean()
    hours_credited = ma.fields.Decimal(places=2, as_string=False)
    state = ma.fields.String(metadata={"enum": list(TASK_STATES)})
    cancel_reason = ma.fields.String(allow_none=True)
    distance_m = Integer(metadata={"description": "Only with ?near="})
    created_at = AwareDateTime()
    content_state = content_state_field()


class TaskListArgsSchema(PageArgsSchema):
    community_id = Integer(validate=ID_RANGE)
    state = ma.fields.String(validate=validate.OneOf(TASK_STATES))
    category = ma.fields.String(validate=validate.Length(max=32))
    open = ma.fields.Boolean(load_default=False)
    near = LatLng(load_default=None, metadata={"description": "lat,lng (GCJ-02): nearest first"})
    radius_m = Integer(load_default=10_000, validate=validate.Range(10, 100_000))


class AcceptSchema(Schema):
    waitlist = ma.fields.Boolean(load_default=False, metadata={
        "description": "Join the waitlist when the task is full"})


class PresenceSchema(Schema):
    location = ma.fields.Nested(CoordinateSchema, load_default=None, allow_none=True)
    code = ma.fields.String(load_default=None, validate=validate.Length(1, 512))


class ParticipationSchema(Schema):
    id = Integer()
    task_id = Integer(validate=ID_RANGE)
    user_id = Integer(validate=ID_RANGE)
    task_title = ma.fields.String(attribute="task.title")
    state = ma.fields.String(metadata={"enum": list(PARTICIPATION_STATES)})
    starts_at = AwareDateTime()
    ends_at = AwareDateTime()
    accepted_at = AwareDateTime()
    checked_in_at = AwareDateTime(allow_none=True)
    checked_out_at = AwareDateTime(allow_none=True)
    needs_review = ma.fields.Boolean()
    score = Integer(allow_none=True)
    comment = ma.fields.Function(
        lambda p: None if p.__dict__.get("comment_hidden") else p.comment, allow_none=True,
        metadata={"type": "string", "description": "The rating's comment; null to the volunteer "
                  "while it is held for review"})
    confirmed_at = AwareDateTime(allow_none=True)
    waitlist_position = ma.fields.Function(
        lambda p: p.__dict__.get("waitlist_position"), allow_none=True,
        metadata={"type": "integer", "description": "On the waitlist: your place in it (1 = next to "
                  "get a place); null otherwise. In your own answers (accept, /me/tasks)."})
    content_state = content_state_field()


class ServedParticipationSchema(ParticipationSchema):
    volunteer_name = ma.fields.Function(
        lambda p: p.__dict__.get("volunteer_name"),
        metadata={"description": "Masked name of a Party-member volunteer (党员志愿者); null for others"})


class MyTasksArgsSchema(PageArgsSchema):
    state = ma.fields.String(validate=validate.OneOf(PARTICIPATION_STATES))


class TaskCodeSchema(Schema):
    qr_text = ma.fields.String()
    expires_at = AwareDateTime()
    refresh_in = ma.fields.Float()


class SetTimesSchema(Schema):
    checked_in_at = AwareDateTime(load_default=None)
    checked_out_at = AwareDateTime(required=True)


class ConfirmSchema(Schema):
    score = Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = ma.fields.String(load_default="", validate=validate.Length(max=200))


class CorrectionSchema(Schema):
    hours = ma.fields.Decimal(required=True, places=2, validate=validate.Range(0, 24), as_string=False,
                              metadata={"description": "The corrected total for this participation"})
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))
    request_id = Integer(load_default=None, validate=ID_RANGE)


class CorrectionRequestInSchema(Schema):
    hours = ma.fields.Decimal(required=True, places=2, validate=validate.Range(0, 24), as_string=False)
    reason = ma.fields.String(required=True, validate=validate.Length(1, 200))


class CorrectionRequestSchema(Schema):
    id = Integer()
    participation_id = Integer(validate=ID_RANGE)
    user_id = Integer(validate=ID_RANGE)
    requested_hours = ma.fields.Decimal(places=2, as_string=False)
    reason = ma.fields.String()
    state = ma.fields.String()
    created_at = AwareDateTime()


class HoursEntrySchema(Schema):
    id = Integer()
    task_id = Integer(validate=ID_RANGE)
    participation_id = Integer(validate=ID_RANGE)
    kind = ma.fields.String(metadata={"enum": ["credit", "correction"]})
    hours = ma.fields.Decimal(places=2, as_string=False)
    reason = ma.fields.String(allow_none=True)
    recorded_by_id = Integer(allow_none=True, validate=ID_RANGE)
    created_at = AwareDateTime()
    service_name = ma.fields.String()
    organizer = ma.fields.String(metadata={"description": "The organizing body"})
    place = ma.fields.String()
    service_started_at = AwareDateTime(allow_none=True)
    service_ended_at = AwareDateTime(allow_none=True)
    confirmed_by = ma.fields.String(metadata={"enum": ["requester", "organizer"],
                                              "description": "Who confirmed the service"})


class RatingsSchema(Schema):
    count = Integer()
    average = ma.fields.Float(allow_none=True)


class VolunteerRecordSchema(Schema):
    total_hours = ma.fields.Decimal(places=2, as_string=False)
    person_times = Integer()
    ratings = ma.fields.Nested(RatingsSchema)
    items = ma.fields.List(ma.fields.Nested(HoursEntrySchema), required=True)  # the ledger, newest first
    next_cursor = ma.fields.String(allow_none=True, required=True)


HelpRequestPageSchema = page_schema(HelpRequestSchema, "HelpRequestPageSchema")
TaskPageSchema = page_schema(TaskSchema, "TaskPageSchema")
ParticipationPageSchema = page_schema(ParticipationSchema, "ParticipationPageSchema")
ServedParticipationPageSchema = page_schema(ServedParticipationSchema, "ServedParticipationPageSchema")
CorrectionRequestPageSchema = page_schema(CorrectionRequestSchema, "CorrectionRequestPageSchema")
