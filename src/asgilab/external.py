"""Load from tools written in C and Go, to check our own load generator against them.

    from asgilab import external
    with serve("asgilab.apps.demo:app") as server:
        w = external.wrk(server.url + "/hello", duration=2, connections=50)   # a WrkRun
        h = external.hey(server.url + "/hello", requests=500, concurrency=50)  # a Run, like load()

``wrk`` (https://github.com/wg/wrk) is a closed loop written in C: each connection sends its next
request when the last one answered, for ``duration`` seconds; it reports only summary figures, which
we read from a small Lua ``done()`` hook, so a `WrkRun` carries plain numbers. ``hey``
(https://github.com/rakyll/hey) is written in Go; with ``-o csv`` it prints one line per request,
so `hey` returns a real `Run` with one `Record` each and every table and plot of the course works on it.

Both tools are external programs: ``sudo apt-get install wrk hey`` on Debian and Ubuntu (CI does
so), ``brew install wrk hey`` on macOS. Like `asgilab.load`, they load this machine's loopback only,
and every run is bounded (a duration or a request count, plus a timeout for the process itself).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from asgilab.loopback import check_loopback
from asgilab.machine import reaped_children_cpu_s, server_cpu
from asgilab.results import Record, Run

__all__ = ["TOOLS", "ToolMissing", "WrkRun", "available", "hey", "require", "wrk"]

TOOLS = ("wrk", "hey")
INSTALL_HINT = "sudo apt-get install wrk hey (Debian/Ubuntu; CI does this) or brew install wrk hey (macOS)"
MAX_DURATION_S = 60.0
MAX_REQUESTS = 200_000
MAX_CONNECTIONS = 10_000
PROCESS_GRACE_S = 15.0  # on top of the run's own bound, before we kill a tool that hangs

# wrk calls done() once at the end; one line of JSON is easier to read back than its report.
_WRK_DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'ASGILAB_WRK {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "status": %d, "timeout": %d, "mean_us": %f, "max_us": %d,'
    .. ' "p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
"""
_WRK_MARKER = "ASGILAB_WRK "
_HEY_HEADER = "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"


class ToolMissing(RuntimeError):
    """An external load tool is not installed. The message says how to install it."""


def available(tool: str) -> bool:
    """True when ``tool`` (``"wrk"`` or ``"hey"``) is on the PATH."""
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
    return shutil.which(tool) is not None


def require(tool: str) -> str:
    """The full path of ``tool``; `ToolMissing` naming the install command when it is absent."""
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool!r} is not installed or not on the PATH; install it with: {INSTALL_HINT}")
    return path


@dataclass
class WrkRun:
    """What one ``wrk`` run measured, as plain numbers (seconds, requests per second).

    Where it shares a name with `Run` it means the same (`asgilab.results.RunLike`): ``requests``
    were sent, ``ok`` answered 2xx/3xx, ``errors`` failed (their kinds in ``error_kinds``: wrk's
    ``status`` for other answers, ``connect``/``read``/``write``/``timeout`` for socket errors), and
    ``throughput_rps`` and the percentiles are of the ``ok`` ones, so it can stand next to `Run` bars.
    ``completed`` is wrk's own count: requests that got an answer, of any status.
    ``cpu_s`` is the CPU time (user + system) the wrk process itself used: the tool's own cost.
    """

    url: str
    connections: int
    threads: int
    duration_s: float
    completed: int
    wall_s: float
    mean_s: float
    p50_s: float
    p90_s: float
    p99_s: float
    max_s: float
    error_kinds: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    cpu_s: float = math.nan
    label: str | None = None
    output: str = field(default="", repr=False)
    engine: str = "wrk"

    @property
    def name(self) -> str:
        return self.label or f"wrk -c {self.connections}"

    @property
    def ok(self) -> int:
        return self.completed - self.error_kinds.get("status", 0)

    @property
    def errors(self) -> int:
        return sum(self.error_kinds.values())

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def concurrency(self) -> int:
        return self.connections

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "output"}
        d.update(
            name=self.name, requests=self.requests, ok=self.ok, errors=self.errors, throughput_rps=self.throughput_rps
        )
        return d

    def summary(self) -> str:
        errors = {k: v for k, v in self.error_kinds.items() if v}
        text = (
            f"{self.name}: {self.ok}/{self.requests} ok in {self.wall_s:.3f} s ({self.throughput_rps:.0f} req/s)"
            f" with {self.connections} connections; p50 {self.p50_s * 1000:.1f} ms,"
            f" p99 {self.p99_s * 1000:.1f} ms, max {self.max_s * 1000:.1f} ms"
        )
        return text + (f"; errors {errors}" if errors else "")

    def __repr__(self) -> str:
        return f"<WrkRun {self.summary()}>"


def _run_tool(args: list[str], bound_s: float) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            args,
            check=False,
            capture_output=True,
            text=True,
            timeout=bound_s + PROCESS_GRACE_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{args[0]} did not finish within {bound_s + PROCESS_GRACE_S:g} s; it was killed") from exc
    if result.returncode != 0:
        raise RuntimeError(
            f"{os.path.basename(args[0])} exited with code {result.returncode}:\n{result.stderr or result.stdout}"
        )
    return result


