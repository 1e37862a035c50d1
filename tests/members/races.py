"""Helpers for races between two admins (the lead may move them to tests/conftest.py).

A race between two requests only proves something when both have read the
record before either writes. :func:`all_read_first` makes sure of it: it
wraps a function every racing request calls after loading the record (the
permission check) so that each waits there until all have arrived; then
they go on together to their writes, over real concurrent HTTP requests.
"""
from __future__ import annotations

import threading
from collections import Counter

from tests.conftest import fire  # noqa: F401  (re-exported for the race tests)

HOLD_SECONDS = 30


def all_read_first(monkeypatch, module, name: str, parties: int) -> threading.Barrier:
    """Hold each of ``parties`` requests after ``module.name`` returns until all got there."""
    original = getattr(module, name)
    barrier = threading.Barrier(parties, timeout=HOLD_SECONDS)

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(module, name, held)
    return barrier


def one_winner(responses) -> tuple:
    """(the winning response, the losing one), after checking that exactly one
    won and the other is 409 ``state_changed`` in the one envelope."""
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 1}, [(r.status_code, r.text) for r in responses]
    won = next(r for r in responses if r.status_code == 200)
    lost = next(r for r in responses if r.status_code == 409)
    body = lost.json()
    assert set(body) == {"error"} and body["error"]["code"] == "state_changed", body
    assert body["error"]["message"]
    return won, lost
