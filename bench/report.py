"""Turn the run's JSON lines into the tables, and judge the targets.

    python -m bench.report OUT_DIR     # exits 1 (after a FAILED line) when the open-loop run misses

The open-loop check-in run fails when it answered fewer than 99 % of the
target rate, had a p99 of 50 ms or more (from the scheduled send time), or
any error or unexpected answer. Ratios of an endpoint's median at a larger
history to the smallest above 1.5 are flagged; targets on throughput ratios
are reported, not enforced (they are not met today).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

P99_LIMIT_MS = 50.0
RATE_TOLERANCE = 0.99
RATIO_FLAG = 1.5
# scenario name -> the least share of bare's rate it should reach
RATE_TARGETS = {"check-in, first of the day": 0.70, "accept, places left": 0.75}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _cpu_ms(r: dict) -> float | None:
    cpu = r.get("cpu")
    if not cpu or not r.get("requests"):
        return None
    return (cpu["app"] + cpu["db"]) * 1000 / cpu["hz"] / r["requests"]


def _expected(r: dict) -> tuple[float, str]:
    total = sum(r["status"].values()) + r.get("errors", 0) or 1
    expected = sum(v for k, v in r["status"].items() if k in r["expect"]) / total
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["status"].items()))
    if r.get("errors"):
        statuses += f", errors: {r['errors']}"
    return expected, statuses


def throughput(rows: list[dict]) -> tuple[str, list[str]]:
    """The table of the closed-loop and open-loop scenarios, and what missed its target."""
    bare = next((r for r in rows if r["name"] == "bare insert (baseline)"), None)
    bare_cpu = _cpu_ms(bare) if bare else None
    lines = ["| scenario | load 1/5 min | req/s | vs bare | p50 ms | p95 ms | p99 ms "
             "| CPU ms/req (app + db) | CPU vs bare | expected answers |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    failures: list[str] = []
    notes: list[str] = []
    for r in rows:
        expected, statuses = _expected(r)
        cpu = _cpu_ms(r)
        if r.get("selftest"):
            name = f"open-loop generator vs a stub server, {r['target_rps']:.0f}/s (its own limit)"
            ratio = f"{r['rps'] / r['target_rps']:.0%} of target"
            cpu = None
        elif r.get("open_loop"):
            name = f"{r['name']} (open loop, target {r['target_rps']:.0f}/s)"
            ratio = f"{r['rps'] / r['target_rps']:.0%} of target"
        else:
            name = r["name"]
            ratio = f"{r['rps'] / bare['rps']:.0%}" if bare else "—"
        cpu_text = f"{cpu:.2f} ({r['cpu']['app'] * 1000 / r['cpu']['hz'] / r['requests']:.2f} + " \
                   f"{r['cpu']['db'] * 1000 / r['cpu']['hz'] / r['requests']:.2f})" if cpu is not None else "—"
        cpu_ratio = f"{cpu / bare_cpu:.2f}×" if cpu is not None and bare_cpu else "—"
        lines.append(f"| {name} | {r.get('load', '—')} | {r['rps']:.0f} | {ratio} | {r['p50_ms']:.1f} | "
                     f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {cpu_text} | {cpu_ratio} | "
                     f"{expected:.1%} ({statuses}) |")
        if r.get("selftest"):
            if r["rps"] < RATE_TOLERANCE * r["target_rps"] or r["p99_ms"] >= P99_LIMIT_MS:
                notes.append(f"NOTE: the generator alone, against a stub server, reached {r['rps']:.0f} req/s, "
                             f"p99 {r['p99_ms']:.1f} ms: this machine is too loaded now to judge the open-loop "
                             "target (the run still counts as FAILED if the app misses it)")
        elif r.get("open_loop"):
            if r["rps"] < RATE_TOLERANCE * r["target_rps"]:
                failures.append(f"FAILED: {r['name']}: {r['rps']:.0f} req/s answered, target {r['target_rps']:.0f}")
            if r["p99_ms"] >= P99_LIMIT_MS:
                failures.append(f"FAILED: {r['name']}: p99 {r['p99_ms']:.1f} ms from the scheduled send "
                                f"(limit < {P99_LIMIT_MS:.0f} ms)")
            if expected < 1:
                failures.append(f"FAILED: {r['name']}: {expected:.1%} expected answers ({statuses})")
    return "\n".join(lines), notes + failures


def targets(rows: list[dict]) -> list[str]:
    """Throughput targets as ratios of bare: reported, not enforced."""
    bare = next((r for r in rows if r["name"] == "bare insert (baseline)"), None)
    out = []
    for r in rows:
        target = RATE_TARGETS.get(r["name"])
        if bare and target is not None:
            share = r["rps"] / bare["rps"]
            verdict = "met" if share >= target else "NOT MET"
            out.append(f"target {verdict}: {r['name']} at {share:.0%} of bare (target ≥ {target:.0%})")
    return out


def history(rows: list[dict], seeds: list[dict]) -> tuple[str, list[str]]:
    """Median per endpoint at each history size, and its ratios to the smallest."""
    sizes = sorted({r["rows"] for r in rows})
    if not sizes:
        return "", []
    names = list(dict.fromkeys(r["name"] for r in rows))
    by = {(r["name"], r["rows"]): r for r in rows}
    first = sizes[0]
    most = max(r.get("requests", 0) for r in rows)
    # the last two sizes' ratio too (not flagged): whether the time still grows
    # once the smallest size's aggregates are no longer sparser than the big ones
    steps = [(sizes[-1], sizes[-2])] if len(sizes) > 2 else []
    head = ["endpoint", *[f"median ms, n={s:,}" for s in sizes], *[f"{s:,}/{first:,}" for s in sizes[1:]],
            *[f"{a:,}/{b:,}" for a, b in steps]]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    flags = []
    for name in names:
        cells = [name]
        for s in sizes:
            r = by.get((name, s))
            bad = r and set(r["status"]) != {"200"}
            cells.append("—" if r is None else f"{r['median_ms']:.1f}" + (f" ({r['status']})" if bad else "")
                         + (" (times)" if r.get("note") else "")
                         + (f" ({r['requests']} req)" if r and r.get("requests", most) < most else ""))
        base = by.get((name, first))
        for s in sizes[1:]:
            r = by.get((name, s))
            if base is None or r is None:
                cells.append("—")
                continue
            ratio = r["median_ms"] / base["median_ms"]
            cells.append(f"**{ratio:.2f} ⚠**" if ratio > RATIO_FLAG else f"{ratio:.2f}")
            if ratio > RATIO_FLAG:
                flags.append(f"SLOWER WITH HISTORY: {name}: {ratio:.2f}× at n={s:,} vs n={first:,}")
        for a, b in steps:
            big, small = by.get((name, a)), by.get((name, b))
            cells.append(f"{big['median_ms'] / small['median_ms']:.2f}" if big and small else "—")
        lines.append("| " + " | ".join(cells) + " |")
    seeded = ", ".join(f"to n={s['rows']:,} in {s['seed_seconds']:.0f} s (+ {s['vacuum_seconds']:.0f} s VACUUM ANALYZE)"
                       for s in seeds)
    if seeded:
        lines.append("")
        lines.append("History grown (each of check-ins, attempts, participations, hours credits, "
                     f"grid events): {seeded}.")
    return "\n".join(lines), flags


def main(out: Path) -> int:
    table, failures = throughput(_read(out / "results.jsonl"))
    print(table)
    print()
    hist, flags = history(_read(out / "history.jsonl"), _read(out / "seed.jsonl"))
    if hist:
        print(hist)
        print()
    for line in [*targets(_read(out / "results.jsonl")), *flags, *failures]:
        print(line)
    failed = any(line.startswith("FAILED") for line in failures)
    if not failed:
        print("open-loop check-in: PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
