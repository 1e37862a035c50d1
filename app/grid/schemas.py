from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.common.schemas import (
    ID_RANGE,
    AwareDateTime,
    CoordinateSchema,
    Integer,
    LatLng,
    PageArgsSchema,
    Schema,
    page_schema,
)
from app.grid.models import FINAL_STATES, LEADER_ROLES, LEVELS, OPEN_STATES, URGENCIES
from app.moderation.schemas import content_state_field
from app.orgs.schemas import OrgRefSchema

ACTIONS = ["confirm", "accept", "reject", "duplicate", "handle_self", "dispatch", "take", "return",
           "extend", "approve_extension", "resolve", "verify_ok", "verify_fail", "reopen", "escalate"]


class GridInSchema(Schema):
    name = ma.fields.String(validate=validate.Length(1, 100))
    households = Integer(validate=validate.Range(0, 1_000_000))
    boundary = ma.fields.Dict(allow_none=True, metadata={
        "description": "GeoJSON Polygon in GCJ-02: {\"type\": \"Polygon\", \"coordinates\": [[[lng, lat], ...]]}"})


class GridCreateSchema(GridInSchema):
    community_id = Integer(required=True, validate=ID_RANGE)
    name = ma.fields.String(required=True, validate=validate.Length(1, 100))
    households = Integer(load_default=0, validate=validate.Range(0, 1_000_000))
    boundary = ma.fields.Dict(load_default=None, allow_none=True)


class GridSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    community = ma.fields.Nested(OrgRefSchema)
    party_group = ma.fields.Nested(OrgRefSchema)
    households = Integer()
    boundary = ma.fields.Dict(allow_none=True)
    created_at = AwareDateTime()


class GridListArgsSchema(PageArgsSchema):
    community_id = Integer(validate=ID_RANGE)
    at = LatLng(load_default=None, metadata={"description": "lat,lng: the grid containing this point"})


class LeaderInSchema(Schema):
    user_id = Integer(required=True, validate=ID_RANGE)
    role = ma.fields.String(required=True, validate=validate.OneOf(LEADER_ROLES))
    buildings = ma.fields.List(ma.fields.String(validate=validate.Length(1, 50)), load_default=list)
    lanes = ma.fields.List(ma.fields.String(validate=validate.Length(1, 50)), load_default=list)


class LeaderSchema(Schema):
    id = Integer()
    grid_id = Integer(validate=ID_RANGE)
    user_id = Integer(validate=ID_RANGE)
    role = ma.fields.String()
    buildings = ma.fields.List(ma.fields.String())
    lanes = ma.fields.List(ma.fields.String())


class CategorySchema(Schema):
    code = ma.fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,31}$"))
    name = ma.fields.String(required=True, validate=validate.Length(1, 50))
    level = ma.fields.String(load_default="community", validate=validate.OneOf(LEVELS))
    active = ma.fields.Boolean(load_default=True)


class TimeLimitInSchema(Schema):
    accept_hours = ma.fields.Float(required=True, validate=validate.Range(0.1, 24 * 90))
    handle_hours = ma.fields.Float(required=True, validate=validate.Range(0.1, 24 * 90))
    verify_hours = ma.fields.Float(required=True, validate=validate.Range(0.1, 24 * 90))


class TimeLimitSchema(TimeLimitInSchema):
    category = ma.fields.String()
    urgency = ma.fields.String()
    default = ma.fields.Boolean()


class EventInSchema(Schema):
    category = ma.fields.String(required=True, validate=validate.Length(1, 32))
    title = ma.fields.String(required=True, validate=validate.Length(1, 100))
    description = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    location = ma.fields.Nested(CoordinateSchema, required=True)
    urgency = ma.fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    photo_ids = ma.fields.List(Integer(validate=ID_RANGE), load_default=list)


