"""Volunteer service: volunteers, help requests, tasks, acceptance, hours."""
from __future__ import annotations

import math

from flask import Response, url_for

from app.auth.current import current_user, login_required
from app.common import code_images
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.common.transitions import StateChanged
from app.errors import Forbidden, NotFound, ValidationFailed
from app.moderation.services import CHECK_ERRORS
from app.tasks import (
    accepting,
    help_requests,
    ledger,
    listing,
    presence,
    publishing,
    volunteers,
)
from app.tasks.errors import (
    EndsBeforeStart,
    InvalidTaskCode,
    LocationRequired,
    MembersOnly,
    NeedsReview,
    NotACommunity,
    NotAVolunteer,
    NotTaskTime,
    NotYourParticipation,
    OutOfRange,
    PlacesBelowTaken,
    ScheduleConflict,
    TaskFull,
    TaskNotOpen,
    WithdrawCutoffPassed,
)
from app.tasks.machines import InvalidState
from app.tasks.schemas import (
    AcceptSchema,
    ConfirmSchema,
    CorrectionRequestInSchema,
    CorrectionRequestPageSchema,
    CorrectionRequestSchema,
    CorrectionSchema,
    HelpRequestInSchema,
    HelpRequestListArgsSchema,
    HelpRequestPageSchema,
    HelpRequestSchema,
    HoursEntrySchema,
    MyTasksArgsSchema,
    OptionalReasonSchema,
    ParticipationPageSchema,
    ParticipationSchema,
    PresenceSchema,
    ReasonSchema,
    ServedParticipationPageSchema,
    SetTimesSchema,
    TaskCodeSchema,
    TaskCreateSchema,
    TaskInSchema,
    TaskListArgsSchema,
    TaskPageSchema,
    TaskSchema,
    VolunteerInSchema,
    VolunteerRecordSchema,
    VolunteerSchema,
)

