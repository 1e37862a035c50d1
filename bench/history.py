"""Grow a district's history, in PostgreSQL, to a given number of rows.

Each kind (check-ins, check-in attempts, participations, hours-ledger
credits, grid events) gets row ``g`` for g = rows so far .. target - 1,
computed from ``generate_series`` in one INSERT ... SELECT per batch: no
ORM, no Python loop per row. Row g falls on day ``g % 365`` back from
yesterday, so at every size a period of 60 days holds about a sixth of the
rows, and sizes compare like for like.

    python -m bench.history OUT_DIR ROWS     # grow the district to ROWS of each kind

Foreign keys are not checked while seeding (``session_replication_role =
replica``): the rows are made consistent by construction, and checking
10^7 × 5 references would take most of the time.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

BATCH = 1_000_000
PER_TASK = 100  # participants of each past task
DAYS = 365
NOW = "(now() AT TIME ZONE 'utc')"
PURPOSES = "ARRAY['visit','service_shift','study','meeting','activity']"
CATEGORIES = "ARRAY['facilities','sanitation','safety','dispute','illegal_construction','epidemic']"


def _arr(ids: list[int]) -> str:
    return "ARRAY[" + ",".join(map(str, ids)) + "]::int[]"


def _checkins(c: sa.Connection, d: dict, g0: int, g1: int) -> None:
    n = len(d["centers"])
    base = f"""
        SELECT g, ({_arr(d['centers'])})[1 + (g / {DAYS}) % {n}] AS center_id,
               {d['first_user']} + (g / {DAYS * n}) % {d['users']} AS user_id,
               current_date - 1 - g % {DAYS} AS day,
               ({PURPOSES})[1 + abs(hashint4(g)) % 5] AS purpose
        FROM generate_series({g0}, {g1 - 1}) AS g"""
    first_id = c.scalar(sa.text("SELECT coalesce(max(id), 0) FROM checkins"))
    c.execute(sa.text(f"""
        INSERT INTO checkins (center_id, user_id, identity_id, purpose, window_key, local_day, checked_in_at,
                              received_at, offline, lat, lng, distance_m, exit_offline)
        SELECT s.center_id, s.user_id, i.id, s.purpose, to_char(s.day, 'YYYY-MM-DD'), s.day,
               s.day + time '02:00', s.day + time '02:00', false, 21.858, 111.962, 10, false
        FROM ({base}) AS s JOIN member_identities i ON i.user_id = s.user_id"""))
    c.execute(sa.text(f"""
        INSERT INTO checkin_daily_counts (center_id, day, purpose, count)
        SELECT center_id, local_day, purpose, count(*) FROM checkins WHERE id > {first_id}
        GROUP BY center_id, local_day, purpose
        ON CONFLICT (center_id, day, purpose) DO UPDATE SET count = checkin_daily_counts.count + EXCLUDED.count"""))
    # every scan: nine in ten succeed, one in ten is refused (too far)
    c.execute(sa.text(f"""
        INSERT INTO checkin_attempts (center_id, user_id, type, purpose, result, local_day, scanned_at,
                                      server_time, ip, lat, lng, accuracy_m, distance_m)
        SELECT s.center_id, s.user_id, 'entry', s.purpose,
               CASE WHEN abs(hashint4(s.g + 1)) % 10 = 0 THEN 'out_of_range' ELSE 'ok' END,
               s.day, s.day + time '02:00', s.day + time '02:00', '127.0.0.1', 21.858, 111.962, 20,
               CASE WHEN abs(hashint4(s.g + 1)) % 10 = 0 THEN 900 ELSE 10 END
        FROM ({base}) AS s"""))


def _volunteering(c: sa.Connection, d: dict, g0: int, g1: int) -> None:
    """Past tasks of PER_TASK participants each, every participation confirmed
    and credited in the hours ledger."""
    t0, t1 = -(-g0 // PER_TASK), -(-g1 // PER_TASK)
    ncom = len(d["communities"])
    tag = d["tag"]
    if t1 > t0:
        c.execute(sa.text(f"""
            WITH t AS (
                SELECT t, ({_arr(d['communities'])})[1 + t % {ncom}] AS community_id,
                       date_trunc('hour', {NOW}) - (1 + t % {DAYS}) * interval '1 day' AS starts_at
                FROM generate_series({t0}, {t1 - 1}) AS t),
            ins AS (
                INSERT INTO tasks (community_id, title, description, category, address, lat, lng, radius_m,
                                   starts_at, ends_at, places, places_taken, required_skills, members_only,
                                   hours_credited, state, code_key, created_by_id, created_at, published_at,
                                   content_state)
                SELECT community_id, '{tag}' || t, '', 'community_service', '',
                       21.858 + (t % 1000 - 500) * 0.00001, 111.962 + (t % 997 - 498) * 0.00001, 300,
                       starts_at, starts_at + interval '2 hours', {PER_TASK}, {PER_TASK}, '[]', false, 2,
                       'completed', md5(t::text), {d['admin']}, starts_at - interval '7 days',
                       starts_at - interval '7 days', 'visible'
                FROM t RETURNING id, title, community_id, starts_at, ends_at)
            INSERT INTO bench_tasks (tag, t, id, community_id, starts_at, ends_at)
            SELECT '{tag}', substr(title, {len(tag) + 1})::int, id, community_id, starts_at, ends_at FROM ins"""))
    c.execute(sa.text(f"""
        WITH p AS (
            INSERT INTO participations (task_id, user_id, state, starts_at, ends_at, accepted_at, checked_in_at,
                                        checked_out_at, needs_review, score, confirmed_by_id, confirmed_at,
                                        content_state)
            SELECT m.id, {d['first_user']} + g % {d['users']}, 'confirmed', m.starts_at, m.ends_at,
                   m.starts_at - interval '1 day', m.starts_at, m.ends_at, false, 1 + g % 5, {d['admin']},
                   m.ends_at + interval '1 hour', 'visible'
            FROM generate_series({g0}, {g1 - 1}) AS g JOIN bench_tasks m ON m.tag = '{tag}' AND m.t = g / {PER_TASK}
            RETURNING id, task_id, user_id, starts_at, ends_at, confirmed_at, score),
        daily AS (
            -- the per-day figures /stats/volunteers reads, as confirm() keeps them
            INSERT INTO volunteer_daily (community_id, day, hours, person_times, score_sum, score_count)
            SELECT m.community_id, (p.confirmed_at AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date,
                   2 * count(*), count(*), sum(p.score), count(*)
            FROM p JOIN bench_tasks m ON m.id = p.task_id GROUP BY 1, 2
            ON CONFLICT (community_id, day) DO UPDATE SET
                hours = volunteer_daily.hours + EXCLUDED.hours,
                person_times = volunteer_daily.person_times + EXCLUDED.person_times,
                score_sum = volunteer_daily.score_sum + EXCLUDED.score_sum,
                score_count = volunteer_daily.score_count + EXCLUDED.score_count)
        INSERT INTO hours_ledger (user_id, task_id, participation_id, community_id, kind, hours, recorded_by_id,
                                  created_at, service_name, organizer, place, service_started_at,
                                  service_ended_at, confirmed_by)
        SELECT p.user_id, p.task_id, p.id, m.community_id, 'credit', 2, {d['admin']}, p.confirmed_at,
               '志愿服务', '', '', p.starts_at, p.ends_at, 'organizer'
        FROM p JOIN bench_tasks m ON m.id = p.task_id"""))


def _events(c: sa.Connection, d: dict, g0: int, g1: int) -> None:
    """Grid events: eight in ten closed (one in seven of those late), the rest open."""
    grids, gcom = d["grids"], d["grid_communities"]
    n = len(grids)
    first_id = c.scalar(sa.text("SELECT coalesce(max(id), 0) FROM grid_events"))
    c.execute(sa.text(f"""
        INSERT INTO grid_events (grid_id, community_id, owner_org_id, category, title, description, lat, lng,
                                 urgency, state, is_open, reporter_id, reporter_role, rework_count, escalations,
                                 followers, step, step_started_at, deadline_at, late, created_at, closed_at,
                                 content_state)
        SELECT ({_arr(grids)})[1 + g % {n}], ({_arr(gcom)})[1 + g % {n}], ({_arr(gcom)})[1 + g % {n}],
               ({CATEGORIES})[1 + abs(hashint4(g)) % 6], '网格事件', '', 21.858, 111.962, 'normal',
               CASE WHEN g % 10 < 8 THEN 'closed' WHEN g % 10 = 8 THEN 'reported' ELSE 'in_progress' END,
               g % 10 >= 8, {d['first_user']} + g % {d['users']}, 'resident', 0, (g % 20 = 0)::int, 0,
               CASE WHEN g % 10 >= 8 THEN 'handle' END, CASE WHEN g % 10 >= 8 THEN s.at END,
               CASE WHEN g % 10 >= 8 THEN s.at + interval '48 hours' END, g % 7 = 0, s.at,
               CASE WHEN g % 10 < 8 THEN s.at + (1 + g % 72) * interval '1 hour' END, 'visible'
        FROM (SELECT g, date_trunc('hour', {NOW}) - (1 + g % {DAYS}) * interval '1 day'
                        + (g % 24) * interval '1 hour' AS at
              FROM generate_series({g0}, {g1 - 1}) AS g) AS s"""))
    # their figures in the per-day aggregate the statistics read, as the app keeps it (app.grid.daily)
    c.execute(sa.text(f"""
        INSERT INTO grid_daily (community_id, day, category, state, events, late, close_microseconds, rework,
                                escalations)
        SELECT community_id, CAST((created_at AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai' AS DATE), category,
               state, count(*), count(*) FILTER (WHERE late),
               coalesce(sum(CAST(ROUND(EXTRACT(EPOCH FROM (closed_at - created_at)) * 1000000) AS BIGINT)), 0),
               sum(rework_count), sum(escalations)
        FROM grid_events WHERE id > {first_id}
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (community_id, day, category, state) DO UPDATE SET
            events = grid_daily.events + EXCLUDED.events, late = grid_daily.late + EXCLUDED.late,
            close_microseconds = grid_daily.close_microseconds + EXCLUDED.close_microseconds,
            rework = grid_daily.rework + EXCLUDED.rework,
            escalations = grid_daily.escalations + EXCLUDED.escalations"""))


AGGREGATES = ("checkin_daily_counts", "volunteer_daily", "grid_daily")
KINDS = (("checkins", _checkins, ("checkins", "checkin_attempts")),
         ("volunteering", _volunteering, ("participations", "hours_ledger")),
         ("events", _events, ("grid_events",)))
# growing by more rows than this, the tables' plain indexes (those behind no
# constraint) are dropped first and built again after: one sort instead of
# millions of scattered inserts
REBUILD_ABOVE = int(os.environ.get("BENCH_REBUILD_ABOVE", 2_000_000))


def _drop_indexes(c: sa.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes of ``tables`` that back no constraint; their definitions."""
    rows = c.execute(sa.text("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""),
        {"tables": list(tables)}).all()
    for name, _ in rows:
        c.execute(sa.text(f"DROP INDEX {name}"))
    c.commit()
    return [definition for _, definition in rows]


def grow(c: sa.Connection, d: dict, target: int, log=print) -> float:
    """Grow district ``d`` to ``target`` rows of each kind; the seconds it took."""
    started = time.perf_counter()
    c.execute(sa.text("SET session_replication_role = replica"))
    c.execute(sa.text("SET synchronous_commit = off"))
    c.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_tasks (tag text, t int, id int PRIMARY KEY, "
                      "community_id int, starts_at timestamp, ends_at timestamp, UNIQUE (tag, t))"))
    c.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_history (tag text, kind text, rows bigint, "
                      "PRIMARY KEY (tag, kind))"))
    c.commit()
    c.execute(sa.text("SET maintenance_work_mem = '512MB'"))
    for kind, fill, tables in KINDS:
        have = c.scalar(sa.text("SELECT rows FROM bench_history WHERE tag = :t AND kind = :k"),
                        {"t": d["tag"], "k": kind}) or 0
        dropped = _drop_indexes(c, tables) if target - have > REBUILD_ABOVE else []
        for g0 in range(have, target, BATCH):
            g1 = min(g0 + BATCH, target)
            t = time.perf_counter()
            fill(c, d, g0, g1)
            c.execute(sa.text("INSERT INTO bench_history VALUES (:t, :k, :n) ON CONFLICT (tag, kind) "
                              "DO UPDATE SET rows = EXCLUDED.rows"), {"t": d["tag"], "k": kind, "n": g1})
            c.commit()
            log(f"  {d['tag']} {kind}: {g1:,} rows ({time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        for definition in dropped:
            c.execute(sa.text(definition))
            c.commit()
        if dropped:
            log(f"  {d['tag']} {kind}: {len(dropped)} indexes built again ({time.perf_counter() - t:.1f} s)")
    c.execute(sa.text("SET session_replication_role = origin"))
    c.commit()
    return time.perf_counter() - started


def main(out: Path, target: int) -> None:
    state = json.loads((out / "state.json").read_text())
    engine = sa.create_engine(state["database_url"])
    with engine.connect() as c:
        seconds = grow(c, state["district"], target, log=lambda m: print(m, file=sys.stderr))
        t = time.perf_counter()
        c.execution_options(isolation_level="AUTOCOMMIT")
        # Each batch rewrote every day's row of the per-day aggregates (ten
        # versions of each at 10^7, 33 MB for 56,000 rows); a live database
        # writes a past day's rows while the day lasts and then leaves them:
        # compacted, as that database's would be.
        for table in AGGREGATES:
            c.execute(sa.text(f"VACUUM FULL {table}"))
        c.execute(sa.text("VACUUM ANALYZE"))  # visibility map and statistics, as a live database has them
        # and the gigabytes just written flushed now, not by the checkpointer
        # while the endpoints are timed
        c.execute(sa.text("CHECKPOINT"))
    print(json.dumps({"rows": target, "seed_seconds": round(seconds, 1),
                      "vacuum_seconds": round(time.perf_counter() - t, 1)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(float(sys.argv[2])))
