"""Time each statistics and list endpoint with one request at a time (no
concurrency: the figure is the endpoint's own cost at this history size).

    python -m bench.latency OUT_DIR PORT ROWS [REQUESTS]   # appends to OUT_DIR/history.jsonl

The statistics take ``org_id``, ``from`` and ``to`` as dates (YYYY-MM-DD),
all four alike. Each endpoint gets
REQUESTS requests after a warm-up, or fewer (at least 3) when they take
more than ``BENCH_ENDPOINT_BUDGET`` seconds (90) in all: the row says how many.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

WARMUP = 2
TIMEOUT = 600.0
SLOW = 5.0  # seconds: no warm-up request beyond the first call
# an endpoint slower than BUDGET / REQUESTS stops after BUDGET seconds (at least
# MIN_REQUESTS requests): at 10^7 rows one answer can take a minute
BUDGET = float(os.environ.get("BENCH_ENDPOINT_BUDGET", "90"))
MIN_REQUESTS = 3


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


def get(port: int, token: str, path: str) -> tuple[str, float]:
    """The status (or ``timeout``) and the seconds of one request, on a new connection."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        status = str(response.status)
    except TimeoutError:
        status = "timeout"
    finally:
        conn.close()
    return status, time.perf_counter() - started


def main(out: Path, port: int, rows: int, requests: int) -> None:
    state = json.loads((out / "state.json").read_text())
    with (out / "history.jsonl").open("a") as results:
        for name, token_file, path in endpoints(state):
            token = (out / token_file).read_text().strip()
            note = ""
            status, seconds = get(port, token, path)
            if seconds < SLOW:  # a slow endpoint's first call warmed it enough
                for _ in range(WARMUP - 1):
                    get(port, token, path)
            timings, statuses = [], {}
            started = time.perf_counter()
            for _ in range(requests):
                status, seconds = get(port, token, path)
                timings.append(seconds * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if len(timings) >= MIN_REQUESTS and time.perf_counter() - started > BUDGET:
                    break
            row = {"name": name, "rows": rows, "median_ms": statistics.median(timings),
                   "max_ms": max(timings), "requests": len(timings), "status": statuses, "note": note}
            results.write(json.dumps(row) + "\n")
            results.flush()
            print(f"  n={rows:,} {name}: median {row['median_ms']:.1f} ms of {len(timings)} {statuses} {note}",
                  file=sys.stderr)

if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(float(sys.argv[3])), int(sys.argv[4]) if len(sys.argv) > 4 else 20)
