"""Grids, leaders, categories and time limits, and grid events."""
from __future__ import annotations

from flask import Response, url_for

from app.auth.current import current_user, login_required
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.common.transitions import StateChanged
from app.errors import Forbidden, NotFound, ValidationFailed
from app.grid import categories, follows, grids, lifecycle, photos, reading, reporting
from app.grid.access import visible_event
from app.grid.errors import (
    ActionNotAllowed,
    InvalidBoundary,
    InvalidDuplicate,
    NoGrid,
    NoHigherLevel,
    NoPendingExtension,
    ReopenExpired,
    TooManyPhotos,
    UnknownCategory,
)
from app.grid.schemas import (
    CategoryPageSchema,
    CategorySchema,
    CommentInSchema,
    CommentSchema,
    EventInSchema,
    EventListArgsSchema,
    EventPageSchema,
    EventSchema,
    FollowSchema,
    GridCreateSchema,
    GridInSchema,
    GridListArgsSchema,
    GridPageSchema,
    GridSchema,
    LeaderInSchema,
    LeaderPageSchema,
    LeaderSchema,
    ReportedSchema,
    TimeLimitInSchema,
    TimeLimitPageSchema,
    TimeLimitSchema,
    TimelineSchema,
    TransitionInSchema,
)
from app.moderation.services import CHECK_ERRORS
from app.orgs.services import RoleNotGrantable, UserNotFound
from app.uploads.services import UploadNotUsable

blp = Blueprint("grid", __name__, description="Grid governance and grid events")


@blp.route("/grids", methods=["POST"])
@login_required
@blp.arguments(GridCreateSchema)
@blp.response(201, GridSchema)
@blp.errors(NotFound, Forbidden, InvalidBoundary, ValidationFailed)
def create_grid(body):
    """A grid of a community (its grid Party group is created with it)."""
    grid = grids.create_grid(current_user(), body["community_id"], body["name"],
                                body["households"], body["boundary"])
    return grid, 201, {"Location": url_for("grid.get_grid", grid_id=grid.id)}


@blp.route("/grids", methods=["GET"])
@login_required
@blp.arguments(GridListArgsSchema, location="query")
@blp.response(200, GridPageSchema)
@blp.errors(NotFound, ValidationFailed)
def list_grids(args):
    """Grids of a community or of your scope; ``at=lat,lng`` finds your grid
    that contains the point (one you lead or administer, of the community you
    reported your residence to, or that you reported an event in); another
    community's grid is never shown."""
    return grids.list_grids(current_user(), args.get("community_id"), args["at"], args["limit"],
                               args["cursor"])


@blp.route("/grids/<int:grid_id>", methods=["GET"])
@login_required
@blp.response(200, GridSchema)
@blp.errors(NotFound)
def get_grid(grid_id):
    """One grid (its community's admins and above, and its leaders)."""
    return grids.visible_grid(current_user(), grid_id)


@blp.route("/grids/<int:grid_id>", methods=["PATCH"])
@login_required
@blp.arguments(GridInSchema)
@blp.response(200, GridSchema)
@blp.errors(NotFound, Forbidden, InvalidBoundary, ValidationFailed)
def update_grid(body, grid_id):
    """Change a grid's name, households or boundary."""
    return grids.update_grid(current_user(), grid_id, body)


@blp.route("/grids/<int:grid_id>/leaders", methods=["POST"])
@login_required
@blp.arguments(LeaderInSchema)
@blp.response(201, LeaderSchema)
@blp.errors(NotFound, Forbidden, RoleNotGrantable, UserNotFound, ValidationFailed)
def assign_leader(body, grid_id):
    """Make a user a grid, building (with buildings) or lane (with lanes) leader."""
    leader = grids.assign_leader(current_user(), grid_id, body["user_id"], body["role"],
                                    body["buildings"], body["lanes"])
    return leader, 201, {"Location": url_for("grid.list_leaders", grid_id=grid_id)}


