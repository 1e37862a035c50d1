"""The lifecycle of a grid event: one table of its actions, each with who
may take it and what it does (an action the state does not allow answers
409 with the allowed ones)::

    unverified --confirm--> reported --accept--> accepted
    reported --reject(reason)--> rejected / --duplicate(of)--> duplicate
    accepted --handle_self--> in_progress / --dispatch(to org or person)--> dispatched
    dispatched --take--> in_progress / --return(reason)--> accepted
    in_progress --extend(hours)--> in_progress, approved by the dispatcher (approve_extension)
    in_progress --resolve(note, photos)--> resolved
    resolved --verify_ok--> closed / --verify_fail(reason)--> dispatched (rework + 1)
    closed --reopen (the reporter, within 7 days)--> accepted
    any open state --escalate(reason)--> same state, owned one level up

The table is :data:`LIFECYCLE`, run by :class:`app.common.transitions.Machine`
(:data:`MACHINE`). Taking an action is always: the event must be visible
(else 404), its state must allow the action (409 ``action_not_allowed``),
the user must be the one its rule names (403, :data:`WHO`); then the action
is claimed by one conditional UPDATE on the state and owner as read (and the
pending extension, for the extension actions), so that of concurrent actions
exactly one wins and the others get 409 ``state_changed``; then its handler
does the action's work, the timeline row is written, the people concerned
are told, the event's figures move in the per-day aggregate
(:mod:`app.grid.daily`), and the whole commits once. Any domain error rolls it back.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.auth.models import User
from app.auth.permissions import roles_over
from app.common.db import utcnow
from app.common.rows import get_row
from app.common.transitions import Machine, Transition
from app.common.work import unit_of_work
from app.errors import Forbidden, field_error
from app.extensions import db
from app.grid import daily, photos
from app.grid.access import handlers_of, is_handler, is_lead, is_owner, visible_event
from app.grid.deadlines import finish_step, start_step
from app.grid.errors import (
    ActionNotAllowed,
    InvalidDuplicate,
    MissingField,
    NoHigherLevel,
    NoPendingExtension,
    ReopenExpired,
)
from app.grid.escalation import next_level
from app.grid.models import FINAL_STATES, LEADER_ROLES, OPEN_STATES, EventCategory, EventTransition, GridEvent
from app.orgs.models import OrgNode
from app.subscriptions.services import announce

REOPEN_DAYS = 7

WHO: dict[str, Callable[[User, GridEvent], bool]] = {
    "owner": is_owner,
    "lead": is_lead,
    "handler": is_handler,
    "verifier": lambda u, e: is_owner(u, e) or is_lead(u, e),
    "dispatcher": lambda u, e: e.dispatcher_id == u.id or is_owner(u, e),
    "reporter": lambda u, e: e.reporter_id == u.id,
}


@dataclass
class Step:
    """One action under way: what its handler reads (the claimed event, the
    arguments, the time) and what it leaves for the timeline row."""

    user: User
    event: GridEvent
    args: dict
    now: dt.datetime
    data: dict = field(default_factory=dict)
    finished: tuple[str | None, bool | None] = (None, None)  # the step it finished, in time?
    photo_ids: list[int] = field(default_factory=list)  # attached to the timeline row

    def need(self, name: str):
        if not self.args.get(name):
            raise MissingField(name)
        return self.args[name]


# ---- what each action does, once it is claimed -------------------------------------------

def _end(step: Step) -> None:
    start_step(step.event, None, step.now)
    step.event.closed_at = step.now


def _confirm(step: Step) -> None:
    pass  # a leader vouches for the report; the accept step keeps running


def _accept(step: Step) -> None:
    step.finished = finish_step(step.event, step.now)
    start_step(step.event, "handle", step.now)


def _reject(step: Step) -> None:
    step.data["reason"] = step.need("reason")
    step.finished = finish_step(step.event, step.now)
    _end(step)


def _duplicate(step: Step) -> None:
    event = step.event
    original = get_row(GridEvent, step.need("duplicate_of"))
    if original is None or original.id == event.id or original.community_id != event.community_id:
        raise InvalidDuplicate()
    step.data["duplicate_of"] = event.duplicate_of_id = original.id
    step.finished = finish_step(event, step.now)
    _end(step)


def _handle_self(step: Step) -> None:
    event = step.event
    event.assignee_org_id, event.assignee_user_id, event.dispatcher_id = event.owner_org_id, None, step.user.id


def _dispatch(step: Step) -> None:
    to_org, to_user = step.args.get("to_org_id"), step.args.get("to_user_id")
    if bool(to_org) == bool(to_user):
        raise MissingField("to_org_id")
    if to_org and get_row(OrgNode, to_org) is None:
        raise field_error("to_org_id", "No such organization.")
    if to_user and get_row(User, to_user) is None:
        raise field_error("to_user_id", "No such user.")
    event = step.event
    event.assignee_org_id, event.assignee_user_id, event.dispatcher_id = to_org, to_user, step.user.id
    step.data.update({"to_org_id": to_org, "to_user_id": to_user})


def _take(step: Step) -> None:
    pass  # the handler starts; the handle step keeps running


def _return(step: Step) -> None:
    step.data["reason"] = step.need("reason")
    step.event.assignee_org_id = step.event.assignee_user_id = None


def _extend(step: Step) -> None:
    hours = float(step.need("hours"))
    step.event.pending_extension_hours = step.data["hours"] = hours


def _approve_extension(step: Step) -> None:
    event = step.event
    hours, deadline = event.pending_extension_hours, event.deadline_at
    if not hours or deadline is None:  # in progress, an event always has its deadline
        raise NoPendingExtension()
    event.deadline_at = deadline + dt.timedelta(hours=hours)
    step.data.update({"hours": hours, "deadline_at": event.deadline_at.isoformat()})
    event.pending_extension_hours = None


def _resolve(step: Step) -> None:
    step.photo_ids = photos.within_limit(step.args.get("photo_ids"))
    step.finished = finish_step(step.event, step.now)
    start_step(step.event, "verify", step.now)


def _verify_ok(step: Step) -> None:
    step.finished = finish_step(step.event, step.now)
    _end(step)


def _verify_fail(step: Step) -> None:
    event = step.event
    step.data["reason"] = step.need("reason")
    step.finished = finish_step(event, step.now)
    event.rework_count += 1
    if event.assignee_org_id is None and event.assignee_user_id is None:
        event.assignee_org_id = event.owner_org_id
    start_step(event, "handle", step.now)


def _reopen(step: Step) -> None:
    event = step.event
    if event.closed_at is None or step.now - event.closed_at > dt.timedelta(days=REOPEN_DAYS):
        raise ReopenExpired({"days": REOPEN_DAYS})
    event.closed_at = None
    event.assignee_org_id = event.assignee_user_id = None
    start_step(event, "handle", step.now)


def _escalate(step: Step) -> None:
    event = step.event
    step.data["reason"] = step.need("reason")
    higher = next_level(event)
    if higher is None:
        raise NoHigherLevel()
    step.data.update({"from_org_id": event.owner_org_id, "to_org_id": higher.id})
    event.owner = higher
    event.escalations += 1


# The lifecycle: (from-states, action, who) -> to-state (None: the state stays), and its handler.
LIFECYCLE: tuple[tuple[Transition, Callable[[Step], None]], ...] = (
    (Transition("confirm", ("unverified",), "reported", who="lead"), _confirm),
    (Transition("accept", ("reported",), "accepted", who="owner"), _accept),
    (Transition("reject", ("unverified", "reported"), "rejected", who="owner"), _reject),
    (Transition("duplicate", ("unverified", "reported"), "duplicate", who="owner"), _duplicate),
    (Transition("handle_self", ("accepted",), "in_progress", who="owner"), _handle_self),
    (Transition("dispatch", ("accepted",), "dispatched", who="owner"), _dispatch),
    (Transition("take", ("dispatched",), "in_progress", who="handler"), _take),
    (Transition("return", ("dispatched",), "accepted", who="handler"), _return),
    (Transition("extend", ("in_progress",), None, who="handler"), _extend),
    (Transition("approve_extension", ("in_progress",), None, who="dispatcher"), _approve_extension),
    (Transition("resolve", ("in_progress",), "resolved", who="handler"), _resolve),
    (Transition("verify_ok", ("resolved",), "closed", who="verifier"), _verify_ok),
    (Transition("verify_fail", ("resolved",), "dispatched", who="verifier"), _verify_fail),
    (Transition("reopen", ("closed",), "accepted", who="reporter"), _reopen),
    (Transition("escalate", OPEN_STATES, None, who="owner"), _escalate),
)
MACHINE = Machine(GridEvent, (transition for transition, _ in LIFECYCLE), not_allowed=ActionNotAllowed)
HANDLERS = {transition.action: handler for transition, handler in LIFECYCLE}


def allowed_actions(user: User, event: GridEvent) -> list[str]:
    """The actions the event's state allows and the user may take, in table order."""
    return MACHINE.possible(event, lambda t: WHO[t.who](user, event))


