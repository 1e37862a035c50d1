"""Subscribe messages: recording what the user accepted, telling them, paying one per message.

Rules:

* ``POST /me/subscriptions`` records what ``wx.requestSubscribeMessage``
  answered: each ``accept`` adds one one-time subscription to the user's
  count for that template (at most ``SUBSCRIBE_MAX_PER_TEMPLATE``); ``ban``
  (the user switched the template off in WeChat's settings) sets it to 0;
  ``reject`` and ``filter`` change nothing. A template id the app does not
  use is refused (422), and nothing of the answer is stored.
* :func:`announce` is how a service tells users of an event: the in-app
  notice joins the caller's transaction (it exists exactly when the change
  is committed), and a subscribe message per user is staged on the session;
  after the commit each becomes a job (:func:`deliver`), keyed by the event
  (``subscribe:<event>:<object id>:<user id>[:<version>]``), so the same
  event never makes two jobs. A rollback drops what was staged.
* :func:`deliver` (the job) spends one of the user's subscriptions and sends
  the message. The spend is one transaction with the row of
  :class:`SubscribeDelivery` whose unique key is the job's key, so however
  often the job runs it spends at most one; with none left it sends nothing
  (``no_quota``). The call to WeChat is inside :func:`~app.jobs.queue.once`,
  so a retry never sends twice. What WeChat answers: 43101 (the user refused
  or WeChat counts none left) zeroes the count and ends there; other refusals
  (47003 bad data, 40003 bad openid...) give the subscription back (WeChat
  spent none) and end there; a transient error is raised so that RQ tries
  again later (``retrying``), with the subscription already spent for it.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, case, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.common.db import utcnow
from app.common.pagination import Page
from app.errors import ValidationFailed, field_error
from app.extensions import db
from app.notices.services import notify
from app.subscriptions import templates as tpl
from app.subscriptions.models import SubscribeDelivery, Subscription

log = logging.getLogger(__name__)

CHOICES = ("accept", "reject", "ban", "filter")
OUTBOX = "subscribe_outbox"  # session.info key: the messages staged until the commit
FINAL = ("sent", "no_quota", "refused", "rejected", "skipped")


# ---- what the user accepted -----------------------------------------------------

@dataclass
class TemplateCount:
    template_id: str
    events: list[str]
    labels: list[str]
    remaining: int


def my_subscriptions(user: User) -> list[TemplateCount]:
    """Every template the app sends (by template id), the events it serves and
    how many messages of it the user may still receive (one query)."""
    counts = dict(db.session.execute(select(Subscription.template_id, Subscription.remaining)
                                     .where(Subscription.user_id == user.id)).all())
    return [TemplateCount(template_id, [t.event for t in served], [t.label for t in served],
                          counts.get(template_id, 0))
            for template_id, served in sorted(tpl.by_template_id().items())]


def subscription_page(user: User, limit: int, cursor: str | None) -> Page:
    """:func:`my_subscriptions` a page at a time. The templates are settings,
    not rows, so the keyset is applied here: the cursor is the last template id."""
    after = _template_after(cursor) if cursor else None
    rest = [count for count in my_subscriptions(user) if after is None or count.template_id > after]
    items = rest[:limit]  # limit >= 1: a further page means a last item here
    return Page(items, _template_cursor(items[-1].template_id) if len(rest) > limit else None)


def _template_cursor(template_id: str) -> str:
    # The shape of app.common.pagination's cursors: the sort key as a JSON list, base64url.
    raw = json.dumps([template_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _template_after(cursor: str) -> str:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        values = None
    if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)):
        raise field_error("cursor", "Not a cursor this list gave out.")
    return values[0]


def record_choices(user: User, choices: dict[str, str]) -> list[TemplateCount]:
    """Record what ``wx.requestSubscribeMessage`` answered (template id ->
    accept | reject | ban | filter); the user's counts as they now stand."""
    known = tpl.by_template_id()
    unknown = sorted(t for t in choices if t not in known)
    if unknown:
        raise ValidationFailed({"fields": {"results": {t: ["Not a template of this app."] for t in unknown}}})
    cap = current_app.config["SUBSCRIBE_MAX_PER_TEMPLATE"]
    for template_id, choice in sorted(choices.items()):
        if choice == "accept":
            _add_one(user.id, template_id, cap)
        elif choice == "ban":
            _set_count(user.id, template_id, 0)
    db.session.commit()
    return my_subscriptions(user)


def _add_one(user_id: int, template_id: str, cap: int) -> None:
    """One more, up to ``cap``: an UPDATE, or the first row (a concurrent
    first insert loses on the unique key and updates instead)."""
    for _ in range(2):
        changed = cast(CursorResult[Any], db.session.execute(
            update(Subscription).where(Subscription.user_id == user_id, Subscription.template_id == template_id)
            .values(remaining=case((Subscription.remaining < cap, Subscription.remaining + 1),
                                   else_=Subscription.remaining), updated_at=utcnow())
            .execution_options(synchronize_session=False))).rowcount
        if changed:
            return
        try:
            with db.session.begin_nested():
                db.session.add(Subscription(user_id=user_id, template_id=template_id,
                                            remaining=min(1, cap), updated_at=utcnow()))
            return
        except IntegrityError:
            continue  # inserted meanwhile: add to that row


