"""Lab 02 checks, blocking pitfalls: each step serves the learner's app live and measures one endpoint.

    from asgilab.checks import lab02 as check
    check.step1("lab02_app:app")  # /orders, step2: /rates (upstream in UPSTREAM_URL)
    check.step3("lab02_app:app")  # /login under a login storm, with 4 thread tokens (lab02_storm)
    check.step4("lab02_app:app")  # your blockbuster guard, lab02_guard.py (lab02_buster); step5: /export
Load steps poll ``/ping`` (the canary): a loop held by a blocking call makes it wait as long as the call."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from asgilab.checks import lab02_buster, lab02_storm
from asgilab.checks.criteria import all_answered, ms, served_together, waits_at_least
from asgilab.checks.feedback import Criterion, app_error
from asgilab.checks.hints import Hints
from asgilab.checks.lab02_buster import ruff_async
from asgilab.checks.serving import AppDir, make_step, served
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.upstream import serve_upstream

__all__ = ["THREAD_TOKENS", "UPSTREAM_ENV", "hint", "ruff_async", "solution", "storm_logins", "step1", "step2"]
__all__ += ["step3", "step4", "step5"]

UPSTREAM_ENV = "UPSTREAM_URL"  # the variable the learner's app reads the upstream's base URL from
WAIT_S, CANARY_SHARE, AT_ONCE, PEAK = 0.1, 0.3, 20, 7  # a call; /ping's bound per call; requests; upstream peak
LOAD = {"probe": "/ping", "timeout": 15.0, "deadline": 45.0}
KEEP = "keep load_order_history() as it is: it stands for a database driver you cannot change."
SLOWLY = "the calls overlap, but each request first works on the loop: look at what /rates builds for every call. "
NO_UPSTREAM = {UPSTREAM_ENV: "http://127.0.0.1:9"}  # steps that do not call the upstream still set it
STEPS = ("/orders", "/rates", "/login under a login storm", "a guard with blockbuster", "/export")  # what each checks
THREAD_TOKENS, storm_logins = lab02_storm.TOKENS, lab02_storm.logins  # step 3: the service's tokens; logins sent
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
    3: (f"login() calls hash_password() on the event loop. A worker thread frees the loop, but look at whose tokens it takes: /orders draws on the same {lab02_storm.TOKENS}, and a storm has more logins than that. Then count the hashes this machine's cores can do at once in full.",
        "`anyio.CapacityLimiter(n)`, made once at module level, is a limiter of your own: `anyio.to_thread.run_sync(func, *args, limiter=...)` takes its tokens from it, not from the default one (https://anyio.readthedocs.io/en/stable/threads.html). Size it from the cores this process may use: `asgilab.machine.usable_cores()` (CPU affinity and a container's CPU limit, as the check counts).",
        "HASHERS = anyio.CapacityLimiter(usable_cores())  # module level; from asgilab.machine import usable_cores\ndigest = await anyio.to_thread.run_sync(hash_password, password, limiter=HASHERS)"),
    4: ("Your guard needs a client that calls the app in-process, its startup included, blockbuster active while each request runs, and a note of which request raised. Appendix A4, section 2, says what blockbuster raises and where.",
        "`with TestClient(app) as client:` (fastapi.testclient) runs the lifespan and re-raises a handler's exception in your call; `with blockbuster_ctx():` (from blockbuster) activates it for a block; catch `BlockingError` around `client.get(path)`.",
        "with TestClient(app) as client:\n    for path in PATHS:\n        with blockbuster_ctx():\n            try:\n                client.get(path)\n            except BlockingError:\n                found.append(path)"),
    5: ("export() builds a CSV, then compresses it: time gzip.compress on that CSV in a cell. ruff has no rule for it.",
        "zlib (under gzip) releases the GIL while it compresses: a worker thread frees the loop. `anyio.to_thread.run_sync` takes positional arguments only: `functools.partial` carries the keyword.",
        "body = await anyio.to_thread.run_sync(functools.partial(gzip.compress, csv, compresslevel=6))"),
})
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Measured:  # steps 1, 2 and 5: requests at once to `path` with /ping polled (5: after 2 timed alone)
    step: int
    path: str
    run: Run  # step 5: the alone run when it failed, as no burst was sent then
    logs: str = ""
    alone: Run | None = None  # step 5: one request alone, before the burst
    peak: int = 0  # step 2: the most upstream calls in flight at once
    unzipped: bytes | None = None  # step 5: the start of one export, gunzipped (None: not gzip)
    size: int = 0  # step 5: the export's size gunzipped, in bytes
    look = property(lambda self: HINTS.ladder[self.step][0])  # where to look: hint level 1


def _measure(step: int, path: str, app: str, app_dir: AppDir, env: dict[str, str] = NO_UPSTREAM) -> Measured:
    """Steps 1-2: 20 requests at once; step 5: one fetched, one timed alone, then 4 at once; /ping polled."""
    with served(TITLES[step], app, app_dir, env, step=step) as server:
        url, name = server.url + path, path.split("?")[0]
        # step 5: one export fetched first (its body checked; it pays the one-off costs), then one timed alone
        body = _body(url) if step == 5 else b""
        alone = load_sync(url, 1, 1, timeout=15.0, deadline=45.0, label=f"{name} alone") if step == 5 else None
        n = AT_ONCE if alone is None else 4
        run = load_sync(url, n, n, label=name, **LOAD) if alone is None or alone.ok else alone
    csv = zlib.decompressobj(31).decompress(body) if body[:2] == b"\x1f\x8b" else None
    return Measured(step, name, run, server.logs(), alone, unzipped=csv and csv[:60], size=len(csv or b""))


def _body(url: str) -> bytes:
    try:
        return httpx.get(url, timeout=15.0, trust_env=False).content
    except httpx.HTTPError:  # the timed runs that follow record what went wrong
        return b""


def measure_step1(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(1, "/orders?customer=7", app, app_dir)


def measure_step2(app: str, app_dir: AppDir = None) -> Measured:
    with serve_upstream() as up:
        m = _measure(2, "/rates", app, app_dir, {UPSTREAM_ENV: up.url})
        m.peak = up.stats()["max_in_flight"]
    return m


def measure_step3(app: str, app_dir: AppDir = None) -> lab02_storm.Storm:
    """Two logins and two /orders alone, then a login storm with /orders among it (`lab02_storm`)."""
    return lab02_storm.measure(TITLES[3], app, app_dir, NO_UPSTREAM)


def measure_step4(app: str, app_dir: AppDir = None) -> lab02_buster.Guarded:
    """The learner's lab02_guard.py run on the original modules and on theirs (`lab02_buster`)."""
    return lab02_buster.measure(Path(app_dir if app_dir is not None else Path.cwd()), HINTS.notebook)