def _actor_role(user: User, event: GridEvent, who: str) -> str:
    """The role the user acts in: taken where the permission came from (the
    grid's Party group for leaders, the owner for admins, the assignee org for
    a handling org), before the action changes any of them."""
    if who == "reporter":
        return "reporter"
    nodes: list[OrgNode]
    if who == "handler":
        if event.assignee_user_id == user.id:
            return "handler"
        assignee = db.session.get(OrgNode, event.assignee_org_id) if event.assignee_org_id else None
        nodes = [assignee] if assignee else []
    elif who == "lead":
        nodes = [event.grid.party_group]
    elif who == "verifier":
        nodes = [event.owner, event.grid.party_group]
    else:
        nodes = [event.owner]
    roles = set().union(*(roles_over(user, node.path) for node in nodes))
    for role in ("district_admin", "org_admin", *LEADER_ROLES):
        if role in roles:
            return role
    return who


def transition(user: User, event_id: int, action: str, args: dict) -> GridEvent:
    """Take ``action`` on an event, if its state allows it and the user may.
    An action that fails changes nothing (nor claims its photos)."""
    with unit_of_work():
        return _transition(user, event_id, action, args)


def _claim_conditions(event: GridEvent, action: str) -> list:
    """What the claim holds besides the state, so that concurrent actions that
    keep the state serialize too: the owner the who-check was made against
    (escalate moves it without changing the state), and for the extension
    actions the pending request as it was read."""
    conditions = [GridEvent.owner_org_id == event.owner_org_id]
    if action in ("extend", "approve_extension"):
        pending = GridEvent.pending_extension_hours
        conditions.append(pending.is_(None) if event.pending_extension_hours is None
                          else pending == event.pending_extension_hours)
    return conditions


