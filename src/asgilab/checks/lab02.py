"""Lab 02 checks, blocking pitfalls: each step serves the learner's app live and measures one endpoint.

    from asgilab.checks import lab02 as check
    check.step1("lab02_app:app")  # /orders, step2: /rates (upstream in UPSTREAM_URL), step3: /login
    check.step4("lab02_app:app")  # ruff's ASYNC rules find nothing in lab02_*.py; step5: /export (transfer)
Load steps poll ``/ping`` (the canary): a loop held by a blocking call makes it wait as long as the call."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from asgilab.checks import AppDir, Criterion, Hints, all_answered, app_error, make_step, ms, served, served_together
from asgilab.checks.criteria import waits_at_least
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.upstream import serve_upstream

__all__ = ["UPSTREAM_ENV", "hint", "ruff_async", "solution", "step1", "step2", "step3", "step4", "step5"]

UPSTREAM_ENV = "UPSTREAM_URL"  # the variable the learner's app reads the upstream's base URL from
WAIT_S, CANARY_SHARE, AT_ONCE, PEAK = 0.1, 0.3, 20, 7  # a call; /ping's bound per call; requests; upstream peak
LOAD = {"probe": "/ping", "timeout": 15.0, "deadline": 45.0}
KEEP = "keep load_order_history() as it is: it stands for a database driver you cannot change."
SLOWLY = "the calls overlap, but each request first works on the loop: look at what /rates builds for every call. "
NO_UPSTREAM = {UPSTREAM_ENV: "http://127.0.0.1:9"}  # steps that do not call the upstream still set it
STEPS = ("/orders", "/rates", "/login", "ruff --select ASYNC", "/export")  # what each step checks
TITLES = {n: f"Step {n}: {what}" for n, what in enumerate(STEPS, 1)}
SHAPES = {  # an exception the server logged -> what is wrong with the code a learner likely wrote
    "object is not callable": "the worker thread was handed the result of a call, not a function: the call ran on the event loop first, then its result went to the thread.",
    "got an unexpected keyword argument": "a keyword argument went to the function that starts the thread, not to the function it runs: read the exception above.",
    "'coroutine' object has no attribute": "a coroutine was used as if it were its result: an async call that nothing awaited.",
    "'State' object has no attribute": "request.state has no such attribute: only what the app's lifespan yields (a dict) appears there.",
}
# fmt: off
HINTS = Hints("lab02_blocking_pitfalls.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: ("orders() calls load_order_history(). Read that helper: what does it do for 100 ms, and does it `await`?",
        "`anyio.to_thread.run_sync(function, *args)` runs a sync function in a worker thread and awaits it; a plain `def` handler runs in FastAPI's thread pool.",
        "history = await anyio.to_thread.run_sync(load_order_history, customer)"),
    2: ("rates() calls the upstream with requests.get: is that client synchronous, and what does the loop do while it waits?",
        "httpx.AsyncClient, opened once in the app's lifespan (`yield {'client': client}`) and read in the handler as request.state.client.",
        "async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=10) as client:\n    yield {'client': client}  # lab02_app.py's lifespan\nresponse = await request.state.client.get('/delay?ms=100')  # in rates(request: Request)"),
    3: ("login() calls hash_password(): PBKDF2 with 600 000 iterations, CPU work in C that never awaits.",
        "A worker thread: `anyio.to_thread.run_sync`. hashlib releases the GIL while it hashes, so the loop keeps answering.",
        "digest = await anyio.to_thread.run_sync(hash_password, password)"),
    4: ("Run the ruff cell: each finding names a file, a line and a rule (ASYNC210: a blocking HTTP call inside `async def`).",
        "`python -m ruff check --select ASYNC lab02_*.py`; ruff reads one function at a time, so it misses waits hidden in helpers.",
        "Fix each line it names as in steps 1-3, run that module's cell again, then this check."),
    5: ("export() builds a CSV, then compresses it: time gzip.compress on that CSV in a cell. ruff has no rule for it.",
        "zlib (under gzip) releases the GIL while it compresses: a worker thread frees the loop. `anyio.to_thread.run_sync` takes positional arguments only: `functools.partial` carries the keyword.",
        "body = await anyio.to_thread.run_sync(functools.partial(gzip.compress, csv, compresslevel=6))"),
})
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Measured:  # steps 1-3 and 5: requests at once to `path` with /ping polled (3, 5: after 2 timed alone)
    step: int
    path: str
    run: Run  # steps 3, 5: the alone run when it failed, as no burst was sent then
    logs: str = ""
    alone: Run | None = None  # steps 3 and 5: two requests one at a time, before the burst
    peak: int = 0  # step 2: the most upstream calls in flight at once
    unzipped: bytes | None = None  # step 5: the start of one export, gunzipped (None: not gzip)
    look = property(lambda self: HINTS.ladder[self.step][0])  # where to look: hint level 1


@dataclass
class Lint:  # step 4: what ruff found in the app's modules (code None: the app's module does not exist)
    path: Path
    named: str  # how a command line names the files, e.g. lab02_*.py
    code: int | None
    findings: list[str]


def _measure(step: int, path: str, app: str, app_dir: AppDir, env: dict[str, str] = NO_UPSTREAM) -> Measured:
    """Steps 1-2: 20 requests at once; steps 3 and 5: 2 one at a time, then 4 at once; /ping polled."""
    with served(TITLES[step], app, app_dir, env, step=step) as server:
        url, name = server.url + path, path.split("?")[0]
        alone = load_sync(url, 2, 1, timeout=15.0, deadline=45.0, label=f"{name} alone") if step in (3, 5) else None
        n = AT_ONCE if alone is None else 4
        run = load_sync(url, n, n, label=name, **LOAD) if alone is None or alone.ok else alone
        body = httpx.get(url, timeout=15.0, trust_env=False).content if step == 5 and run is not alone else b""
    unzipped = zlib.decompressobj(31).decompress(body[:4096])[:60] if body[:2] == b"\x1f\x8b" else None
    return Measured(step, name, run, server.logs(), alone, unzipped=unzipped)


def measure_step1(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(1, "/orders?customer=7", app, app_dir)


def measure_step2(app: str, app_dir: AppDir = None) -> Measured:
    with serve_upstream() as up:
        m = _measure(2, "/rates", app, app_dir, {UPSTREAM_ENV: up.url})
        m.peak = up.stats()["max_in_flight"]
    return m


def measure_step3(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(3, "/login", app, app_dir)


def measure_step5(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(5, "/export", app, app_dir)


def ruff_async(*paths: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """Run ``ruff check --select ASYNC`` on files; return its exit code and its findings."""
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select=ASYNC", "--color=never"]
    command += ["--output-format=concise", *map(str, paths)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    return done.returncode, re.findall(r"^.*: ASYNC\d+ .*$", done.stdout + done.stderr, re.M)


def measure_step4(app: str, app_dir: AppDir = None) -> Lint:
    """Lint the app's module and every module beside it sharing its prefix (``lab02_app``: ``lab02_*.py``)."""
    path = Path(app_dir if app_dir is not None else Path.cwd()) / (app.split(":")[0].replace(".", "/") + ".py")
    named = path.stem.split("_", 1)[0] + "_*.py"
    found = ruff_async(*sorted({path, *path.parent.glob(named)})) if path.exists() else (None, [])
    return Lint(path, named, *found)


