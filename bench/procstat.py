"""CPU time (user + system, in clock ticks) of the app under test: the
gunicorn master and its workers, and the PostgreSQL backends connected to
the benchmark's database (other databases' backends, e.g. test suites
running beside, are left out). Read before and after a scenario.

    python -m bench.procstat GUNICORN_PID DBNAME     # prints {"app": ticks, "db": ticks}
"""
from __future__ import annotations

import json
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, utime + stime) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def sample(gunicorn_pid: int, dbname: str) -> dict[str, int]:
    app = db = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        stat = _stat(pid)
        if stat is None:
            continue
        ppid, ticks = stat
        if int(pid) == gunicorn_pid or ppid == gunicorn_pid:
            app += ticks
        elif f" {dbname} " in _cmdline(pid) and _cmdline(pid).startswith("postgres: "):
            db += ticks
    return {"app": app, "db": db}


if __name__ == "__main__":
    print(json.dumps({**sample(int(sys.argv[1]), sys.argv[2]), "hz": TICKS}))