blp = Blueprint("tasks", __name__, description="Volunteer service (点单、派单、接单、评单)")
PNG = {"200": {"description": "A QR image",
               "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}
STATE = (InvalidState, StateChanged)


@blp.route("/me/volunteer", methods=["PUT"])
@login_required
@blp.arguments(VolunteerInSchema)
@blp.response(200, VolunteerSchema)
@blp.alt_response(201, schema=VolunteerSchema, description="Newly registered")
@blp.errors(NotACommunity, ValidationFailed, *CHECK_ERRORS)
def register_volunteer(body):
    """Register as a volunteer (or update your skills, community, availability)."""
    volunteer, created = volunteers.register_volunteer(current_user(), body["community_id"],
                                                       body["skills"], body["availability"], body["name"])
    return volunteer, 201 if created else 200


@blp.route("/me/volunteer", methods=["GET"])
@login_required
@blp.response(200, VolunteerSchema)
@blp.errors(NotFound)
def my_volunteer():
    """Your volunteer registration."""
    return volunteers.my_volunteer(current_user())


@blp.route("/help-requests", methods=["POST"])
@login_required
@idempotent
@blp.arguments(HelpRequestInSchema)
@blp.response(201, HelpRequestSchema)
@blp.errors(NotACommunity, EndsBeforeStart, ValidationFailed, *CHECK_ERRORS, idempotent=True)
def create_help_request(body):
    """Ask for help (点单): what, where, when, and a phone the volunteer may call."""
    request = help_requests.create_help_request(current_user(), body)
    return request, 201, {"Location": url_for("tasks.get_help_request", request_id=request.id)}


@blp.route("/help-requests", methods=["GET"])
@login_required
@blp.arguments(HelpRequestListArgsSchema, location="query")
@blp.response(200, HelpRequestPageSchema)
@blp.errors(ValidationFailed)
def list_help_requests(args):
    """Your requests (``mine=true``) or, for admins, those of your communities."""
    return help_requests.list_help_requests(current_user(), args.get("community_id"), args.get("state"),
                                            args["mine"], args["limit"], args["cursor"])


@blp.route("/help-requests/<int:request_id>", methods=["GET"])
@login_required
@blp.response(200, HelpRequestSchema)
@blp.errors(NotFound)
def get_help_request(request_id):
    """A request: to the resident, the community's admins and the volunteers
    who accepted its task (only they see the phone in full)."""
    return help_requests.visible_help_request(current_user(), request_id)


@blp.route("/help-requests/<int:request_id>/participations", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ServedParticipationPageSchema)
@blp.errors(NotFound, ValidationFailed)
def help_request_volunteers(args, request_id):
    """The volunteers on the task your request became: who accepted, came and
    left; confirm and rate each who served with ``POST
    /participations/{id}/confirm`` (评单). For the resident who asked and the
    community's admins."""
    return help_requests.help_request_volunteers(current_user(), request_id, args["limit"], args["cursor"])


@blp.route("/help-requests/<int:request_id>/cancel", methods=["POST"])
@login_required
@blp.response(200, HelpRequestSchema)
@blp.errors(NotFound, *STATE)
def cancel_help_request(request_id):
    """The resident withdraws a request not yet dispatched."""
    return help_requests.cancel_help_request(current_user(), request_id)


@blp.route("/help-requests/<int:request_id>/reject", methods=["POST"])
@login_required
@blp.arguments(ReasonSchema)
@blp.response(200, HelpRequestSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def reject_help_request(body, request_id):
    """The community declines a request, with the reason the resident sees."""
    return help_requests.reject_help_request(current_user(), request_id, body["reason"])


@blp.route("/tasks", methods=["POST"])
@login_required
@blp.arguments(TaskCreateSchema)
@blp.response(201, TaskSchema)
@blp.errors(NotFound, Forbidden, NotACommunity, EndsBeforeStart, *STATE,
            ValidationFailed, *CHECK_ERRORS)
def create_task(body):
    """Publish work (派单): a draft task in your community, on its own or from a
    help request (``help_request_id``)."""
    task = publishing.create_task(current_user(), body)
    return task, 201, {"Location": url_for("tasks.get_task", task_id=task.id)}


@blp.route("/tasks", methods=["GET"])
@login_required
@blp.arguments(TaskListArgsSchema, location="query")
@blp.response(200, TaskPageSchema)
@blp.errors(NotFound, ValidationFailed)
def list_tasks(args):
    """Tasks by community (subtree), state, category; ``open=true`` for places
    left; ``near=lat,lng`` nearest first."""
    return listing.list_tasks(current_user(), community_id=args.get("community_id"),
                              state=args.get("state"), category=args.get("category"),
                              open_only=args["open"], near=args["near"], radius_m=args["radius_m"],
                              limit=args["limit"], cursor=args["cursor"])


@blp.route("/tasks/<int:task_id>", methods=["GET"])
@login_required
@blp.response(200, TaskSchema)
@blp.errors(NotFound)
def get_task(task_id):
    """One task."""
    return publishing.visible_task(current_user(), task_id)


@blp.route("/tasks/<int:task_id>", methods=["PATCH"])
@login_required
@blp.arguments(TaskInSchema)
@blp.response(200, TaskSchema)
@blp.errors(NotFound, Forbidden, EndsBeforeStart, *STATE, PlacesBelowTaken,
            ValidationFailed, *CHECK_ERRORS)
def update_task(body, task_id):
    """Edit a draft or published task; ``places`` never below the places taken."""
    return publishing.update_task(current_user(), task_id, body)


@blp.route("/tasks/<int:task_id>/publish", methods=["POST"])
@login_required
@blp.arguments(OptionalReasonSchema)
@blp.response(200, TaskSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def publish_task(body, task_id):
    """Publish a draft: volunteers can now accept it."""
    return publishing.transition_task(current_user(), task_id, "publish", body.get("reason"))


@blp.route("/tasks/<int:task_id>/start", methods=["POST"])
@login_required
@blp.arguments(OptionalReasonSchema)
@blp.response(200, TaskSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def start_task(body, task_id):
    """Mark the task under way."""
    return publishing.transition_task(current_user(), task_id, "start", body.get("reason"))


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
@blp.arguments(OptionalReasonSchema)
@blp.response(200, TaskSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def complete_task(body, task_id):
    """Mark the task done (its help request closes)."""
    return publishing.transition_task(current_user(), task_id, "complete", body.get("reason"))


@blp.route("/tasks/<int:task_id>/cancel", methods=["POST"])
@login_required
@blp.arguments(OptionalReasonSchema)
@blp.response(200, TaskSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def cancel_task(body, task_id):
    """Cancel the task; everyone who accepted or waits is told."""
    return publishing.transition_task(current_user(), task_id, "cancel", body.get("reason"))


@blp.route("/tasks/<int:task_id>/accept", methods=["POST"])
@login_required
@idempotent
@blp.arguments(AcceptSchema)
@blp.response(201, ParticipationSchema)
@blp.alt_response(200, schema=ParticipationSchema, description="You already hold this task")
@blp.errors(NotFound, NotAVolunteer, TaskNotOpen, TaskFull, ScheduleConflict,
            MembersOnly, *STATE, ValidationFailed, idempotent=True)
def accept_task(body, task_id):
    """Accept a task (接单): one place, never more than the task has; with
    ``waitlist=true`` a full task puts you on its waitlist."""
    participation, created = accepting.accept_task(current_user(), task_id, body["waitlist"])
    return accepting.with_waitlist_positions([participation])[0], 201 if created else 200


@blp.route("/tasks/<int:task_id>/withdraw", methods=["POST"])
@login_required
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, WithdrawCutoffPassed, *STATE)
def withdraw(task_id):
    """Give your place back (until the cutoff before the start); the waitlist moves up."""
    return accepting.withdraw(current_user(), task_id)


@blp.route("/tasks/<int:task_id>/check-in", methods=["POST"])
@login_required
@blp.arguments(PresenceSchema)
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, *STATE, NotTaskTime, LocationRequired, OutOfRange, InvalidTaskCode,
            ValidationFailed)
def check_in(body, task_id):
    """Arrive: your location within the task's radius, or the organizer's code."""
    return presence.check_in(current_user(), task_id, body["location"], body["code"])


@blp.route("/tasks/<int:task_id>/check-out", methods=["POST"])
@login_required
@blp.arguments(PresenceSchema)
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, *STATE, NotTaskTime, LocationRequired, OutOfRange, InvalidTaskCode,
            ValidationFailed)
def check_out(body, task_id):
    """Leave: the same proof as arriving; your hours are the time between."""
    return presence.check_out(current_user(), task_id, body["location"], body["code"])


@blp.route("/tasks/<int:task_id>/code", methods=["GET"])
@login_required
@blp.response(200, TaskCodeSchema)
@blp.errors(NotFound, Forbidden)
def task_code(task_id):
    """The organizer's rotating check-in code for this task."""
    return presence.task_code(current_user(), task_id)


@blp.route("/tasks/<int:task_id>/code.png", methods=["GET"])
@login_required
@blp.doc(responses=PNG)
@blp.errors(NotFound, Forbidden, code_images.CodeImageUnavailable)
def task_code_png(task_id):
    """The organizer's current check-in code as a QR image (the console shows it on site);
    with ``QR_KIND=wxacode`` a mini-program code, kept while the code is valid."""
    code = presence.task_code(current_user(), task_id)
    ttl = math.ceil(code["refresh_in"]) + presence.CODE_GRACE_SECONDS  # until it stops being accepted
    return Response(code_images.code_png(code["token"], ttl), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


@blp.route("/tasks/<int:task_id>/participants", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ParticipationPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def task_participants(args, task_id):
    """Who accepted, waits, came and left (the organizer)."""
    return listing.task_participants(current_user(), task_id, args["limit"], args["cursor"])


@blp.route("/tasks/<int:task_id>/correction-requests", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, CorrectionRequestPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_corrections(args, task_id):
    """Volunteers' requests to correct their hours on this task, oldest first."""
    return ledger.list_corrections(current_user(), task_id, args["limit"], args["cursor"])


@blp.route("/me/tasks", methods=["GET"])
@login_required
@blp.arguments(MyTasksArgsSchema, location="query")
@blp.response(200, ParticipationPageSchema)
@blp.errors(ValidationFailed)
def my_tasks(args):
    """The tasks you accepted or wait for, newest first."""
    page = listing.my_tasks(current_user(), args.get("state"), args["limit"], args["cursor"])
    accepting.with_waitlist_positions(page.items)
    return page


@blp.route("/participations/<int:participation_id>/set-times", methods=["POST"])
@login_required
@blp.arguments(SetTimesSchema)
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def set_times(body, participation_id):
    """The organizer records the real service time (clears the review flag)."""
    return presence.set_times(current_user(), participation_id, body["checked_in_at"], body["checked_out_at"])


@blp.route("/participations/<int:participation_id>/no-show", methods=["POST"])
@login_required
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, Forbidden, *STATE, NotTaskTime)
def no_show(participation_id):
    """The organizer marks a volunteer who did not come."""
    return presence.mark_no_show(current_user(), participation_id)


@blp.route("/participations/<int:participation_id>/confirm", methods=["POST"])
@login_required
@idempotent
@blp.arguments(ConfirmSchema)
@blp.response(200, ParticipationSchema)
@blp.errors(NotFound, NotYourParticipation, *STATE, NeedsReview, ValidationFailed, *CHECK_ERRORS, idempotent=True)
def confirm(body, participation_id):
    """Confirm and rate the service (评单): credits the hours, counts one person-time."""
    return ledger.confirm(current_user(), participation_id, body["score"], body["comment"])


@blp.route("/participations/<int:participation_id>/corrections", methods=["POST"])
@login_required
@blp.arguments(CorrectionSchema)
@blp.response(201, HoursEntrySchema)
@blp.errors(NotFound, Forbidden, *STATE, ValidationFailed)
def correct_hours(body, participation_id):
    """The organizer corrects hours: a new ledger entry with a reason, never an edit."""
    entry = ledger.correct_hours(current_user(), participation_id, body["hours"], body["reason"],
                                 body["request_id"])
    return entry, 201, {"Location": url_for("tasks.volunteer_record")}


@blp.route("/participations/<int:participation_id>/correction-requests", methods=["POST"])
@login_required
@idempotent
@blp.arguments(CorrectionRequestInSchema)
@blp.response(201, CorrectionRequestSchema)
@blp.errors(NotFound, *STATE, ValidationFailed, idempotent=True)
def request_correction(body, participation_id):
    """A volunteer asks for a correction of their hours."""
    request = ledger.request_correction(current_user(), participation_id, body["hours"], body["reason"])
    return request, 201, {"Location": url_for("tasks.list_corrections", task_id=request.task_id)}


@blp.route("/correction-requests/<int:request_id>/reject", methods=["POST"])
@login_required
@blp.response(200, CorrectionRequestSchema)
@blp.errors(NotFound, Forbidden, *STATE)
def reject_correction(request_id):
    """The organizer declines a correction request."""
    return ledger.reject_correction(current_user(), request_id)


@blp.route("/me/volunteer-record", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, VolunteerRecordSchema)
@blp.errors(ValidationFailed)
def volunteer_record(args):
    """Your hours, person-times and the ratings you received, beside your
    ledger (``items``, newest first, paged by ``next_cursor``)."""
    return ledger.volunteer_record(current_user(), args["limit"], args["cursor"])