def _set_count(user_id: int, template_id: str, count: int) -> None:
    db.session.execute(update(Subscription).where(Subscription.user_id == user_id,
                                                  Subscription.template_id == template_id)
                       .values(remaining=count, updated_at=utcnow())
                       .execution_options(synchronize_session=False))


def _spend(user_id: int, template_id: str) -> bool:
    """Take one of the user's subscriptions, if they have one (atomically)."""
    return bool(cast(CursorResult[Any], db.session.execute(
        update(Subscription).where(Subscription.user_id == user_id, Subscription.template_id == template_id,
                                   Subscription.remaining > 0)
        .values(remaining=Subscription.remaining - 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))).rowcount)


def _refund(user_id: int, template_id: str) -> None:
    db.session.execute(update(Subscription).where(Subscription.user_id == user_id,
                                                  Subscription.template_id == template_id)
                       .values(remaining=Subscription.remaining + 1, updated_at=utcnow())
                       .execution_options(synchronize_session=False))


# ---- telling users of an event ------------------------------------------------------

def announce(user_ids, event_name: str, object_id: int, values: dict, *, version=None,
             **notice_data) -> None:
    """Tell ``user_ids`` of ``event_name`` about object ``object_id``: an in-app
    notice now (in the caller's transaction, with ``notice_data``), and a
    subscribe message after the commit, written from ``values`` (title,
    status, time, note; see app.subscriptions.templates). ``version`` tells
    apart events of one object that may happen again (a second change)."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return
    if event_name not in tpl.EVENTS:
        raise ValueError(f"unknown subscribe event {event_name!r}")
    notify(user_ids, event_name, **notice_data)
    values = {name: (value.isoformat() if hasattr(value, "isoformat") else value)
              for name, value in values.items()}
    staged = db.session.info.setdefault(OUTBOX, [])
    for user_id in user_ids:
        key = f"subscribe:{event_name}:{object_id}:{user_id}" + (f":{version}" if version is not None else "")
        staged.append((key, event_name, object_id, user_id, values))


def init_app(app) -> None:
    """Enqueue the staged messages after each commit; drop them on a rollback."""
    tpl.init_app(app)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    staged = session.info.pop(OUTBOX, None)
    if not staged:
        return
    from app.jobs.queue import enqueue

    for key, event_name, object_id, user_id, values in staged:
        try:
            enqueue(deliver, key, event_name, object_id, user_id, values, job_id=key)
        except Exception:  # the change is committed: its in-app notice stays the record
            log.exception("could not enqueue subscribe message %s", key)


def _after_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback keeps what the transaction staged
        session.info.pop(OUTBOX, None)


# ---- the job -------------------------------------------------------------------------------

def deliver(key: str, event_name: str, object_id: int, user_id: int, values: dict) -> str:
    """Send one subscribe message (a job); what became of it (a delivery status)."""
    from app.jobs.queue import once
    from app.wechat.client import get_wechat
    from app.wechat.errors import WeChatNoQuota, WeChatRejected, WeChatTransient

    template = tpl.templates()[event_name]
    delivery = _claim(key, event_name, user_id, template.template_id)
    if delivery.status in FINAL:
        return delivery.status
    user = db.session.get_one(User, user_id)  # a missing user's delivery was "skipped"
    with once(key) as first:
        if not first:
            return _finish(delivery, "sent")  # a run before us sent it, then died
        delivery.attempts += 1
        try:
            get_wechat().send_subscribe_message(
                touser=user.openid, template_id=template.template_id,
                page=tpl.page_for(template, object_id), data=tpl.message_data(template, values),
                state=current_app.config["SUBSCRIBE_STATE"])
        except WeChatNoQuota as error:
            _set_count(user_id, template.template_id, 0)
            return _finish(delivery, "refused", error.errcode)
        except WeChatRejected as error:
            log.warning("subscribe message %s refused by WeChat (errcode %s)", key, error.errcode)
            _refund(user_id, template.template_id)
            return _finish(delivery, "rejected", error.errcode)
        except WeChatTransient as error:
            _finish(delivery, "retrying", error.errcode)
            raise  # RQ retries with backoff; the subscription stays spent for this message
    return _finish(delivery, "sent")


def _claim(key: str, event_name: str, user_id: int, template_id: str) -> SubscribeDelivery:
    """The message's delivery row; the first run creates it and, in the same
    transaction, spends the subscription (or finds none: ``no_quota``)."""
    existing = db.session.scalar(select(SubscribeDelivery).where(SubscribeDelivery.key == key))
    if existing is not None:
        return existing
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        status = "skipped"
    else:
        status = "pending" if _spend(user_id, template_id) else "no_quota"
    delivery = SubscribeDelivery(key=key, user_id=user_id, event=event_name, template_id=template_id,
                                 status=status, created_at=utcnow())
    db.session.add(delivery)
    try:
        db.session.commit()
    except IntegrityError:  # another run of this message claimed it first (and spent for it)
        db.session.rollback()
        return db.session.scalars(select(SubscribeDelivery).where(SubscribeDelivery.key == key)).one()
    if status == "no_quota":
        log.info("subscribe message %s not sent: the user holds no subscription", key)
    return delivery


def _finish(delivery: SubscribeDelivery, status: str, errcode: int | None = None) -> str:
    delivery.status, delivery.errcode = status, errcode
    if status == "sent":
        delivery.sent_at = utcnow()
    db.session.commit()
    return status
