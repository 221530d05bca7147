"""Serve the app behind the audit host and measure each route: the live room of ``asgilab audit``.

For each route: a pass with blockbuster on (the first blocking call on the loop raises, and the
host keeps its stack), the request alone (three times, the median), then ``concurrency`` copies at
once with the canary polling and the server's CPU time counted. A borderline result is measured a
second time. Every request has a timeout and every run a deadline.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from asgilab.audit.judge import STEP_FLOOR_S, Frame, Measurement, borderline
from asgilab.audit.routes import Route
from asgilab.load import load
from asgilab.results import Run
from asgilab.server import Server

CANARY = "/__audit__/canary"
ALONE_REQUESTS = 5


@dataclass
class Settings:
    concurrency: int = 20
    timeout: float = 10.0  # seconds per request
    deadline: float = 30.0  # seconds per run


def host(target: str, routes: list[Route], scan: list[str], app_dir: Path, env: dict[str, str]) -> Server:
    """A server (not started) for the audit host in front of ``target``."""
    calls = [route.call for route in routes if route.call is not None]
    audit_env = {
        "ASGILAB_AUDIT_APP": target,
        "ASGILAB_AUDIT_CALLS": json.dumps(calls),
        "ASGILAB_AUDIT_SCAN": ",".join(scan),
        "ASGILAB_AUDIT_LONG_STEP_S": str(STEP_FLOOR_S),
    }
    # asyncio's own loop, whose steps the host can time (uvloop runs them in C)
    return Server("asgilab.apps.audit_host:app", app_dir=app_dir, env={**env, **audit_env}, loop="asyncio")


@dataclass
class Live:
    """The started host and the auditor's own client for its control paths."""

    server: Server
    control: httpx.AsyncClient


async def measure(server: Server, routes: list[Route], user_paths: list[Path], settings: Settings) -> list[Measurement]:
    measurements, index = [], 0
    # The auditor's own control requests: loopback only, never through a proxy.
    async with httpx.AsyncClient(trust_env=False, timeout=settings.timeout) as control:
        live = Live(server, control)
        for route in routes:
            m = Measurement(route.method, route.path, route.kind, route.skipped, concurrency=settings.concurrency)
            if route.call is not None:
                await measure_route(live, f"{server.url}/__audit__/call/{index}", m, user_paths, settings)
                index += 1
            measurements.append(m)
    return measurements


async def measure_route(live: Live, url: str, m: Measurement, user_paths: list[Path], settings: Settings) -> None:
    await _report(live)  # start from a clean report
    await _get(live, "/__audit__/blockbuster/on")
    try:
        await load(url, 1, 1, timeout=settings.timeout, deadline=settings.deadline)
    finally:
        await _get(live, "/__audit__/blockbuster/off")
    _blocking_call(await _report(live), m, user_paths)
    options: dict[str, Any] = dict(timeout=settings.timeout, deadline=settings.deadline, warmup=1)
    waited_before = runqueue_waits(live.server)
    alone = await load(url, ALONE_REQUESTS, 1, cpu_of=[live.server], **options)
    waited = _longest_wait(waited_before, runqueue_waits(live.server)) / ALONE_REQUESTS
    m.status = alone.records[0].status
    m.alone_s, m.runqueue_wait_s = statistics.median([r.latency for r in alone.records]), waited
    m.cpu_per_request_s = (alone.server_cpu_s or 0.0) / ALONE_REQUESTS
    m.error = next(iter((await _report(live))["errors"]), "")
    if m.status is None or not 200 <= m.status < 400:
        return
    await _burst(live, url, m, settings)
    if borderline(m):
        await _burst(live, url, m, settings)


async def _burst(live: Live, url: str, m: Measurement, settings: Settings) -> None:
    n = settings.concurrency
    options: dict[str, Any] = dict(timeout=settings.timeout, deadline=settings.deadline, probe=CANARY)
    run = await load(url, n, n, cpu_of=[live.server], **options)  # cpu_of: for other programs' cores
    report = await _report(live)
    _record_burst(run, report, m)


def _record_burst(run: Run, report: dict[str, Any], m: Measurement) -> None:
    canary = [r.latency for r in run.probe_records if r.ok] or [0.0]
    m.burst_ok, m.burst_p50_s, m.burst_wall_s = run.ok, run.p50_s if run.ok else 0.0, run.wall_s
    m.canary_worst_s, m.canary_median_s = max(canary), statistics.median(canary)
    m.others_cores = run.others_cores or 0.0
    m.tokens_max, m.tokens_total = int(report["tokens_max"]), int(report["tokens_total"])
    m.longest_step_s, m.long_steps = float(report["longest_step_s"]), int(report["long_steps"])
    m.error = m.error or next(iter(report["errors"]), "")


def _blocking_call(report: dict[str, Any], m: Measurement, user_paths: list[Path]) -> None:
    for event in report["blocking"]:
        found = user_frame(event["stack"], user_paths)
        if found is not None:
            m.blocking_call, callee = found
            m.blocking_function = event["call"] + (f" (inside {callee})" if callee else "")
            return


def user_frame(stack: list[dict[str, Any]], user_paths: list[Path]) -> tuple[Frame, str] | None:
    """The innermost frame of the stack in the learner's own modules (where their code made the
    call), and the library function it called, when the blocking call came from inside a library."""
    for index in range(len(stack) - 1, -1, -1):
        path = Path(stack[index]["file"]).resolve()
        if any(path == root or path.is_relative_to(root) for root in user_paths):
            frame = Frame(stack[index]["function"], _shown(path), int(stack[index]["line"]))
            inner = stack[index + 1 : -1]  # the last frame is blockbuster's own wrapper
            return frame, _library_function(inner[0]) if inner else ""
    return None


def _library_function(entry: dict[str, Any]) -> str:
    parts = Path(entry["file"]).with_suffix("").parts
    module = parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-1:]
    return ".".join([*(p for p in module if p != "__init__"), entry["function"]])


def runqueue_waits(server: Server) -> dict[str, float]:
    """Seconds each thread of the server has spent runnable but waiting for a core (Linux schedstat;
    empty where the kernel does not say): on a busy machine that time is other programs', not the route's."""
    waits = {}
    for pid in server.cpu_by_process():
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                waits[stat.parent.name] = int(stat.read_text().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                continue
    return waits


def _longest_wait(before: dict[str, float], after: dict[str, float]) -> float:
    # The thread that did the route's work waited longest; summing threads would count overlaps twice.
    return max((seconds - before.get(thread, 0.0) for thread, seconds in after.items()), default=0.0)


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


async def _get(live: Live, path: str) -> bytes:
    response = await live.control.get(live.server.url + path)
    response.raise_for_status()
    return response.content


async def _report(live: Live) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(await _get(live, "/__audit__/report"))
    return report