# -- how the steps judge it (pure functions) ---------------------------------------------------
def _answered(run: Run, path: str, logs: str, where: str = "") -> Criterion:
    shape = next((why for found, why in SHAPES.items() if found in app_error(logs)), "")
    where = shape or where or f"some {path} requests failed: the server's last lines above name the exception."
    return all_answered(run, f"every {path} request succeeds", logs, where)


def _canary(m: Measured, call_s: float, alone: bool = False) -> Criterion:
    run, path = m.run, m.path
    median, limit = run.probe_p50_s, CANARY_SHARE * call_s
    one = f"one {path} alone, which took {ms(call_s)}" if alone else f"one {path} call"
    return Criterion(
        not math.isnan(median) and median < limit,
        f"/ping stays fast while {path} runs (median under {ms(limit)}: {CANARY_SHARE:.0%} of {one})",
        f"/ping median {ms(median)}, worst {ms(run.probe_max_s)} over {len(run.probe_records)} pings",
        f"/ping waited about as long as a {path} call: {path} holds the event loop, so every endpoint waits. {m.look}",
    )


def judge_step1(m: Measured) -> list[Criterion]:
    """Every /orders answered, each waits on the helper, at least 2.5 served at once, /ping fast meanwhile."""
    serial = served_together(m.run, WAIT_S, 2.5, "/orders served its callers (nearly) one at a time. " + m.look)
    waits = waits_at_least(m.run, WAIT_S, KEEP)
    return [_answered(m.run, m.path, m.logs), waits, serial, _canary(m, WAIT_S)]


