"""Rotating codes: a code signed for one time step, shown during its step and
still accepted for a grace period after it.

The grace lets a scan started just before the screen changed still count,
while a photo of the code sent elsewhere dies within a step and its grace.
Centers' screens (:mod:`app.checkin.codes`) and organizers' task codes
(:mod:`app.tasks.presence`) both rotate this way, each with its own timing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.common import signed_codes


@dataclass(frozen=True)
class Shown:
    """What a screen needs to show a step's code and replace it in time."""

    token: str
    step: int
    expires_at: dt.datetime  # when scans of it stop being accepted
    refresh_in: float  # seconds until the next step's code is available


@dataclass(frozen=True)
class Rotation:
    """The timing of one sort of rotating code."""

    step_seconds: int
    grace_seconds: int

    def step(self, at: dt.datetime) -> int:
        """The time step ``at`` falls in."""
        return int(at.timestamp()) // self.step_seconds

    def show(self, kind: str, subject_id: int, key_version: int, key: bytes, now: dt.datetime) -> Shown:
        """The code of the step of ``now``, signed with the subject's key."""
        step = self.step(now)
        next_step_at = (step + 1) * self.step_seconds
        return Shown(token=signed_codes.sign(kind, subject_id, key_version, step, key), step=step,
                     expires_at=dt.datetime.fromtimestamp(next_step_at + self.grace_seconds, dt.UTC),
                     refresh_in=round(next_step_at - now.timestamp(), 3))

    def too_early(self, step: int, at: dt.datetime, skew: float = 0) -> bool:
        """Whether ``at`` is before the step began (less a clock skew allowed to scanners)."""
        return at.timestamp() < step * self.step_seconds - skew

    def expired(self, step: int, at: dt.datetime) -> bool:
        """Whether the step and its grace are over at ``at``."""
        return at.timestamp() >= (step + 1) * self.step_seconds + self.grace_seconds

    def fresh(self, step: int, at: dt.datetime) -> bool:
        """Whether a code of ``step`` is accepted at ``at``: from its step's
        start until the grace after its end."""
        return not self.too_early(step, at) and not self.expired(step, at)
