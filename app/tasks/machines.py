"""The lifecycles of volunteer service, one table per model.

Every state change of a task, a participation, a help request or a
correction request is a row below, claimed through
:meth:`app.common.transitions.Machine.apply` (one conditional UPDATE), so
that of N concurrent changes exactly one wins and the rest answer 409
``state_changed``. A state that does not allow the action answers 409
``invalid_state``. Notices and ledger rows go into the same transaction.

``who`` names who may take the action:

* ``organizer`` — an admin with ``tasks.manage`` over the task's community;
* ``volunteer`` — the participation's own volunteer;
* ``confirmer`` — the resident who asked (or the organizer, for a task
  without a help request);
* ``resident`` — the help request's requester;
* ``system`` — a consequence of another transition, or a job.

Lock order (PostgreSQL row locks; SQLite has one write lock): a change that
touches a task and its participations claims the task row first, then a
volunteer's row, then participations; so no two requests wait on each other
in a cycle.
"""
from __future__ import annotations

from app.common.transitions import Machine, Transition
from app.errors import Conflict
from app.tasks.models import CorrectionRequest, HelpRequest, Participation, Task


class InvalidState(Conflict):
    code = "invalid_state"
    zh = "当前状态为“{state}”，不能执行此操作。"
    en = "This cannot be done while the state is {state}."


OPEN_TASK_STATES = ("draft", "published", "in_progress")

TASK = Machine(Task, [
    Transition("publish", ("draft",), "published", who="organizer"),
    Transition("start", ("published",), "in_progress", who="organizer"),
    Transition("complete", ("published", "in_progress"), "completed", who="organizer"),
    Transition("cancel", OPEN_TASK_STATES, "cancelled", who="organizer"),
    Transition("edit", ("draft", "published"), None, who="organizer"),
    # claims on the task row that keep its state: the task is still open while they commit
    Transition("accept", ("published",), None, who="volunteer"),  # + where a place is free
    Transition("join_waitlist", ("published",), None, who="volunteer"),
    Transition("withdraw", ("published", "in_progress"), None, who="volunteer"),
    Transition("check_in", ("published", "in_progress"), "in_progress", who="volunteer"),
], not_allowed=InvalidState)

PARTICIPATION = Machine(Participation, [
    Transition("rejoin", ("withdrawn",), None, who="volunteer"),  # to accepted | waitlisted
    Transition("withdraw", ("accepted", "waitlisted"), "withdrawn", who="volunteer"),
    Transition("promote", ("waitlisted",), "accepted", who="system"),
    Transition("check_in", ("accepted",), "checked_in", who="volunteer"),
    Transition("check_out", ("checked_in",), "checked_out", who="volunteer"),
    Transition("close_forgotten", ("checked_in",), "checked_out", who="system"),
    Transition("set_times", ("checked_in", "checked_out"), "checked_out", who="organizer"),
    Transition("no_show", ("accepted",), "no_show", who="organizer"),
    Transition("confirm", ("checked_out",), "confirmed", who="confirmer"),
    Transition("correct", ("confirmed",), None, who="organizer"),  # corrections one at a time
    # the task was cancelled: everyone not yet credited
    Transition("cancel", ("waitlisted", "accepted", "checked_in", "checked_out"), "cancelled", who="system"),
], not_allowed=InvalidState)

HELP_REQUEST = Machine(HelpRequest, [
    Transition("dispatch", ("submitted",), "dispatched", who="organizer"),
    Transition("reject", ("submitted",), "rejected", who="organizer"),
    Transition("cancel", ("submitted",), "cancelled", who="resident"),
    Transition("close", ("dispatched",), "closed", who="system"),  # its task completed or was cancelled
], not_allowed=InvalidState)

CORRECTION_REQUEST = Machine(CorrectionRequest, [
    Transition("apply", ("pending",), "applied", who="organizer"),
    Transition("reject", ("pending",), "rejected", who="organizer"),
], not_allowed=InvalidState)
