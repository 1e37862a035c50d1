"""State changes, one way for the whole product.

Every record with a lifecycle (grid events, tasks, participations, help
requests, identities, plates, reports, posts) declares a :class:`Machine`:
a table of :class:`Transition` rows, (from-states, action, who) -> to-state.
A service changes a state only through :meth:`Machine.apply`, which claims
the transition with one conditional statement::

    UPDATE thing SET state = :to, ... WHERE id = :id AND state = :seen RETURNING *

so that of N concurrent requests that all read the same state exactly one
wins; the others get 409 ``state_changed`` naming the state now stored.
On PostgreSQL the winner also holds the row lock until its commit, so the
rest of its work (the timeline or audit row, counters, claimed photos) is
done by one request only and lands in the same transaction. RETURNING
refreshes the object, so the service goes on from the row as it is now,
not as it was read.

The order inside a service is therefore: load and check visibility, then
``apply`` (the claim), then the action's own work, then the one commit.
A domain error raised after ``apply`` must roll the transaction back: the
services do their writes and the commit in one ``with unit_of_work():``
(:mod:`app.common.work`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from app.errors import Conflict
from app.extensions import db


class StateChanged(Conflict):
    """Another request changed the record between our read and our write."""

    code = "state_changed"
    zh = "该记录的状态刚刚已被他人更改（当前为 {state}），请刷新后再试。"
    en = "This record was just changed by someone else (it is now {state}); refresh and try again."


class TransitionNotAllowed(Conflict):
    """The record's state does not allow the action."""

    code = "action_not_allowed"
    zh = "当前状态（{state}）不允许执行 {action}。"
    en = "The action {action} is not allowed in the state {state}."


@dataclass(frozen=True)
class Transition:
    """``action`` moves a record from any of ``sources`` to ``target``
    (``None``: the state stays, the action is still claimed and serialized);
    ``who`` names the rule, in the feature's own table, of who may take it."""

    action: str
    sources: tuple[str, ...]
    target: str | None
    who: str = "any"


class Machine:
    """The lifecycle of one model: its transitions and the one way to apply them."""

    def __init__(self, model: type[Any], transitions: Iterable[Transition], *, column: str = "state",
                 not_allowed: type[Conflict] = TransitionNotAllowed):
        self.model = model
        self.column = column
        self.not_allowed = not_allowed
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            if t.action in self.transitions:
                raise ValueError(f"{model.__name__}: action {t.action!r} declared twice")
            self.transitions[t.action] = t

    def __getitem__(self, action: str) -> Transition:
        return self.transitions[action]

    def __contains__(self, action: str) -> bool:
        return action in self.transitions

    @property
    def actions(self) -> list[str]:
        return list(self.transitions)

    def state_of(self, obj: Any) -> str:
        return getattr(obj, self.column)

    def possible(self, obj: Any, may: Callable[[Transition], bool] | None = None) -> list[str]:
        """The actions the record's state allows (and ``may`` permits), in table order."""
        state = self.state_of(obj)
        return [t.action for t in self.transitions.values()
                if state in t.sources and (may is None or may(t))]

    def check(self, obj: Any, action: str, **details: Any) -> Transition:
        """The transition for ``action``, or the feature's 409 when the state does not allow it."""
        t = self.transitions[action]
        state = self.state_of(obj)
        if state not in t.sources:
            raise self.not_allowed({"state": state, "action": action, **details})
        return t

    def apply(self, obj: Any, action: str, *, to: str | None = None,
              where: Iterable[Any] = (), **values: Any) -> str:
        """Claim ``action`` on ``obj``: one conditional UPDATE from the state the
        object was read in to the transition's target (``to`` overrides it for
        transitions whose target depends on the record), setting ``values`` too.
        ``where`` adds conditions the claim also needs (e.g. a counter still
        above zero). Returns the state it came from; raises the 409
        ``state_changed`` when another request got there first."""
        t = self.check(obj, action)
        model = self.model
        seen = self.state_of(obj)
        target = to or t.target or seen
        statement = (
            update(model)
            .where(model.id == obj.id, getattr(model, self.column) == seen, *where)
            .values({self.column: target, **values})
            .returning(model)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        won = db.session.execute(statement).scalars().first()
        if won is None:
            current = db.session.scalar(select(getattr(model, self.column)).where(model.id == obj.id))
            raise StateChanged({"state": current, "action": action})
        return seen

    def claim(self, obj: Any, action: str, **kwargs: Any) -> str:
        """:meth:`apply`, retried from the state now stored while that state
        still allows the action: a cancel is not refused because the first
        volunteer's check-in just started the task, nor is a second check-in.
        Lifecycles only move forward, so this ends; ``state_changed`` when the
        state no longer allows it (or the extra ``where`` failed on the same state)."""
        for _ in range(len(self.transitions) + 1):
            seen = self.state_of(obj)
            try:
                return self.apply(obj, action, **kwargs)
            except StateChanged as lost:
                now = lost.details["state"]
                if now == seen or now not in self.transitions[action].sources:
                    raise
                db.session.refresh(obj)
        raise StateChanged({"state": self.state_of(obj), "action": action})

    def apply_all(self, action: str, *where: Any, **values: Any) -> list:
        """Claim ``action`` on every row matching ``where`` whose state allows
        it, in one conditional UPDATE; returns the rows moved. Rows another
        request is changing are waited for and re-checked (PostgreSQL), so a row
        is moved only if it is still in a source state when it is written."""
        t = self.transitions[action]
        column = getattr(self.model, self.column)
        statement = (update(self.model).where(*where, column.in_(t.sources))
                     .values({self.column: t.target, **values}).returning(self.model)
                     .execution_options(populate_existing=True, synchronize_session=False))
        return list(db.session.execute(statement).scalars())
