"""Text content security: every text other people will read passes WeChat's
``msg_sec_check`` (version 2) on its write path, before anything is stored.

What is checked, and the scene each field is sent with (1 资料 profile,
2 评论 comment, 3 论坛 forum, 4 社交日志 social log)::

    kind            object                 field         scene
    volunteer       Volunteer              skills        1  (a profile)
    task            Task                   title         1  (a name)
    task            Task                   description   3  (a post others read)
    service_post    ServicePost            name          1  (a name)
    help_request    HelpRequest            description   3  (a request posted to the community)
    help_request    HelpRequest            address       3
    grid_event      GridEvent              title         3  (a report on the grid board)
    grid_event      GridEvent              description   3
    grid_comment    EventComment           body          2
    task_rating     Participation          comment       2  (评单: a rating's comment)
    post_rating     PostRating             comment       2
    plate_feedback  MerchantFeedback       comment       2

Empty fields are not sent; each field is one call, so a verdict names its field.

The three outcomes, per object:

* ``risky`` in any field: 422 ``content_rejected`` with ``details.field`` and
  ``details.label``; the whole request fails and nothing is stored (the check
  runs before the first write).
* ``review``: stored, ``content_state = "review"``: hidden from everyone but
  the author (who sees it marked) and the admins of its subtree, who find it
  in the queue (``/api/v1/moderation/texts``) and release or reject it.
* ``pass``: visible.

WeChat unreachable (:class:`~app.wechat.client.WeChatUnavailable`, its
transient errcodes, a timeout) follows ``CONTENT_CHECK_FAILURE``: ``open``
(the default) stores the object ``unchecked`` (shown: that is what failing
open means) with a queue item, and enqueues a re-check (job
``recheck:text:<item id>``); the periodic ``recheck-texts`` job re-enqueues
the items still unchecked, so a re-check that failed is not forgotten.
``closed`` answers 503 ``wechat_unavailable`` and stores nothing. A
:class:`~app.wechat.client.WeChatRejected` for the check itself (our openid,
our appid, the arguments) is not the text's fault and says nothing about
it: at write time it is treated like WeChat being unreachable, and when the
re-check meets it again (retrying cannot help) the item goes to ``review``,
so that a person decides rather than the text staying public unjudged.

Why a state column on each object *and* a shared ``moderation_items`` table:
the lists others read (tasks near me, a grid event's comments...) filter on
a column of the row they already scan (``content_state IN
('visible','unchecked')``), which needs no join and keeps them one indexed
query; the queue needs one list over every kind with the field, excerpt,
author, label, trace id and org to scope by, which one table gives. Items
exist only for texts that did not simply pass (the table stays small). An
object's ``content_state`` is always derived from its open items (the worst
of rejected > review > unchecked, else visible), in the same transaction
that changes them.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import False_

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize, can, scope_clause
from app.common.db import utcnow
from app.common.pagination import Page, keyset_page
from app.common.transitions import Machine, Transition
from app.common.work import unit_of_work
from app.errors import (
    RETRY_AFTER_SECONDS,
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from app.extensions import db
from app.jobs.queue import enqueue
from app.moderation.models import HIDDEN, OPEN_ITEM_STATES, SHOWN, ModerationItem
from app.notices.services import notify
from app.orgs.models import OrgNode
from app.wechat.client import get_wechat
from app.wechat.errors import WeChatRejected, WeChatUnavailable

log = logging.getLogger(__name__)

PERMISSION = "content.moderate"
EXCERPT = 200  # characters of the text the queue shows


@dataclass(frozen=True)
class Kind:
    model: str                 # "module:Class"
    scenes: dict[str, int]     # field -> msg_sec_check scene


KINDS: dict[str, Kind] = {
    "volunteer": Kind("app.tasks.models:Volunteer", {"skills": 1}),
    "task": Kind("app.tasks.models:Task", {"title": 1, "description": 3}),
    "service_post": Kind("app.badges.models:ServicePost", {"name": 1}),
    "help_request": Kind("app.tasks.models:HelpRequest", {"description": 3, "address": 3}),
    "grid_event": Kind("app.grid.models:GridEvent", {"title": 3, "description": 3}),
    "grid_comment": Kind("app.grid.models:EventComment", {"body": 2}),
    "task_rating": Kind("app.tasks.models:Participation", {"comment": 2}),
    "post_rating": Kind("app.badges.models:PostRating", {"comment": 2}),
    "plate_feedback": Kind("app.badges.models:MerchantFeedback", {"comment": 2}),
}


def model_of(kind: str) -> type[Any]:
    module, name = KINDS[kind].model.split(":")
    return getattr(importlib.import_module(module), name)


class ContentRejected(ValidationFailed):
    code = "content_rejected"
    zh = "提交的内容（{field}）未通过内容安全检查，请修改后再试。"
    en = "The text in {field} did not pass the content security check; please change it."


class ModerationNotOpen(Conflict):
    code = "moderation_decided"
    zh = "该内容已处理（当前为 {state}）。"
    en = "This text has already been decided (it is {state})."


# What a write path with checked text may answer besides its own errors (for its docs).
CHECK_ERRORS = (ContentRejected, WeChatUnavailable)

# The queue's lifecycle: a person releases or rejects an open item; the
# re-check job (``system``) resolves an unchecked one.
ITEMS = Machine(ModerationItem, [
    Transition("release", ("review", "unchecked"), "released", who="admin"),
    Transition("reject", ("review", "unchecked"), "rejected", who="admin"),
    Transition("pass", ("unchecked",), "passed", who="system"),
    Transition("hold", ("unchecked",), "review", who="system"),
    Transition("refuse", ("unchecked",), "rejected", who="system"),
    Transition("supersede", ("unchecked", "review", "rejected"), "superseded", who="system"),
], not_allowed=ModerationNotOpen)


# ---- the check on the write path ------------------------------------------------

@dataclass
class Finding:
    field: str
    scene: int
    text: str
    state: str            # review | unchecked
    label: int | None = None
    trace_id: str | None = None


@dataclass
class Verdict:
    kind: str
    checked: list[str]                 # the fields sent (non-empty)
    findings: list[Finding] = field(default_factory=list)
    items: list[int] = field(default_factory=list)   # unchecked queue items made by record()


def text_of(value) -> str:
    """The text of a field as sent to WeChat: lists (skills) joined."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value if v)
    return str(value)