def _check_common(url: str, allow_remote: bool, concurrency: int, timeout: float) -> None:
    check_loopback(url, allow_remote)
    if not 1 <= concurrency <= MAX_CONNECTIONS:
        raise ValueError(f"connections/concurrency must be between 1 and {MAX_CONNECTIONS}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError("timeout must be a positive, finite number of seconds")


def wrk(
    url: str,
    duration: float = 2.0,
    connections: int = 10,
    *,
    threads: int = 1,
    timeout: float = 10.0,
    label: str | None = None,
    allow_remote: bool = False,
) -> WrkRun:
    """Run ``wrk`` against ``url`` for ``duration`` seconds on ``connections`` keep-alive connections.

    wrk counts time in whole seconds: ``duration`` and ``timeout`` (per request) are rounded up.
    ``threads`` defaults to 1: on a small machine wrk's threads compete with the server for cores.
    Returns a `WrkRun`.
    """
    _check_common(url, allow_remote, connections, timeout)
    if not 0 < duration <= MAX_DURATION_S:
        raise ValueError(f"duration must be between 0 and {MAX_DURATION_S:g} seconds")
    seconds, timeout_s = max(1, math.ceil(duration)), max(1, math.ceil(timeout))  # wrk takes whole seconds
    if not 1 <= threads <= connections:
        raise ValueError("threads must be at least 1 and at most connections")
    exe = require("wrk")
    with tempfile.NamedTemporaryFile("w", prefix="asgilab-wrk-", suffix=".lua", delete=False) as script:
        script.write(_WRK_DONE_LUA)
    try:
        args = [
            exe,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            script.name,
            url,
        ]
        cpu_before = reaped_children_cpu_s()
        result = _run_tool(args, seconds + timeout_s)
        cpu_s = reaped_children_cpu_s() - cpu_before  # wrk's own CPU (another child ending meanwhile would count too)
    finally:
        os.unlink(script.name)
    run = parse_wrk(result.stdout, url=url, connections=connections, threads=threads, duration=seconds, label=label)
    run.cpu_s = cpu_s
    return run


def parse_wrk(
    output: str, *, url: str, connections: int, threads: int = 1, duration: float = math.nan, label: str | None = None
) -> WrkRun:
    """Read the figures our Lua hook printed in wrk's output."""
    line = next((ln for ln in output.splitlines() if ln.startswith(_WRK_MARKER)), None)
    if line is None:
        raise RuntimeError(f"could not find wrk's summary line in its output:\n{output}")
    d = json.loads(line[len(_WRK_MARKER) :])
    us = 1e-6
    return WrkRun(
        url=url,
        connections=connections,
        threads=threads,
        duration_s=duration,
        completed=d["requests"],
        wall_s=d["duration_us"] * us,
        mean_s=d["mean_us"] * us,
        p50_s=d["p50_us"] * us,
        p90_s=d["p90_us"] * us,
        p99_s=d["p99_us"] * us,
        max_s=d["max_us"] * us,
        error_kinds={k: d[k] for k in ("connect", "read", "write", "status", "timeout")},
        bytes_read=d["bytes"],
        label=label,
        output=output,
    )


def hey(
    url: str,
    requests: int = 200,
    concurrency: int = 50,
    *,
    rate: float | None = None,
    keepalive: bool = True,
    timeout: float = 10.0,
    deadline: float = 60.0,
    label: str | None = None,
    allow_remote: bool = False,
    cpu_of: Iterable[Any] = (),
) -> Run:
    """Run ``hey -n requests -c concurrency`` against ``url``; return a `Run` with one `Record` each.

    ``rate`` (requests per second in total) becomes hey's ``-q``, a rate *per worker*: each worker
    still waits for its answer before it sends again, so this is a throttled closed loop, not an
    open loop like ``load(rate=...)``. ``keepalive=False`` opens a new connection for every request
    (``-disable-keepalive``), so a server with several workers hands out each request, not each
    connection, to whichever worker accepts it first. ``timeout`` is per request (whole seconds, at least 1);
    ``deadline`` bounds the whole run (the process is killed after it, plus a grace period).
    hey's CSV lists successful answers only; requests missing from it are recorded as errors.
    ``cpu_of`` records the servers' CPU time over the run, as in `asgilab.load` (for `asgilab.speedup`).
    """
    _check_common(url, allow_remote, concurrency, timeout)
    if not 1 <= requests <= MAX_REQUESTS:
        raise ValueError(f"requests must be between 1 and {MAX_REQUESTS}")
    if requests < concurrency:
        raise ValueError("hey needs requests >= concurrency")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be a positive number of requests per second")
    if not 0 < deadline <= MAX_DURATION_S * 5:
        raise ValueError(f"deadline must be between 0 and {MAX_DURATION_S * 5:g} seconds")
    exe = require("hey")
    args = [exe, "-n", str(requests), "-c", str(concurrency), "-t", str(max(1, math.ceil(timeout))), "-o", "csv"]
    if rate is not None:
        args += ["-q", f"{rate / concurrency:.6g}"]
    if not keepalive:
        args.append("-disable-keepalive")
    with server_cpu(cpu_of) as cpu:
        result = _run_tool([*args, url], deadline)
    run = parse_hey_csv(result.stdout, url=url, requests=requests, concurrency=concurrency, label=label)
    cpu.record(run)
    return run


def parse_hey_csv(output: str, *, url: str, requests: int, concurrency: int, label: str | None = None) -> Run:
    """Turn ``hey -o csv`` output into a `Run` (``engine="hey"``)."""
    lines = output.strip().splitlines()
    if not lines or lines[0].strip() != _HEY_HEADER:
        raise RuntimeError(f"unexpected output from hey (expected its CSV header):\n{output[:2000]}")
    records = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        start, took = float(row["offset"]), float(row["response-time"])
        records.append(Record(start=start, end=start + took, status=int(row["status-code"])))
    records.sort(key=lambda r: r.start)
    wall = max((r.end for r in records), default=math.nan)
    missing = max(0, requests - len(records))
    records += [Record(start=wall, end=wall, error="hey error") for _ in range(missing)]
    run = Run(url=url, requests=requests, concurrency=concurrency, engine="hey", label=label or "hey")
    run.records = records
    run.wall_s = wall
    return run
