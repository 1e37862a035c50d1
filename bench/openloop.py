"""An open-loop load generator: requests leave on a fixed schedule, whatever
the server answers, and each latency is counted from the request's
scheduled send time (corrected for coordinated omission, as wrk2 does).

A closed loop (wrk) waits for each answer before the next request, so a
slow server lowers the rate it is offered and its queueing never shows in
the latencies. Here request i is due at start + i / rate; if every
connection is busy it waits in line, and that wait is part of its latency.

    python -m bench.openloop --rate 300 --duration 10 --port 8077 --dir bench/out --tokens tokens_rate.txt

Prints one JSON line (requests, achieved rate, p50/p95/p99/max from the
scheduled time, statuses, errors). A request still waiting ``--timeout``
seconds after its scheduled time is not sent (lost): the run ends at most
that long after the schedule, and unanswered requests count as infinitely
late in the percentiles. Only 127.0.0.1 is ever a target.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from pathlib import Path

HOST = "127.0.0.1"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of sorted ``values``."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


class Connection:
    """One HTTP/1.1 connection, reopened whenever the server closes it
    (gunicorn's sync workers close after every answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        length = int(headers.get("content-length", "0"))
        if length:
            await self.reader.readexactly(length)
        if headers.get("connection", "").lower() == "close" or lines[0].startswith("HTTP/1.0"):
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def checkin_requests(out: Path, tokens_file: str):
    """Request i: member i (a different one each time) checks in at center i."""
    tokens = _lines(out / tokens_file)
    codes = _lines(out / "codes.txt")

    def build(i: int) -> bytes:
        k = i % len(tokens)
        body = json.dumps({"code": codes[k % len(codes)],
                           "location": {"lat": 21.858, "lng": 111.962, "accuracy": 20}}).encode()
        return (f"POST /api/v1/checkins HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {tokens[k]}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    return build, len(tokens)


async def run(port: int, rate: float, duration: float, connections: int, build, timeout: float) -> dict:
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = lost = 0
    done_at = 0.0

    async def worker() -> None:
        nonlocal errors, lost, done_at
        conn = Connection(port)
        while (job := await queue.get()) is not None:
            i, due = job
            if time.perf_counter() - due > timeout:  # so late it counts as lost (and the run ends)
                lost += 1
                continue
            try:
                status = await asyncio.wait_for(conn.request(build(i)), timeout)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                errors += 1
                conn.close()
                continue
            now = time.perf_counter()
            latencies.append(now - due)
            done_at = max(done_at, now)
        conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))  # sent on time; waits in line if every connection is busy
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), duration + 60)
    answered = len(latencies)
    # an unanswered request (lost, refused, timed out) has no latency: it counts as infinitely late
    latencies = sorted(latencies) + [math.inf] * (total - answered)
    # achieved: answers per second from the first scheduled send to the last answer
    elapsed = max(done_at - start, total / rate)
    return {"requests": answered, "scheduled": total, "seconds": round(elapsed, 3),
            "rps": answered / elapsed, "target_rps": rate,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "max_ms": latencies[-1] * 1000 if latencies else 0,
            "errors": errors + lost, "lost": lost, "status": statuses, "open_loop": True}

async def _stub(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that answers 201 at once and closes, as gunicorn's sync workers do."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    writer.close()


async def selftest(rate: float, duration: float, connections: int, build, timeout: float) -> dict:
    """The generator against a stub server in the same process: what this
    machine, as loaded now, lets the generator itself reach."""
    server = await asyncio.start_server(_stub, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await run(port, rate, duration, connections, build, timeout)
    return {**result, "selftest": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="the server under test (on 127.0.0.1)")
    parser.add_argument("--selftest", action="store_true",
                        help="instead, against a stub server in this process: the generator's own limit")
    parser.add_argument("--rate", type=float, required=True, help="requests per second, on a fixed schedule")
    parser.add_argument("--duration", type=float, required=True, help="seconds of sending")
    parser.add_argument("--connections", type=int, default=64, help="at most this many requests in flight")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--tokens", required=True)
    args = parser.parse_args()
    build, distinct = checkin_requests(args.dir, args.tokens)
    if args.rate * args.duration > distinct:
        parser.error(f"{int(args.rate * args.duration)} requests but {distinct} members: some would be duplicates")
    if args.selftest:
        result = asyncio.run(selftest(args.rate, args.duration, args.connections, build, args.timeout))
    elif args.port:
        result = asyncio.run(run(args.port, args.rate, args.duration, args.connections, build, args.timeout))
    else:
        parser.error("--port or --selftest")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