def check_text(kind: str, fields: dict, author: User) -> Verdict:
    """Check each non-empty field of an object about to be written. Raises
    422 ``content_rejected`` naming the first risky field, or (fail-closed)
    503 ``wechat_unavailable``; otherwise the verdict for :func:`record`."""
    scenes = KINDS[kind].scenes
    verdict = Verdict(kind, [])
    for name, value in fields.items():
        text = text_of(value).strip()
        if not text:
            continue
        scene = scenes[name]
        verdict.checked.append(name)
        try:
            result = get_wechat().msg_sec_check(text, author.openid, scene)
        except WeChatUnavailable as error:  # unreachable, transient, or a refused call
            log.warning("content check of %s.%s failed (%r)", kind, name, error)
            if current_app.config["CONTENT_CHECK_FAILURE"] == "closed":
                raise WeChatUnavailable({"dependency": "wechat"},
                                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
            verdict.findings.append(Finding(name, scene, text, "unchecked"))
            continue
        if result.suggest == "risky":
            raise ContentRejected({"field": name, "label": result.label, "fields": {
                name: ["Refused by the content security check."]}})
        if result.suggest == "review":
            verdict.findings.append(Finding(name, scene, text, "review", result.label, result.trace_id))
    return verdict


def record(verdict: Verdict, obj, *, org_id: int, author_id: int | None) -> None:
    """Store what the check found on the object about to be committed: its
    queue items and its ``content_state``. Fields checked again supersede
    their earlier open items. A clean pass on an object with nothing open
    costs no query."""
    if not verdict.findings and getattr(obj, "content_state", None) in (None, "visible"):
        return
    if obj.id is None:
        db.session.flush()
    ITEMS.apply_all("supersede", ModerationItem.kind == verdict.kind,
                    ModerationItem.object_id == obj.id, ModerationItem.field.in_(verdict.checked))
    items = [ModerationItem(kind=verdict.kind, object_id=obj.id, field=f.field, scene=f.scene,
                            excerpt=f.text[:EXCERPT], author_id=author_id, org_id=org_id,
                            state=f.state, label=f.label, trace_id=f.trace_id)
             for f in verdict.findings]
    db.session.add_all(items)
    db.session.flush()
    verdict.items = [item.id for item in items if item.state == "unchecked"]
    obj.content_state = _derived_state(verdict.kind, obj.id)


def after_commit(verdict: Verdict) -> None:
    """Enqueue the re-checks of the fields WeChat could not judge (call after the commit)."""
    for item_id in verdict.items:
        enqueue_recheck(item_id)


def enqueue_recheck(item_id: int) -> None:
    enqueue(recheck_text, item_id, job_id=f"recheck:text:{item_id}")


def _derived_state(kind: str, object_id: int) -> str:
    states = set(db.session.scalars(select(ModerationItem.state).where(
        ModerationItem.kind == kind, ModerationItem.object_id == object_id,
        ModerationItem.state.in_(OPEN_ITEM_STATES))))
    for state in ("rejected", "review", "unchecked"):
        if state in states:
            return state
    return "visible"


def _refresh_object(kind: str, object_id: int) -> None:
    """Set the object's content_state from its open items (one UPDATE)."""
    model = model_of(kind)
    db.session.execute(update(model).where(model.id == object_id)
                       .values(content_state=_derived_state(kind, object_id))
                       .execution_options(synchronize_session=False))


# ---- who sees what ------------------------------------------------------------

def shown_clause(user: User, state_column, author_column, org_id_column):
    """Rows others may read: shown, or written by ``user``, or in a subtree
    ``user`` moderates. For a user who moderates nothing, no subquery."""
    org = aliased(OrgNode)  # never correlated with an OrgNode the outer query joins
    admin = scope_clause(user, PERMISSION, org.path)
    visible = [state_column.in_(SHOWN), author_column == user.id]
    if not isinstance(admin, False_):
        visible.append(org_id_column.in_(select(org.id).where(admin)))
    return or_(*visible)


def may_see(user: User, obj, author_id: int | None, org: OrgNode) -> bool:
    """Whether ``user`` may read an object whose text may be held back."""
    return (obj.content_state not in HIDDEN or (author_id is not None and author_id == user.id)
            or can(user, PERMISSION, org))


def is_hidden(obj) -> bool:
    return obj.content_state in HIDDEN


# ---- the queue ------------------------------------------------------------------

def list_items(actor: User, state: str, limit: int, cursor: str | None) -> Page:
    """Items of ``state`` in the actor's subtrees (a district admin's: all), newest first."""
    admin = scope_clause(actor, PERMISSION, OrgNode.path)
    if isinstance(admin, False_):
        raise Forbidden()
    stmt = (select(ModerationItem).join(ModerationItem.org)
            .where(ModerationItem.state == state, admin))
    return keyset_page(stmt, (ModerationItem.id,), limit, cursor, descending=True)


def _managed_item(actor: User, item_id: int) -> ModerationItem:
    item = db.session.get(ModerationItem, item_id)
    if item is None:
        raise NotFound()
    authorize(actor, PERMISSION, item.org)
    return item


def release(actor: User, item_id: int) -> ModerationItem:
    """An admin of the subtree lets the text be seen."""
    item = _managed_item(actor, item_id)
    with unit_of_work():
        before = audit.snapshot(item, "state")
        ITEMS.apply(item, "release", decided_by_id=actor.id, decided_at=utcnow())
        audit.record(actor, "text.release", item, org_id=item.org_id, before=before,
                     after=audit.snapshot(item, "state"))
        _refresh_object(item.kind, item.object_id)
    return item


def reject(actor: User, item_id: int, reason: str) -> ModerationItem:
    """An admin of the subtree hides the text for good; its author is told why."""
    item = _managed_item(actor, item_id)
    with unit_of_work():
        before = audit.snapshot(item, "state")
        ITEMS.apply(item, "reject", reason=reason, decided_by_id=actor.id, decided_at=utcnow())
        audit.record(actor, "text.reject", item, org_id=item.org_id, before=before,
                     after={**audit.snapshot(item, "state"), "reason": reason})
        _refresh_object(item.kind, item.object_id)
        _tell_author(item, reason)
    return item


def _tell_author(item: ModerationItem, reason: str | None) -> None:
    if item.author_id is not None:
        notify([item.author_id], "content_rejected", object_kind=item.kind, object_id=item.object_id,
               field=item.field, reason=reason)


# ---- the re-check ---------------------------------------------------------------

def recheck_text(item_id: int) -> str | None:
    """The job: ask WeChat again about an unchecked text. ``pass`` shows it for
    good, ``review`` hides it for the queue, ``risky`` hides it and tells the
    author. A transient failure raises (RQ retries; the periodic job
    re-enqueues); a refused call sends it to review. Idempotent: an item no
    longer unchecked is left alone, and of two runs at once one claim wins."""
    item = db.session.get(ModerationItem, item_id)
    if item is None or item.state != "unchecked":
        return None
    obj = db.session.get(model_of(item.kind), item.object_id)
    author = db.session.get(User, item.author_id) if item.author_id else None
    text = text_of(getattr(obj, item.field, None)).strip() if obj is not None else ""
    values: dict[str, Any]
    if obj is None or not text:
        action, values = "pass", {}  # nothing left that anyone could read
    elif author is None:
        action, values = "hold", {}  # no openid to ask WeChat with: a person decides
    else:
        try:
            result = get_wechat().msg_sec_check(text, author.openid, item.scene)
        except WeChatRejected as error:
            log.warning("re-check of moderation item %s refused (%r): held for review", item.id, error)
            action, values = "hold", {}
        else:
            action = {"pass": "pass", "review": "hold", "risky": "refuse"}[result.suggest]
            values = {"label": result.label, "trace_id": result.trace_id}
    try:
        ITEMS.apply(item, action, **values)
        if obj is not None:
            _refresh_object(item.kind, item.object_id)
        if action == "refuse":
            _tell_author(item, None)
    except ApiError:  # another run got there first
        db.session.rollback()
        return None
    db.session.commit()
    return action


def recheck_unchecked(batch: int = 500) -> int:
    """Periodic: re-enqueue the re-check of every item still unchecked (oldest
    first, ``batch`` at a time); a job already queued for one is not doubled."""
    ids = list(db.session.scalars(select(ModerationItem.id).where(ModerationItem.state == "unchecked")
                                  .order_by(ModerationItem.id).limit(batch)))
    db.session.rollback()  # nothing written: leave the session clean for enqueue()
    for item_id in ids:
        enqueue_recheck(item_id)
    return len(ids)