def judge_step2(m: Measured) -> list[Criterion]:
    """Every /rates answered, at least 8 at once, the upstream sees 7 in flight, /ping fast meanwhile."""
    url = f"the upstream's base URL is in the environment variable {UPSTREAM_ENV}; the server's last lines name the exception."
    slowly = m.run.ok == m.run.requests and m.run.served_at_once(WAIT_S) >= 2  # overlapped, but slowly
    serial = served_together(m.run, WAIT_S, 8.0, (SLOWLY if slowly else "one call at a time. ") + m.look)
    what = f"the upstream sees the calls together (at least {PEAK} in flight at once)"
    seen = f"at most {m.peak} upstream call(s) in flight at once"
    peak = Criterion(m.peak >= PEAK, what, seen, "the app sent its upstream calls one after another. " + m.look)
    return [_answered(m.run, m.path, m.logs, url), serial, peak, _canary(m, WAIT_S)]


def judge_step3(m: Measured) -> list[Criterion]:
    """Steps 3, 5: all answered, /ping's median under 30% of one call alone; step 5: the export is still a .csv.gz."""
    if m.alone is None or m.run is m.alone:  # it failed alone: no burst was sent
        return [_answered(m.run, m.path, m.logs)]
    call_s = min(m.alone.latencies)  # the faster of two: the first request may pay one-off costs
    criteria = [_answered(m.run, m.path, m.logs), _canary(m, call_s, alone=True)]
    if m.path == "/export":
        ok = bool(m.unzipped and m.unzipped.startswith(b"order_id,"))
        shown = f"gzip of {m.unzipped!r}..." if m.unzipped is not None else "not gzip data"
        look = "look at what export() returns: the CSV, gzipped, as the body."
        criteria.append(Criterion(ok, "GET /export answers the orders CSV, gzipped", shown, look))
    return criteria


def judge_step4(m: Lint) -> list[Criterion]:
    """`ruff check --select ASYNC` finds nothing in the app's modules."""
    if m.code is None:
        return [Criterion(False, "the app's module exists", f"no file {m.path}", f"run the cell writing {m.path.name}")]
    names = [re.sub(r"^(?:.*[/\\])?(\S+?\.py):(\d+):\d+:", r"\1:\2:", line) for line in m.findings]
    found = f"{len(names)} finding(s): {'; '.join(names[:3])}" if names else "no finding"
    look = "each finding names a file, a line and a rule (ASYNC210: a blocking HTTP call, ASYNC251: time.sleep, ASYNC230: open(), each inside `async def`): look at that line."
    measured = found if names or m.code == 0 else f"ruff exited with code {m.code}"
    what = f"`ruff check --select ASYNC {m.named}` finds nothing"
    return [Criterion(m.code == 0 and not names, what, measured, look)]


step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab02_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab02_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab02_app:app")
judge_step5 = judge_step3  # step 3's criteria, and the export is still the CSV
step4 = make_step(4, TITLES[4], measure_step4, judge_step4, "lab02_app:app")
step5 = make_step(5, TITLES[5], measure_step5, judge_step5, "lab02_app:app")
