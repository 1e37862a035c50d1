"""The rotating-code timing centers and tasks share."""
from __future__ import annotations

import datetime as dt

from app.common import signed_codes
from app.common.rotating import Rotation

T0 = dt.datetime(2026, 11, 26, 2, 0, 10, tzinfo=dt.UTC)  # 10 s into a 30 s step


def test_a_step_is_shown_until_the_next_and_accepted_for_its_grace():
    rotation = Rotation(30, 15)
    shown = rotation.show("task", 7, 1, b"key", T0)
    assert shown.step == int(T0.timestamp()) // 30
    assert shown.refresh_in == 20
    assert shown.expires_at == T0 + dt.timedelta(seconds=20 + 15)
    code = signed_codes.parse(shown.token)
    assert (code.kind, code.subject_id, code.step) == ("task", 7, shown.step) and code.verify(b"key")
    assert rotation.fresh(shown.step, T0)
    assert rotation.fresh(shown.step, shown.expires_at - dt.timedelta(microseconds=1))
    assert not rotation.fresh(shown.step, shown.expires_at)
    assert rotation.expired(shown.step, shown.expires_at)


def test_a_code_is_too_early_before_its_step_unless_within_the_skew():
    rotation = Rotation(30, 15)
    step = rotation.step(T0) + 1  # the next step begins in 20 s
    assert rotation.too_early(step, T0) and not rotation.fresh(step, T0)
    assert not rotation.too_early(step, T0, skew=20)