def _transition(user: User, event_id: int, action: str, args: dict) -> GridEvent:
    event = visible_event(user, event_id)
    try:
        rule = MACHINE.check(event, action)
    except ActionNotAllowed as refused:
        refused.details["allowed_actions"] = allowed_actions(user, event)
        raise
    if not WHO[rule.who](user, event):
        raise Forbidden({"allowed_actions": allowed_actions(user, event)})
    actor_role = _actor_role(user, event, rule.who)
    now = utcnow()
    before = MACHINE.apply(event, action, where=_claim_conditions(event, action))
    # the claim changed the state only: the row it returned, in the state it came from, is what was counted
    counted = daily.contribution(event, before)
    step = Step(user, event, args, now)
    HANDLERS[action](step)
    event.is_open = event.state not in FINAL_STATES
    finished_step, in_time = step.finished
    record = EventTransition(event_id=event.id, actor_id=user.id, actor_role=actor_role, action=action,
                             from_state=before, to_state=event.state, note=args.get("note") or "",
                             data=step.data, step=finished_step, in_time=in_time, created_at=now)
    db.session.add(record)
    if step.photo_ids:
        db.session.flush()
        photos.attach(user, event, step.photo_ids, action, transition_id=record.id)
    _tell(step, action, record)
    daily.move(counted, daily.contribution(event))  # last: the aggregate's rows stay locked until the commit
    return event


def _tell(step: Step, action: str, record: EventTransition) -> None:
    """Dispatched: the handler. Returned by the handler: the dispatcher; sent
    back for rework: the handler. Closed: the reporter. Never the actor."""
    event, reason = step.event, step.data.get("reason")
    who: Sequence[int | None]
    note: str | None
    if action == "dispatch":
        who, name, status, when = handlers_of(event), "grid_event_dispatched", "待处置", event.deadline_at
        category = db.session.get(EventCategory, event.category)
        note = category.name if category else event.category
    elif action == "return":
        who, name, status, when, note = [event.dispatcher_id], "grid_event_returned", "已退回", step.now, reason
    elif action == "verify_fail":
        who, name, status, when, note = handlers_of(event), "grid_event_returned", "返工", step.now, reason
    elif action == "verify_ok":
        who, name, status, when, note = [event.reporter_id], "grid_event_closed", "已结案", step.now, \
            "感谢您的上报"
    else:
        return
    told = [user_id for user_id in who if user_id is not None and user_id != step.user.id]
    if not told:
        return
    db.session.flush()  # the transition's id tells this step from a later one alike
    announce(told, name, event.id, {"title": event.title, "status": status, "time": when, "note": note},
             version=record.id, event_id=event.id, title=event.title, action=action, reason=reason)
