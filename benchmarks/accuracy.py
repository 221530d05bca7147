"""How close does `asgilab.load` come to the ideal, and to wrk and hey, on this machine?

    python benchmarks/accuracy.py

Serves the demo app, then measures (best of 3, after a warm-up): wall time over the ideal for
100 x 100 ms ``/async-sleep``, ``/sync-sleep`` at 40, 41 and 120 concurrent requests (ideal
ceil(N/40) x 0.1 s: AnyIO's 40 threads), 10 x 100 ms ``/blocking-sleep`` (ideal 1 s, one at a time),
and ``/hello`` requests per second against wrk on the same server in the same run. For the bursts,
hey (a Go load generator) is measured the same way: where hey is no closer to the ideal than we
are, the gap is the server's own per-request work, not the tool's.

Prints a table and exits 1 when a target is missed. Not a timed test: shared machines are noisy.
"""

from __future__ import annotations

import math
import sys

from asgilab import load_sync, serve
from asgilab.external import hey, wrk

REPEATS = 3
TARGET_RATIO = 1.15
TARGET_STEP = 1.7
TARGET_RPS_SHARE = 0.9


def best_wall(url: str, n: int) -> float:
    load_sync(url, n, n, warmup=n)
    return min(load_sync(url, n, n, timeout=30, deadline=120).wall_s for _ in range(REPEATS))


def best_hey_wall(url: str, n: int) -> float:
    return min(hey(url, requests=n, concurrency=n).wall_s for _ in range(REPEATS))


def main() -> int:
    rows = []
    with serve("asgilab.apps.demo:app") as server:
        cases = [
            ("async-sleep 100 x 100 ms", "/async-sleep?ms=100", 100, 0.1),
            ("sync-sleep 40 x 100 ms", "/sync-sleep?ms=100", 40, 0.1),
            ("sync-sleep 41 x 100 ms", "/sync-sleep?ms=100", 41, 0.2),
            ("sync-sleep 120 x 100 ms", "/sync-sleep?ms=100", 120, 0.3),
            ("blocking-sleep 10 x 100 ms", "/blocking-sleep?ms=100", 10, 1.0),
        ]
        walls = {}
        for name, path, n, ideal in cases:
            ours = best_wall(server.url + path, n)
            theirs = best_hey_wall(server.url + path, n)
            walls[n if "sync-sleep" in name and "blocking" not in name else name] = ours
            rows.append((name, ideal, ours, theirs))
        hello = server.url + "/hello"
        load_sync(hello, 2000, 50)
        cpu_before = server.cpu_seconds()
        our_runs = [load_sync(hello, 10_000, 50, deadline=60) for _ in range(REPEATS)]
        server_ms = (server.cpu_seconds() - cpu_before) / sum(r.ok for r in our_runs) * 1000
        our_rps = max(r.throughput_rps for r in our_runs)
        wrk_rps = max(wrk(hello, duration=2, connections=50, threads=1).throughput_rps for _ in range(REPEATS))

    failures = 0
    print(f"{'case':28} {'ideal':>7} {'asgilab':>9} {'ratio':>6} {'hey':>9} {'ratio':>6}  target")
    for name, ideal, ours, theirs in rows:
        ok = ours / ideal <= TARGET_RATIO
        failures += not ok
        print(
            f"{name:28} {ideal:7.3f} {ours:9.3f} {ours / ideal:6.2f} {theirs:9.3f} {theirs / ideal:6.2f}"
            f"  <= {TARGET_RATIO} {'ok' if ok else 'MISSED'}"
        )
    step = walls[41] / walls[40]
    ok = step >= TARGET_STEP
    failures += not ok
    print(f"thread-pool step wall(41)/wall(40): {step:.2f}  target >= {TARGET_STEP} {'ok' if ok else 'MISSED'}")
    share = our_rps / wrk_rps if wrk_rps else math.nan
    ok = share >= TARGET_RPS_SHARE
    failures += not ok
    print(
        f"/hello req/s: asgilab {our_rps:.0f}, wrk {wrk_rps:.0f}, share {share:.2f}"
        f"  target >= {TARGET_RPS_SHARE} {'ok' if ok else 'MISSED'}"
    )
    print(
        f"server CPU per /hello request: {server_ms:.3f} ms (the floor under any burst's wall time:"
        f" 100 requests cost the server about {100 * server_ms:.0f} ms of one core)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
