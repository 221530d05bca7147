"""Checks for lab 03: `def` or `async def`, the thread pool's tokens and CPU-bound work.

from asgilab.checks import lab03 as check
check.step1("lab03_sdk_app:app")   # a blocking SDK in `def`: 80 requests at once, no 40-token step
check.step2("lab03_cpu_app:app")   # CPU work: /ping stays responsive AND throughput beats serial
check.hint(1)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from asgilab.checks import Criterion, Feedback, hints, not_started, verdict
from asgilab.load import load_sync
from asgilab.machine import FREE_CORE_OTHERS
from asgilab.results import Run
from asgilab.server import ServerError, serve

__all__ = ["hint", "step1", "step2"]

SDK_S = 0.1  # the lab's fake SDK call waits 100 ms
SDK_CONCURRENCY = 80  # requests in flight at once
SDK_REQUESTS = 160  # two rounds of 80 when every request runs at once, four with 40 tokens
DEFAULT_TOKENS = 40  # AnyIO's default thread limiter
MIN_AT_ONCE = 50  # served at once: 40 tokens can never reach it; 80 or more tokens clear it with room for overhead

CPU_MS = 100  # each report burns about 100 ms of one idle core
CPU_REQUESTS = 8
MIN_CORES_USED = 1.3  # CPU seconds per wall second of the server's processes: the GIL keeps one process near 1
MAX_PROBE_SHARE = 0.25  # /ping's mean wait, as a share of one report's time (inline: about one report)
PROBE_FLOOR_S = 0.025  # ...but never asked below 25 ms, whatever a busy machine makes of one report

_HINTS = {
    1: (
        "Inside `lifespan`, before `yield`, raise the limiter of the running event loop:\n"
        "    anyio.to_thread.current_default_thread_limiter().total_tokens = 100\n"
        "Not at import time: the limiter belongs to an event loop, and whether one runs while your module\n"
        "is imported depends on how the server starts (plain `uvicorn` imports it before its loop starts).\n"
        "The lifespan always runs on the loop that serves the requests, once per worker process."
    ),
    2: (
        "Threads cannot help: pure-Python work holds the GIL, so a `def` endpoint (or a thread pool) runs\n"
        "the reports one at a time. Use processes, created once in the lifespan:\n"
        "    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:\n"
        "        app.state.pool = pool\n"
        "        yield            # leaving the with block shuts the pool down when the server stops\n"
        "and in the endpoint:\n"
        "    loop = asyncio.get_running_loop()\n"
        "    loops = await loop.run_in_executor(app.state.pool, burn_cpu, ms)\n"
        "The function you send must be importable at module level (it is pickled to the worker):\n"
        "`burn_cpu` is; a lambda or a function defined inside the endpoint is not."
    ),
}


def hint(step: int) -> str:
    """A nudge for ``step`` (1 or 2)."""
    return hints(_HINTS, step)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _server_failed(title: str, app: str, error: ServerError) -> Feedback:
    criterion = not_started(app, error)
    if "NoEventLoopError" in str(error) or "AsyncLibraryNotFoundError" in str(error):
        criterion.advice = (
            "Something asked for the running event loop while the module was imported, when none runs "
            "(the thread limiter belongs to an event loop). Move that line into the lifespan, before `yield`."
        )
    return verdict(Feedback(title, [criterion]))


def _errors(run: Run) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in run.error_kinds.items())


def _step1_advice(at_once: float) -> str:
    if at_once <= DEFAULT_TOKENS * 1.15:
        return (
            f"About {at_once:.0f} at once is the thread pool's limit: each `def` request needs one of the "
            "AnyIO default limiter's 40 tokens, and the others wait a whole round for one. Raise "
            "`anyio.to_thread.current_default_thread_limiter().total_tokens` to 100 inside the lifespan."
        )
    return (
        f"More than 40 but fewer than {MIN_AT_ONCE} at once: is the limit raised to fewer than "
        f"{SDK_CONCURRENCY} tokens? Raise it to 100. If it is, the machine was busy: run the check again."
    )


def step1(app: str = "lab03_sdk_app:app", app_dir: str | Path | None = None) -> Feedback:
    """80 requests at once to ``GET /forecast`` (a `def` endpoint on a 100 ms blocking SDK call)
    must all run together: no second round of 100 ms caused by the thread pool's 40 tokens."""
    title = "Step 1: a blocking SDK for 80 requests at once"
    tries: list[Run] = []
    try:
        with serve(app, app_dir=app_dir) as server:
            for _ in range(3):  # up to 3 bursts, the fastest kept: other programs can only slow one down
                tries.append(
                    load_sync(
                        server.url + "/forecast",
                        requests=SDK_REQUESTS,
                        concurrency=SDK_CONCURRENCY,
                        warmup=SDK_CONCURRENCY,
                        timeout=5,
                        deadline=20,
                        label="/forecast",
                    )
                )
                if tries[-1].served_at_once(SDK_S) >= MIN_AT_ONCE:
                    break
    except ServerError as error:
        return _server_failed(title, app, error)
    run = min(tries, key=lambda t: (t.errors, t.wall_s))

    ideal = SDK_S * math.ceil(SDK_REQUESTS / SDK_CONCURRENCY)
    staircase = SDK_S * math.ceil(SDK_REQUESTS / DEFAULT_TOKENS)
    at_once = run.served_at_once(SDK_S)
    fastest = min(run.latencies) if run.latencies else math.nan
    criteria = [
        Criterion(
            run.ok == SDK_REQUESTS,
            f"all {SDK_REQUESTS} requests to GET /forecast answered",
            f"{run.ok} ok" + (f"; errors {_errors(run)}" if run.errors else ""),
            "Keep the endpoint `GET /forecast` and let it return the SDK's answer; "
            "errors here mean the endpoint failed or was missing.",
        ),
        Criterion(
            run.ok > 0 and fastest >= 0.8 * SDK_S,
            "each request still waits on the SDK (about 100 ms)",
            f"fastest request {fastest * 1000:.0f} ms",
            "Keep the SDK call as it is: the task is to serve a blocking SDK well, not to remove it.",
        ),
        Criterion(
            at_once >= MIN_AT_ONCE,
            f"at least {MIN_AT_ONCE} of the {SDK_CONCURRENCY} requests in flight served at once",
            f"{SDK_REQUESTS} requests, {SDK_CONCURRENCY} at a time, took {run.wall_s:.2f} s = "
            f"{run.wall_s / SDK_S:.1f} rounds of 100 ms (all at once: {ideal / SDK_S:.0f} rounds, "
            f"40 tokens: {staircase / SDK_S:.0f}), so about {at_once:.0f} ran at once",
            _step1_advice(at_once),
        ),
    ]
    return verdict(Feedback(title, criteria, [run]))