class EventSchema(Schema):
    id = Integer()
    grid_id = Integer(validate=ID_RANGE)
    community = ma.fields.Nested(OrgRefSchema)
    owner = ma.fields.Nested(OrgRefSchema, metadata={"description": "The level that owns it now"})
    category = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    location = ma.fields.Function(lambda e: {"lat": e.lat, "lng": e.lng, "coord_system": "gcj02"})
    urgency = ma.fields.String()
    state = ma.fields.String(metadata={"enum": list(OPEN_STATES + FINAL_STATES)})
    reporter_id = Integer(validate=ID_RANGE)
    reporter_role = ma.fields.String()
    assignee_org_id = Integer(allow_none=True, validate=ID_RANGE)
    assignee_user_id = Integer(allow_none=True, validate=ID_RANGE)
    duplicate_of_id = Integer(allow_none=True, validate=ID_RANGE)
    rework_count = Integer()
    escalations = Integer()
    followers = Integer()
    step = ma.fields.String(allow_none=True)
    deadline_at = AwareDateTime(allow_none=True)
    light = ma.fields.String(allow_none=True, metadata={"enum": ["green", "yellow", "red"]})
    pending_extension_hours = ma.fields.Float(allow_none=True)
    photos = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "`{upload_id, stage, check_state, url}` of the photos you may see: those "
                       "WeChat's content check passed, and to their uploader and the community's "
                       "admins those still `pending` or in `review` (shown as \"审核中\")"})
    allowed_actions = ma.fields.List(ma.fields.String(), metadata={
        "description": "The actions you may take now: filled in the answers about one event "
                       "(GET one, transitions); always an empty list in lists"})
    created_at = AwareDateTime()
    closed_at = AwareDateTime(allow_none=True)
    content_state = content_state_field()


class ReportedSchema(Schema):
    event = ma.fields.Nested(EventSchema)
    possible_duplicates = ma.fields.List(ma.fields.Nested(EventSchema))


class TransitionInSchema(Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(ACTIONS))
    note = ma.fields.String(load_default="", validate=validate.Length(max=1000))
    reason = ma.fields.String(validate=validate.Length(1, 500))
    duplicate_of = Integer(validate=ID_RANGE)
    to_org_id = Integer(validate=ID_RANGE)
    to_user_id = Integer(validate=ID_RANGE)
    hours = ma.fields.Float(validate=validate.Range(0.5, 24 * 60))
    photo_ids = ma.fields.List(Integer(validate=ID_RANGE))


class TransitionSchema(Schema):
    id = Integer()
    actor_id = Integer(validate=ID_RANGE)
    actor_role = ma.fields.String()
    action = ma.fields.String()
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    note = ma.fields.String()
    data = ma.fields.Dict()
    step = ma.fields.String(allow_none=True)
    in_time = ma.fields.Boolean(allow_none=True)
    created_at = AwareDateTime()


class CommentInSchema(Schema):
    body = ma.fields.String(required=True, validate=validate.Length(1, 1000))


class CommentSchema(Schema):
    id = Integer()
    user_id = Integer(validate=ID_RANGE)
    body = ma.fields.String()
    created_at = AwareDateTime()
    content_state = content_state_field()


class FollowSchema(Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))


class TimelineSchema(Schema):
    event_id = Integer(validate=ID_RANGE)
    transitions = ma.fields.List(ma.fields.Nested(TransitionSchema))
    comments = ma.fields.List(ma.fields.Nested(CommentSchema))


class EventListArgsSchema(PageArgsSchema):
    state = ma.fields.String(validate=validate.OneOf(OPEN_STATES + FINAL_STATES))
    category = ma.fields.String(validate=validate.Length(max=32))
    grid_id = Integer(validate=ID_RANGE)
    community_id = Integer(validate=ID_RANGE)
    overdue = ma.fields.Boolean(load_default=False)
    mine = ma.fields.Boolean(load_default=False)
    assigned = ma.fields.Boolean(load_default=False, metadata={"description": "assigned to me"})
    near = LatLng(load_default=None)
    radius_m = Integer(load_default=1000, validate=validate.Range(10, 50_000))


GridPageSchema = page_schema(GridSchema, "GridPageSchema")
LeaderPageSchema = page_schema(LeaderSchema, "LeaderPageSchema")
CategoryPageSchema = page_schema(CategorySchema, "CategoryPageSchema")
TimeLimitPageSchema = page_schema(TimeLimitSchema, "TimeLimitPageSchema")
EventPageSchema = page_schema(EventSchema, "EventPageSchema")
