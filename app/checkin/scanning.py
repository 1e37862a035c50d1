"""Check-in: a scan judged, and counted once.

The check-in rules, in the order they are checked (each failure recorded
as an attempt with its reason, and answered with that reason as the code):

1. ``scanned_at`` (offline scans) not in the future beyond the clock skew
   and at most ``CHECKIN_OFFLINE_MAX_AGE`` old;
2. the code: ``invalid_code`` / ``expired_code`` (judged at ``scanned_at``
   for offline scans);
3. the scanner is an active member: ``not_a_member`` / ``identity_inactive``;
4. the center is open at that local time: ``center_closed``;
5. a location was sent (``location_required``), within the radius
   (``out_of_range``), and accurate enough (``location_inaccurate``).

One member, one center, one duplicate window: one check-in. The unique
constraint on (center, user, window) decides under any concurrency; a
repeat answers ``already_checked_in`` with the first check-in.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import cast

from flask import current_app
from sqlalchemy import bindparam, case, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql

from app.auth.models import User
from app.checkin import codes
from app.checkin.centers import local_time
from app.checkin.codes import CheckinRejected
from app.checkin.errors import (
    CenterClosed,
    ExitBeforeEntry,
    IdentityInactiveScan,
    LocationInaccurate,
    LocationRequired,
    NotAMemberScan,
    NotCheckedIn,
    OutOfRange,
    ScannedAtInFuture,
    ScannedAtTooOld,
)
from app.checkin.models import WEEKDAYS, Checkin, CheckinAttempt, CheckinDailyCount, ServiceCenter
from app.common.counters import add_to_rows, dialect_insert, on_conflict_add
from app.common.db import utcnow
from app.common.geo import Point, distance_m, to_gcj02
from app.extensions import db
from app.members.services import IdentityInactive, NotAMember, require_active_member

# ---- check-in ---------------------------------------------------------------

@dataclass
class Scan:
    user: User
    code: str
    type: str = "entry"
    purpose: str = "visit"
    location: dict | None = None
    scanned_at: dt.datetime | None = None
    ip: str | None = None
    device: str | None = None


def is_open(center: ServiceCenter | codes.CenterSnapshot, local: dt.datetime) -> bool:
    if any(day.get("day") == local.date().isoformat() for day in center.closed_days or ()):
        return False
    if not center.opening_hours:
        return True
    clock = local.strftime("%H:%M")
    return any(start <= clock < end
               for start, end in center.opening_hours.get(WEEKDAYS[local.weekday()], ()))


def _window_key(center: ServiceCenter | codes.CenterSnapshot, at: dt.datetime, local: dt.datetime) -> str:
    if center.duplicate_window_seconds:
        return f"w{int(at.timestamp()) // center.duplicate_window_seconds}"
    return local.date().isoformat()


def _scan_time(scanned_at: dt.datetime | None, now: dt.datetime) -> tuple[dt.datetime, bool]:
    """The time the scan is judged at, and whether it was an offline scan."""
    config = current_app.config
    if scanned_at is None or abs((now - scanned_at).total_seconds()) <= config["CHECKIN_CLOCK_SKEW"]:
        return now, False
    if scanned_at > now:
        raise ScannedAtInFuture()
    max_age = config["CHECKIN_OFFLINE_MAX_AGE"]
    if (now - scanned_at).total_seconds() > max_age:
        raise ScannedAtTooOld({"max_hours": max_age // 3600})
    return scanned_at, True


DAILY_KEY = ("center_id", "day", "purpose")  # checkin_daily_counts' primary key


def _insert_ignoring_duplicate(values: dict):
    stmt = (dialect_insert(Checkin).values(**values)
            .on_conflict_do_nothing(index_elements=["center_id", "user_id", "window_key"])
            .returning(Checkin))
    return db.session.scalars(stmt, execution_options={"populate_existing": True}).first()


def _count_daily(center_id: int, day: dt.date, purpose: str) -> None:
    add_to_rows(CheckinDailyCount, DAILY_KEY, [{"center_id": center_id, "day": day, "purpose": purpose,
                                                "count": 1}])


def check_in(scan: Scan) -> tuple[str, Checkin]:
    """Record one scan. Returns (status, check-in) where status is ``ok``,
    ``already_checked_in``, ``checked_out`` or ``already_checked_out``;
    raises a :class:`CheckinRejected` after recording the failed attempt."""
    now = utcnow()
    attempt = CheckinAttempt(user_id=scan.user.id, type=scan.type, purpose=scan.purpose,
                             scanned_at=scan.scanned_at, server_time=now, ip=scan.ip,
                             device=(scan.device or "")[:200] or None)
    if scan.location:
        point = to_gcj02(scan.location)  # stored in GCJ-02, like every position
        attempt.lat, attempt.lng = point.lat, point.lng
        attempt.accuracy_m = scan.location.get("accuracy")
    try:
        status, checkin = _check_in(scan, attempt, now)
    except CheckinRejected as rejection:
        db.session.rollback()
        attempt.result = rejection.code
        _record(attempt)
        db.session.commit()
        raise
    if not getattr(attempt, "recorded", False):
        attempt.result = status
        attempt.checkin_id = checkin.id
        _record(attempt)
    db.session.commit()
    return status, checkin


_ATTEMPT_COLUMNS = [c.key for c in CheckinAttempt.__table__.columns if c.key != "id"]
_ATTEMPT_FIELDS = tuple(k for k in _ATTEMPT_COLUMNS if k != "checkin_id")


def _record(attempt: CheckinAttempt) -> None:
    # A plain INSERT, not a unit-of-work flush: the hot path's cheapest write.
    db.session.execute(insert(CheckinAttempt), [{k: getattr(attempt, k) for k in _ATTEMPT_COLUMNS}])


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _check_in(scan: Scan, attempt: CheckinAttempt, now: dt.datetime,
              fresh: bool = False) -> tuple[str, Checkin]:
    at, offline = _scan_time(scan.scanned_at, now)
    # A cached copy of the center is only trusted where the INSERT re-checks it.
    fresh = fresh or not _on_postgresql()
    try:
        center = codes.center_for_code(scan.code, at, fresh=fresh)
    except CheckinRejected as rejection:
        # A genuine code of a center, expired or not yet valid: the center's record shows it.
        if rejection.center is not None:
            attempt.center_id = rejection.center.id
            attempt.local_day = local_time(rejection.center, at).date()
        raise
    attempt.center_id = center.id
    local = local_time(center, at)
    attempt.local_day = local.date()
    try:
        identity = require_active_member(scan.user)
    except NotAMember:
        raise NotAMemberScan() from None
    except IdentityInactive as error:
        raise IdentityInactiveScan(error.details) from None
    if scan.type == "entry" and not is_open(center, local):
        raise CenterClosed()  # a visit that runs past closing time may still be closed
    if not scan.location:
        raise LocationRequired()
    point = to_gcj02(scan.location)
    distance = distance_m(point, Point(center.lat, center.lng))
    attempt.distance_m = round(distance, 1)
    if distance > center.radius_m:
        raise OutOfRange({"distance_m": round(distance), "radius_m": center.radius_m})
    accuracy = scan.location.get("accuracy")
    if accuracy is not None and accuracy > center.radius_m:
        raise LocationInaccurate({"accuracy_m": round(accuracy), "radius_m": center.radius_m})

    window_key = _window_key(center, at, local)
    if scan.type == "exit":
        result = _check_out(center, scan.user, window_key, at, offline, cached=not fresh)
        if result is None:  # the cached copy may be out of date: judge by the database
            return _check_in(scan, attempt, now, fresh=True)
        return result
    status, checkin, current = _enter({
        "center_id": center.id, "user_id": scan.user.id, "identity_id": identity.id,
        "purpose": scan.purpose, "window_key": window_key, "local_day": local.date(),
        "checked_in_at": at, "received_at": now, "offline": offline,
        "lat": point.lat, "lng": point.lng, "accuracy_m": accuracy,
        "distance_m": round(distance, 1), "exit_offline": False,
    }, attempt, center)
    if not current:
        if fresh:  # the center changed between reading it and writing (deleted, key rotated)
            raise codes.invalid("unknown_center")
        return _check_in(scan, attempt, now, fresh=True)  # the cached copy is out of date
    if checkin is None:
        # The row that stopped the INSERT is committed, so this reads it.
        return status, cast(Checkin, _natural(center.id, scan.user.id, window_key))
    return status, checkin


def _enter(values: dict, attempt: CheckinAttempt,
           center: codes.CenterSnapshot) -> tuple[str, Checkin | None, bool]:
    """Write a new check-in, its daily count and its attempt. Returns the
    status (``ok``, or ``already_checked_in`` when the member already checked
    in in this window, and nothing is counted), the check-in (the new one or
    the first; None when the first is not read yet) and whether the center
    is still as ``center`` says (key version, mode, not deleted); when it is
    not, nothing is written either.

    On PostgreSQL this is one statement of data-modifying CTEs, one round
    trip on the hottest path, which records a duplicate's attempt too;
    elsewhere three statements in the same transaction.
    """
    if not _on_postgresql():  # here the center was read fresh in this transaction
        checkin = _insert_ignoring_duplicate(values)
        if checkin is None:
            return "already_checked_in", None, True
        _count_daily(values["center_id"], values["local_day"], values["purpose"])
        return "ok", checkin, True
    params = {**values, "guard_key_version": center.key_version, "guard_code_mode": center.code_mode,
              **{f"attempt_{k}": getattr(attempt, k) for k in _ATTEMPT_FIELDS if k != "result"}}
    row = db.session.execute(_entry_statement(tuple(values)), params).one()
    found = dict(row._mapping)
    if not found.pop("current"):
        return "already_checked_in", None, False
    first = {key[len(_FIRST):]: found.pop(key) for key in list(found) if key.startswith(_FIRST)}
    if found["id"] is not None:
        attempt.recorded = True
        return "ok", Checkin(id=found["id"], **values), True  # the row as written
    if first["id"] is not None:
        attempt.recorded = True
        return "already_checked_in", Checkin(**first), True
    # The row that stopped the INSERT was committed after this statement
    # began, so it could not read it: the caller does, and records the attempt.
    return "already_checked_in", None, True


_FIRST = "first_"
# What the answer shows of a check-in (CheckinSchema): all the statement reads
# back of the first one, for a duplicate.
_ANSWERED = ("id", "center_id", "purpose", "checked_in_at", "local_day", "offline", "distance_m",
             "exited_at", "duration_seconds")


@functools.cache
def _entry_statement(keys: tuple[str, ...]):
    """The one statement of a check-in on PostgreSQL, built once with bound
    parameters (so each scan only binds values): insert the check-in unless the
    member already has one in this window, count it, record the attempt
    (``ok``, or ``already_checked_in`` with the first check-in), and say
    whether the center is still current.

    Written only while the center still has this key version and mode and is
    not deleted, so a cached copy of the center can never let a dead code in.
    """
    columns = Checkin.__table__.c
    current = select(ServiceCenter.id).where(
        ServiceCenter.id == bindparam("center_id"),
        ServiceCenter.key_version == bindparam("guard_key_version"),
        ServiceCenter.code_mode == bindparam("guard_code_mode"),
        ServiceCenter.deleted_at.is_(None)).exists()
    row = select(*(bindparam(key, type_=columns[key].type) for key in keys)).where(current)
    entry = (postgresql.insert(Checkin).from_select(list(keys), row)
             .on_conflict_do_nothing(index_elements=["center_id", "user_id", "window_key"])
             .returning(columns.id, columns.center_id, columns.local_day, columns.purpose).cte("entry"))
    # The check-in already in this window, as this statement's snapshot sees it
    # (never the one ``entry`` inserts).
    first = select(*(columns[key] for key in _ANSWERED)).where(
        columns.center_id == bindparam("center_id"), columns.user_id == bindparam("user_id"),
        columns.window_key == bindparam("window_key")).cte("first")
    daily = on_conflict_add(postgresql.insert(CheckinDailyCount).from_select(
        [*DAILY_KEY, "count"], select(entry.c.center_id, entry.c.local_day, entry.c.purpose, literal(1))),
        CheckinDailyCount, DAILY_KEY, ("count",)).cte("daily")
    guard = select(current.label("current")).cte("guard")
    attempts = CheckinAttempt.__table__.c
    fields = [k for k in _ATTEMPT_FIELDS if k != "result"]
    outcome = guard.outerjoin(entry, literal(True)).outerjoin(first, literal(True))
    recorded = (insert(CheckinAttempt)
                .from_select([*fields, "result", "checkin_id"], select(
                    *(bindparam(f"attempt_{k}", type_=attempts[k].type) for k in fields),
                    case((entry.c.id.is_not(None), literal("ok")), else_=literal("already_checked_in")),
                    func.coalesce(entry.c.id, first.c.id))
                    .select_from(outcome)
                    .where(guard.c.current, func.coalesce(entry.c.id, first.c.id).is_not(None)))
                .cte("recorded"))
    return (select(guard.c.current, entry.c.id, *(c.label(_FIRST + c.key) for c in first.c))
            .select_from(outcome).add_cte(daily).add_cte(recorded))


def _natural(center_id: int, user_id: int, window_key: str) -> Checkin | None:
    return db.session.scalar(select(Checkin).where(
        Checkin.center_id == center_id, Checkin.user_id == user_id, Checkin.window_key == window_key))


MAX_VISIT = dt.timedelta(hours=24)


def _check_out(center: codes.CenterSnapshot, user, window_key, at, offline,
               cached: bool) -> tuple[str, Checkin] | None:
    """Close the member's latest open visit at this center (entered within
    24 h, so a visit may cross midnight or a window); with none open, a
    second exit answers the closed visit of this window.

    The closing UPDATE re-checks the center's key version, mode and deletion,
    like the entry's statement, so a dead code never closes a visit. Judged by
    a ``cached`` copy of the center, any answer but a visit closed by that
    UPDATE is None: the caller judges the scan again by the database.
    """
    checkin = db.session.scalar(
        select(Checkin).where(Checkin.center_id == center.id, Checkin.user_id == user.id,
                              Checkin.exited_at.is_(None), Checkin.checked_in_at <= at,
                              Checkin.checked_in_at >= at - MAX_VISIT)
        .order_by(Checkin.checked_in_at.desc()).limit(1)
    ) or _natural(center.id, user.id, window_key)
    if cached and (checkin is None or checkin.exited_at is not None or at < checkin.checked_in_at):
        return None
    if checkin is None:
        raise NotCheckedIn()
    if checkin.exited_at is not None:
        return "already_checked_out", checkin
    if at < checkin.checked_in_at:
        raise ExitBeforeEntry()
    closed = db.session.scalars(
        update(Checkin)
        .where(Checkin.id == checkin.id, Checkin.exited_at.is_(None), _still_as(center))
        .values(exited_at=at, exit_offline=offline,
                duration_seconds=int((at - checkin.checked_in_at).total_seconds()))
        .returning(Checkin)
        .execution_options(synchronize_session=False),
        execution_options={"populate_existing": True},
    ).first()
    if closed is not None:
        return "checked_out", closed
    if cached:
        return None
    db.session.refresh(checkin)
    if checkin.exited_at is None:  # the center changed between reading it and writing
        raise codes.invalid("unknown_center")
    return "already_checked_out", checkin  # another exit closed it first


def _still_as(center: codes.CenterSnapshot):
    """The center still has this key version and mode and is not deleted."""
    return select(ServiceCenter.id).where(
        ServiceCenter.id == center.id, ServiceCenter.key_version == center.key_version,
        ServiceCenter.code_mode == center.code_mode, ServiceCenter.deleted_at.is_(None)).exists()