@blp.route("/grids/<int:grid_id>/leaders", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, LeaderPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_leaders(args, grid_id):
    """The grid's leaders."""
    return grids.leader_page(current_user(), grid_id, args["limit"], args["cursor"])


@blp.route("/grid-event-categories", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, CategoryPageSchema)
@blp.errors(ValidationFailed)
def list_categories(args):
    """Event categories and the level that handles each, by code."""
    return categories.category_page(args["limit"], args["cursor"])


@blp.route("/grid-event-categories/<code>", methods=["PUT"])
@login_required
@blp.arguments(CategorySchema)
@blp.response(200, CategorySchema)
@blp.errors(Forbidden, ValidationFailed)
def put_category(body, code):
    """Add or change a category (district admins)."""
    return categories.upsert_category(current_user(), code, body["name"], body["level"], body["active"])


@blp.route("/grid-time-limits", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, TimeLimitPageSchema)
@blp.errors(ValidationFailed)
def list_time_limits(args):
    """Hours for each step, per category (by code) and urgency (urgent first;
    ``default``: not overridden)."""
    return categories.time_limit_page(args["limit"], args["cursor"])


@blp.route("/grid-time-limits/<category>/<any(normal, urgent):urgency>", methods=["PUT"])
@login_required
@blp.arguments(TimeLimitInSchema)
@blp.response(200, TimeLimitSchema)
@blp.errors(Forbidden, UnknownCategory, ValidationFailed)
def put_time_limit(body, category, urgency):
    """Set the limits of one category and urgency (district admins)."""
    return categories.set_limits(current_user(), category, urgency,
                               (body["accept_hours"], body["handle_hours"], body["verify_hours"]))


@blp.route("/grid-events", methods=["POST"])
@login_required
@idempotent
@blp.arguments(EventInSchema)
@blp.response(201, ReportedSchema)
@blp.errors(UnknownCategory, NoGrid, TooManyPhotos, UploadNotUsable,
            ValidationFailed, *CHECK_ERRORS, idempotent=True)
def report_event(body):
    """Report an event. Leaders of the grid report it as ``reported``; members
    and residents as ``unverified``. ``possible_duplicates`` lists open events
    of the same category within 100 m in the last 7 days that you can see."""
    user = current_user()
    reported = reporting.report_event(user, body)
    reading.present(user, [reported.event, *reported.possible_duplicates])
    return reported, 201, {"Location": url_for("grid.get_event", event_id=reported.event.id)}


@blp.route("/grid-events", methods=["GET"])
@login_required
@blp.arguments(EventListArgsSchema, location="query")
@blp.response(200, EventPageSchema)
@blp.errors(ValidationFailed)
def list_events(args):
    """Events you may see (your subtree, your grid, your reports, assigned to
    you), newest first, by state, category, grid, community, overdue, mine,
    assigned, near."""
    user = current_user()
    page = reading.list_events(user, args, args["limit"], args["cursor"])
    reading.present(user, page.items)
    return page


@blp.route("/grid-events/<int:event_id>", methods=["GET"])
@login_required
@blp.response(200, EventSchema)
@blp.errors(NotFound)
def get_event(event_id):
    """One event, with its deadline, traffic light and the actions you may take."""
    user = current_user()
    return reading.present(user, [visible_event(user, event_id)], with_actions=True)[0]


@blp.route("/grid-events/<int:event_id>/transitions", methods=["POST"])
@login_required
@idempotent
@blp.arguments(TransitionInSchema)
@blp.response(200, EventSchema)
@blp.errors(NotFound, Forbidden, ActionNotAllowed, StateChanged, ReopenExpired,
            InvalidDuplicate, NoHigherLevel, NoPendingExtension,
            TooManyPhotos, UploadNotUsable, ValidationFailed, idempotent=True)
def transition(body, event_id):
    """Move the event through its lifecycle (see the action list); 409
    ``action_not_allowed`` lists the actions the state allows, 409
    ``state_changed`` when another request changed the event first, 403 when
    you may not take this one."""
    user = current_user()
    event = lifecycle.transition(user, event_id, body.pop("action"), body)
    return reading.present(user, [event], with_actions=True)[0]


@blp.route("/grid-events/<int:event_id>/timeline", methods=["GET"])
@login_required
@blp.response(200, TimelineSchema)
@blp.errors(NotFound)
def timeline(event_id):
    """Every step (who, role, action, from, to, note, when, in time?) and comments."""
    return reading.timeline(current_user(), event_id)


@blp.route("/grid-events/<int:event_id>/comments", methods=["POST"])
@login_required
@idempotent
@blp.arguments(CommentInSchema)
@blp.response(201, CommentSchema)
@blp.errors(NotFound, ValidationFailed, *CHECK_ERRORS, idempotent=True)
def comment(body, event_id):
    """Comment on an event you can see."""
    entry = follows.comment(current_user(), event_id, body["body"])
    return entry, 201, {"Location": url_for("grid.timeline", event_id=event_id)}


@blp.route("/grid-events/<int:event_id>/follow", methods=["POST"])
@login_required
@blp.arguments(FollowSchema)
@blp.response(200, EventSchema)
@blp.errors(NotFound, ValidationFailed)
def follow(body, event_id):
    """Add your voice to an open event you can see instead of filing a duplicate."""
    user = current_user()
    return reading.present(user, [follows.follow(user, event_id, body["note"])])[0]


@blp.route("/grid-events/<int:event_id>/photos/<int:upload_id>", methods=["GET"])
@login_required
@blp.doc(responses={"200": {"description": "The photo",
                            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.errors(NotFound)
def event_photo(event_id, upload_id):
    """A photo of an event you can see."""
    upload, data = photos.event_photo(current_user(), event_id, upload_id)
    return Response(data, mimetype=upload.content_type)
