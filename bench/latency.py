"""Time each statistics and list endpoint with one request at a time (no
concurrency: the figure is the endpoint's own cost at this history size).

    python -m bench.latency OUT_DIR PORT ROWS [REQUESTS]   # appends to OUT_DIR/history.jsonl

The statistics take ``org_id``, ``from`` and ``to`` as dates (YYYY-MM-DD);
where an endpoint still refuses dates (400/422), it is asked with times
(ISO 8601 with offset) instead and the row says so.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

WARMUP = 2


def endpoints(state: dict) -> list[tuple[str, str, str]]:
    """(name, token file, path) of every endpoint timed."""
    today = dt.date.today()
    period = f"from={today - dt.timedelta(days=60)}&to={today}"
    district, control, center = state["district_id"], state["control_id"], state["center_id"]
    out = []
    for stats in ("checkins", "volunteers", "grid"):
        out.append((f"stats/{stats}, district", "admin_token.txt", f"/api/v1/stats/{stats}?org_id={district}&{period}"))
        out.append((f"stats/{stats}, control", "admin_token.txt", f"/api/v1/stats/{stats}?org_id={control}&{period}"))
    out += [
        ("grid-events, member who sees one", "viewer_token.txt", "/api/v1/grid-events"),
        ("center checkins ?status=failed", "admin_token.txt", f"/api/v1/centers/{center}/checkins?status=failed"),
        ("center checkins ?purpose=meeting", "admin_token.txt", f"/api/v1/centers/{center}/checkins?purpose=meeting"),
        ("tasks ?near=lat,lng", "viewer_token.txt", "/api/v1/tasks?near=21.858,111.962"),
    ]
    return out


def _as_times(path: str) -> str:
    """The same period as times with their offset (the older form of the parameters)."""
    head, _, query = path.partition("?")
    parts = []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key in ("from", "to"):
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if key == "to" else 0)
            value = f"{day}T00:00:00%2B08:00"
        parts.append(f"{key}={value}")
    return head + "?" + "&".join(parts)


def get(port: int, token: str, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


def main(out: Path, port: int, rows: int, requests: int) -> None:
    state = json.loads((out / "state.json").read_text())
    with (out / "history.jsonl").open("a") as results:
        for name, token_file, path in endpoints(state):
            token = (out / token_file).read_text().strip()
            note = ""
            status, _ = get(port, token, path)
            if status in (400, 422) and "from=" in path:
                path, note = _as_times(path), "times"
                status, _ = get(port, token, path)
            for _ in range(WARMUP - 1):
                get(port, token, path)
            timings, statuses = [], {}
            for _ in range(requests):
                status, seconds = get(port, token, path)
                timings.append(seconds * 1000)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            row = {"name": name, "rows": rows, "median_ms": statistics.median(timings),
                   "max_ms": max(timings), "status": statuses, "note": note}
            results.write(json.dumps(row) + "\n")
            print(f"  n={rows:,} {name}: median {row['median_ms']:.1f} ms {statuses} {note}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(float(sys.argv[3])), int(sys.argv[4]) if len(sys.argv) > 4 else 20)