def measure_step5(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(5, "/export", app, app_dir)


# -- how the steps judge it (pure functions) ---------------------------------------------------
def _answered(run: Run, path: str, logs: str, where: str = "") -> Criterion:
    shape = next((why for found, why in SHAPES.items() if found in app_error(logs)), "")
    where = shape or where or f"some {path} requests failed: the server's last lines above name the exception."
    return all_answered(run, f"every {path} request succeeds", logs, where)


def _canary(run: Run, path: str, call_s: float, look: str, alone: bool = False) -> Criterion:
    median, limit = run.probe_p50_s, CANARY_SHARE * call_s
    one = f"one {path} alone, which took {ms(call_s)}" if alone else f"one {path} call"
    return Criterion(
        not math.isnan(median) and median < limit,
        f"/ping stays fast while {path} runs (median under {ms(limit)}: {CANARY_SHARE:.0%} of {one})",
        f"/ping median {ms(median)}, worst {ms(run.probe_max_s)} over {len(run.probe_records)} pings",
        f"/ping waited about as long as a {path} call: {path} holds the event loop, so every endpoint waits. {look}",
    )


def judge_step1(m: Measured) -> list[Criterion]:
    """Every /orders answered, each waits on the helper, at least 2.5 served at once, /ping fast meanwhile."""
    serial = served_together(m.run, WAIT_S, 2.5, "/orders served its callers (nearly) one at a time. " + m.look)
    waits = waits_at_least(m.run, WAIT_S, KEEP)
    return [_answered(m.run, m.path, m.logs), waits, serial, _canary(m.run, m.path, WAIT_S, m.look)]


def judge_step2(m: Measured) -> list[Criterion]:
    """Every /rates answered, at least 8 at once, the upstream sees 7 in flight, /ping fast meanwhile."""
    url = f"the upstream's base URL is in the environment variable {UPSTREAM_ENV}; the server's last lines name the exception."
    slowly = m.run.ok == m.run.requests and m.run.served_at_once(WAIT_S) >= 2  # overlapped, but slowly
    serial = served_together(m.run, WAIT_S, 8.0, (SLOWLY if slowly else "one call at a time. ") + m.look)
    what = f"the upstream sees the calls together (at least {PEAK} in flight at once)"
    seen = f"at most {m.peak} upstream call(s) in flight at once"
    peak = Criterion(m.peak >= PEAK, what, seen, "the app sent its upstream calls one after another. " + m.look)
    return [_answered(m.run, m.path, m.logs, url), serial, peak, _canary(m.run, m.path, WAIT_S, m.look)]


def judge_step3(m: lab02_storm.Storm) -> list[Criterion]:
    """All answered; /ping fast; /orders near its time alone; the logins use the cores, no more at once."""
    look = HINTS.ladder[3][0]
    return lab02_storm.judge(
        m,
        lambda run, path: _answered(run, path, m.logs),
        lambda run, call_s: _canary(run, "/login", call_s, look, True),
    )


judge_step4 = lab02_buster.judge  # on the original: /orders and /rates named, /ping not; on yours: none


def judge_step5(m: Measured) -> list[Criterion]:
    """All answered, /ping's median under 30% of one export alone, and the export is still a .csv.gz."""
    if m.alone is None or m.run is m.alone:  # it failed alone: no burst was sent
        return [_answered(m.run, m.path, m.logs)]
    call_s = min(m.alone.latencies)
    ok = bool(m.unzipped and m.unzipped.startswith(b"order_id,"))
    shown = f"gzip of {m.size / 1e6:.1f} MB: {m.unzipped!r}..." if m.unzipped is not None else "not gzip data"
    look = "look at what export() returns: the CSV, gzipped, as the body."
    gz = Criterion(ok, "GET /export answers the orders CSV, gzipped", shown, look)
    return [_answered(m.run, m.path, m.logs), _canary(m.run, m.path, call_s, m.look, alone=True), gz]


step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab02_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab02_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab02_app:app")
step4 = make_step(4, TITLES[4], measure_step4, judge_step4, "lab02_app:app")
step5 = make_step(5, TITLES[5], measure_step5, judge_step5, "lab02_app:app")
