"""Which subscribe-message template tells which event, and how its data is written.

Each event the app tells a user about by subscribe message has a template:
its id (from the mini-program's admin console), the mini-program page the
message opens (``?id=<the object's id>`` is appended), and its data keys,
each mapped to one of the values every event provides:

* ``title``  what it is about (a task's title, a grid event's title);
* ``status`` what happened, in a few characters (``已接单``, ``已超时``);
* ``time``   when (the task's start, the event's deadline, the change);
* ``note``   one more line (a reason, a place, a branch).

``SUBSCRIBE_TEMPLATES`` (JSON) overrides any event's entry, whole or in
part; the defaults below are the demo's (the mock WeChat knows any id it was
granted a subscription for). A template's key says what WeChat accepts in it
(its prefix: ``thing`` ≤ 20 characters, ``phrase`` ≤ 5 Chinese characters,
``time`` a date and time, ``character_string`` ≤ 32 letters and digits...):
:func:`format_value` writes each value so that WeChat takes it.

Pages are the stand-in mini-program's routes under ``pages/``: the page
``pages/grid-event`` is its ``#/grid-event``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import current_app

from app.config import ConfigError

VALUE_NAMES = ("title", "status", "time", "note")
STATES = ("formal", "trial", "developer")
DEFAULT_DATA = {"thing1": "title", "phrase2": "status", "time3": "time", "thing4": "note"}
CHINA = dt.timezone(dt.timedelta(hours=8))  # what the user's phone shows: Beijing time


@dataclass(frozen=True)
class Template:
    event: str
    template_id: str
    page: str
    data: dict[str, str]  # WeChat key -> value name
    label: str            # what the mini-program shows beside the choice


# event -> (label, page) of the demo defaults; each gets the template id
# ``demo-<event>`` and DEFAULT_DATA.
EVENTS: dict[str, tuple[str, str]] = {
    "help_request_accepted": ("求助已被接单", "pages/help-request"),
    "help_request_completed": ("求助已完成", "pages/help-request"),
    "task_cancelled": ("志愿任务取消", "pages/volunteer/task"),
    "task_changed": ("志愿任务变更", "pages/volunteer/task"),
    "waitlist_promoted": ("候补成功", "pages/volunteer/task"),
    "grid_event_dispatched": ("网格事件派遣", "pages/grid-event"),
    "grid_event_returned": ("网格事件退回", "pages/grid-event"),
    "grid_event_overdue": ("网格事件超时", "pages/grid-event"),
    "grid_event_closed": ("网格事件结案", "pages/grid-event"),
    "grid_event_escalation": ("超时事件督办", "pages/grid-event"),
    "identity_approved": ("党员身份审核通过", "pages/member/bind"),
    "identity_revoked": ("党员身份撤销", "pages/member/bind"),
}

# What each kind of template key accepts: (longest, characters allowed or None for any).
_KINDS = {
    "thing": (20, None),
    "name": (10, None),
    "car_number": (8, None),
    "phrase": (5, re.compile(r"[\u4e00-\u9fff]")),
    "character_string": (32, re.compile(r"[0-9A-Za-z_\-.:]")),
    "number": (32, re.compile(r"[0-9.]")),
    "letter": (32, re.compile(r"[A-Za-z]")),
    "phone_number": (17, re.compile(r"[0-9+\-]")),
    "amount": (10, re.compile(r"[0-9.]")),
    "symbol": (5, re.compile(r"[^0-9A-Za-z\s]")),
}
_TIME_KINDS = ("time", "date")
_FALLBACK = {"thing": "无", "name": "无", "phrase": "通知", "character_string": "-",
             "number": "0", "letter": "x", "phone_number": "0", "amount": "0", "symbol": "-",
             "car_number": "无"}


def init_app(app) -> None:
    """Resolve and check the templates at start-up: a wrong setting stops the app."""
    app.extensions["subscribe_templates"] = load(app.config.get("SUBSCRIBE_TEMPLATES"))
    if app.config["SUBSCRIBE_STATE"] not in STATES:
        raise ConfigError(f"SUBSCRIBE_STATE must be one of {', '.join(STATES)}")


def load(overrides: dict | None) -> dict[str, Template]:
    """The defaults with ``overrides`` (event -> partial entry) applied."""
    overrides = overrides or {}
    unknown = set(overrides) - set(EVENTS)
    if unknown:
        raise ConfigError(f"SUBSCRIBE_TEMPLATES: unknown events {sorted(unknown)}; "
                          f"use some of {', '.join(EVENTS)}")
    templates = {}
    for event, (label, page) in EVENTS.items():
        entry = {"template_id": f"demo-{event}", "page": page, "data": DEFAULT_DATA, "label": label,
                 **(overrides.get(event) or {})}
        templates[event] = _checked(event, entry)
    return templates


def _checked(event: str, entry: dict) -> Template:
    where = f"SUBSCRIBE_TEMPLATES[{event!r}]"
    unknown = set(entry) - {"template_id", "page", "data", "label"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    template_id, page, data = entry["template_id"], entry["page"], entry["data"]
    if not isinstance(template_id, str) or not 0 < len(template_id) <= 64:
        raise ConfigError(f"{where}.template_id must be a string of 1-64 characters")
    if not isinstance(page, str) or page.startswith("/") or "?" in page or not page:
        raise ConfigError(f"{where}.page must be a page path such as pages/grid-event (no query)")
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{where}.data must map the template's keys to {', '.join(VALUE_NAMES)}")
    for key, name in data.items():
        if _kind(key) not in _KINDS and _kind(key) not in _TIME_KINDS:
            raise ConfigError(f"{where}.data: {key!r} is not a WeChat template key (thing1, time2...)")
        if name not in VALUE_NAMES:
            raise ConfigError(f"{where}.data[{key!r}] must be one of {', '.join(VALUE_NAMES)}")
    return Template(event, template_id, page, dict(data), str(entry["label"]))


def templates() -> dict[str, Template]:
    """event -> Template, as configured."""
    return current_app.extensions["subscribe_templates"]


def by_template_id() -> dict[str, list[Template]]:
    """template id -> the templates (events) it serves: one id may serve several."""
    found: dict[str, list[Template]] = {}
    for template in templates().values():
        found.setdefault(template.template_id, []).append(template)
    return found


def _kind(key: str) -> str:
    return re.sub(r"\d+$", "", key)


def format_value(key: str, value) -> str:
    """``value`` written as WeChat accepts it in a template key like ``key``:
    times in Beijing time, texts cut to the kind's length (with ``…`` for
    things), characters a kind does not allow dropped; never empty."""
    kind = _kind(key)
    if kind in _TIME_KINDS:
        if value is None or value == "":
            when = dt.datetime.now(dt.UTC)
        else:
            when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        when = when.astimezone(CHINA)
        return when.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M")
    longest, allowed = _KINDS[kind]
    text = " ".join(str(value or "").split())  # no newlines or runs of spaces
    if allowed is not None:
        text = "".join(ch for ch in text if allowed.fullmatch(ch))
    if len(text) > longest:
        text = text[:longest - 1] + "…" if kind in ("thing", "name") else text[:longest]
    return text or _FALLBACK[kind]


def message_data(template: Template, values: dict) -> dict[str, str]:
    """The ``data`` of a message: each key of the template with its value written."""
    return {key: format_value(key, values.get(name)) for key, name in template.data.items()}


def page_for(template: Template, object_id: int) -> str:
    return f"{template.page}?id={object_id}"
