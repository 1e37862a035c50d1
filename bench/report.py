"""Turn wrk's RESULT lines into one table (``python -m bench.report results.jsonl``)."""
from __future__ import annotations

import json
import sys


def table(rows: list[dict]) -> str:
    bare = next((r for r in rows if r["name"] == "bare insert (baseline)"), None)
    lines = ["| scenario | req/s | vs bare | p50 ms | p95 ms | p99 ms | expected answers |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        total = sum(r["status"].values()) or 1
        expected = sum(v for k, v in r["status"].items() if k in r["expect"]) / total
        ratio = f"{r['rps'] / bare['rps']:.0%}" if bare and not r.get("rate") else "—"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["status"].items()))
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {ratio} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {expected:.1%} ({statuses}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as results:
        print(table([json.loads(line) for line in results if line.strip()]))
