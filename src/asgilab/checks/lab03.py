"""Checks for lab 03: `def` or `async def`, the thread pool's tokens and CPU-bound work.

from asgilab.checks import lab03 as check
check.step1("lab03_sdk_app:app")   # a blocking SDK in `def`: 80 requests at once, no 40-token step
check.step2("lab03_cpu_app:app")   # CPU work: /ping stays responsive AND throughput beats serial
check.hint(1)            # where to look; check.hint(1, level=2): which API; level=3: the code
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from asgilab.checks import Criterion, Feedback, Hint, hints, not_started, verdict
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

_HINTS = {  # for each step: 1 where to look, 2 which tool or API, 3 the code
    1: (
        "Look at where your module changes the thread pool's limit, and on which event loop that code runs.\n"
        "Three moments run your code: import time, the lifespan (before `yield`) and each request. Which one\n"
        "runs on the event loop that serves the requests, once in every worker process?",
        "AnyIO's default thread limiter, `anyio.to_thread.current_default_thread_limiter()`, is a\n"
        "`CapacityLimiter` with a settable `total_tokens`; it belongs to the running event loop. Set it in the\n"
        "lifespan, before `yield`. Not at import time: from uvicorn 0.50 on, a single-process `uvicorn`\n"
        "imports your module in its main process before the loop starts (no loop, no limiter), while with\n"
        "`--workers N` each worker imports it inside its own loop: import-time code works under one\n"
        "launcher and fails under another.",
        "    @asynccontextmanager\n"
        "    async def lifespan(app: FastAPI):\n"
        "        anyio.to_thread.current_default_thread_limiter().total_tokens = 100  # this loop's limiter\n"
        "        yield\n"
        "\n"
        "    app = FastAPI(lifespan=lifespan)",
    ),
    2: (
        "Look at where `burn_cpu` runs. Inline in `async def` it runs on the event loop; in a `def` endpoint\n"
        "or a thread pool it runs in this process, whose threads share one GIL. Which process could run it,\n"
        "one per core, while the event loop only waits for the result?",
        "`concurrent.futures.ProcessPoolExecutor`, created once in the lifespan around `yield` (leaving its\n"
        "`with` block shuts it down when the server stops), kept on `app.state`, and awaited from the\n"
        "endpoint with `asyncio.get_running_loop().run_in_executor(pool, burn_cpu, ms)`. Give it\n"
        '`mp_context=multiprocessing.get_context("spawn")`: Linux\'s default start method, fork, copies a\n'
        "server that already runs threads, which can deadlock a worker (Python 3.12+ warns about it).\n"
        "The function you send is pickled by name: `burn_cpu` is; a lambda or a nested function is not.",
        "    @asynccontextmanager\n"
        "    async def lifespan(app: FastAPI):\n"
        '        spawn = multiprocessing.get_context("spawn")\n'
        "        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=spawn) as pool:\n"
        "            app.state.pool = pool\n"
        "            yield\n"
        "\n"
        "and in the endpoint:\n"
        "    loop = asyncio.get_running_loop()\n"
        "    loops = await loop.run_in_executor(app.state.pool, burn_cpu, ms)",
    ),
}
LEVELS = {1: "where to look", 2: "which tool or API", 3: "the code"}


def hint(step: int, level: int = 1) -> Hint:
    """A hint for ``step`` (1 or 2): ``level`` 1 says where to look, 2 which tool or API, 3 the code."""
    if level not in LEVELS:
        raise ValueError(f"there is no hint level {level}; levels: {LEVELS}")
    text = hints({number: ladder[level - 1] for number, ladder in _HINTS.items()}, step)
    more = f"\n(next: check.hint({step}, level={level + 1}), {LEVELS[level + 1]})" if level < 3 else ""
    return Hint(f"Hint {step}.{level}, {LEVELS[level]}:\n{text}{more}")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _server_failed(title: str, app: str, error: ServerError) -> Feedback:
    criterion = not_started(app, error)
    if "NoEventLoopError" in str(error) or "AsyncLibraryNotFoundError" in str(error):
        criterion.advice = (
            "Something asked for the running event loop while the module was imported, and none runs then "
            "(the thread limiter belongs to an event loop). Look at your module's top-level lines, and at "
            "which part of the app runs on the loop that serves the requests (check.hint(1))."
        )
    return verdict(Feedback(title, [criterion]))


def _errors(run: Run) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in run.error_kinds.items())


def _step1_advice(at_once: float) -> str:
    if at_once <= DEFAULT_TOKENS * 1.15:
        return (
            f"About {at_once:.0f} at once is the thread pool's limit: each `def` request holds one of the "
            "AnyIO default limiter's 40 tokens, and the others wait a whole round for one. Look at where "
            "your app sets the limiter, and on which event loop: the lifespan runs on the serving one."
        )
    return (
        f"More than 40 but fewer than {MIN_AT_ONCE} at once: look at the number of tokens your lifespan "
        f"sets (fewer than {SDK_CONCURRENCY}?). If it is 100 or more, the machine was busy: run the check again."
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
            "/ping waited behind the reports: look at where `burn_cpu` runs. Inline in `async def` it runs "
            "on the event loop and freezes it; in a thread (`def`, run_in_threadpool) it still holds the "
            "GIL most of the time, so the loop waits for its turn (check.hint(2)).",
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
                "The reports ran one at a time, on about one core (the figure above). Look at which process "
                "runs `burn_cpu`: threads of the server's process share one GIL, so a `def` endpoint (or a "
                "thread pool) gains nothing on pure-Python work (check.hint(2))."
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