def step2(app: str = "lab03_cpu_app:app", app_dir: str | Path | None = None) -> Feedback:
    """``GET /report?ms=100`` burns 100 ms of CPU: 8 at once must keep ``/ping`` responsive
    and finish clearly faster than 8 one after another (on 2 or more cores)."""
    title = "Step 2: CPU-bound reports without freezing the server"
    cores = _cores()
    try:
        with serve(app, app_dir=app_dir) as server:
            url = server.url + "/report"
            # Start the workers one request at a time, so that nothing is timed while a lazily started
            # pool spawns processes (and `burn_cpu` calibrates itself on an otherwise idle core).
            load_sync(f"{url}?ms=1", requests=2 * cores, concurrency=1, timeout=10, deadline=20)
            serials, bursts = [], []
            for _ in range(2):  # twice, interleaved, keeping the better: other programs may share the cores
                serials.append(
                    load_sync(
                        f"{url}?ms={CPU_MS}", requests=3, concurrency=1, timeout=10, deadline=20, label="one at a time"
                    )
                )
                burst = load_sync(
                    f"{url}?ms={CPU_MS}",
                    requests=CPU_REQUESTS,
                    concurrency=CPU_REQUESTS,
                    probe="/ping",
                    timeout=10,
                    deadline=20,
                    label=f"{CPU_REQUESTS} at once",
                    cpu_of=[server],  # for burst.cores_used
                )
                bursts.append(burst)
            logs = server.logs()
    except ServerError as error:
        return _server_failed(title, app, error)
    serial = min(serials, key=lambda run: (run.errors, run.p50_s if run.ok else math.inf))
    burst = min(bursts, key=lambda run: (run.errors, -run.cores_used))

    answered = serial.ok == 3 and burst.ok == CPU_REQUESTS
    probe_ok = bool(burst.probe_records) and all(r.ok for r in burst.probe_records)
    one = serial.p50_s
    serial_total = CPU_REQUESTS * one
    speedup = serial_total / burst.wall_s if answered and burst.wall_s > 0 else 0.0
    worst = burst.probe_max_s
    waits = [r.latency for r in burst.probe_records]
    mean_wait = sum(waits) / len(waits) if waits else math.nan
    limit = max(MAX_PROBE_SHARE * one, PROBE_FLOOR_S)
    tail = " | ".join(line for line in logs.splitlines()[-3:] if line.strip())
    criteria = [
        Criterion(
            answered,
            "every GET /report?ms=100 answered",
            f"one at a time {serial.ok}/3 ok, at once {burst.ok}/{CPU_REQUESTS} ok"
            + (f"; errors {_errors(serial) or _errors(burst)}; server log: {tail}" if not answered else ""),
            "The endpoint failed: read the server log above. A pool used before the lifespan created it, "
            "or a function the pool cannot pickle (a lambda, a nested function), fails here.",
        ),
        Criterion(
            answered and probe_ok and mean_wait <= limit,
            "GET /ping stays responsive while 8 reports run",
            f"/ping answered in {mean_wait * 1000:.0f} ms on average (worst {worst * 1000:.0f} ms, "
            f"limit {limit * 1000:.0f} ms) while one report takes {one * 1000:.0f} ms",
            "/ping waited behind the reports. CPU work inline in `async def` runs on the event loop and "
            "freezes it; in a thread (`def`, run_in_threadpool) it still holds the GIL most of the time, so "
            "the loop waits for its turn. Run the work in another process.",
        ),
    ]
    if cores >= 2:
        others = burst.others_cores
        if others >= FREE_CORE_OTHERS:
            advice = (
                f"Other programs kept {others:.1f} of the {cores} cores busy meanwhile, so there was no free core "
                "to spread the reports over: close them and run the check again."
            )
        else:
            advice = (
                "The reports ran one at a time on one core. Threads share one GIL, so a `def` endpoint (or a "
                "thread pool) gains nothing on pure-Python work; a ProcessPoolExecutor created in the lifespan "
                "runs one report per core (`await loop.run_in_executor(app.state.pool, burn_cpu, ms)`)."
            )
        criteria.append(
            Criterion(
                answered and burst.cores_used >= MIN_CORES_USED,
                f"8 reports at once run on several cores (at least {MIN_CORES_USED} of {cores} busy on average)",
                f"the server's processes kept {burst.cores_used:.2f} cores busy for the {burst.wall_s:.2f} s the "
                f"8 reports took (one after another: {serial_total:.2f} s, so x{speedup:.2f}; other programs "
                f"used {others:.2f} cores)",
                advice,
            )
        )
    else:
        criteria.append(
            Criterion(True, "reports on several cores", f"skipped: this machine has {cores} core, no gain is possible")
        )
    return verdict(Feedback(title, criteria, [serial, burst]))
