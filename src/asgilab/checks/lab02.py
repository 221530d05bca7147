"""Checks for lab 02, blocking pitfalls: each step serves the learner's app live and measures one endpoint.

    from asgilab.checks import lab02 as check
    check.step1("lab02_app:app")   # /orders: a sync helper that waits
    check.step2("lab02_app:app")   # /rates: a sync HTTP call to the upstream (URL in UPSTREAM_URL)
    check.step3("lab02_app:app")   # /login: password hashing on the event loop
    check.step4("lab02_app:app")   # ruff's ASYNC rules find nothing left
    check.hint(1)

Every load step polls ``/ping`` while it runs (the canary). A free event loop answers it in a few
milliseconds; a loop held by a blocking call makes it wait about as long as the call. The criteria
are ratios to the endpoint's own duration, so they hold on a slow, busy laptop.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from asgilab.checks import CheckFailed, Criterion, Feedback, hints, not_started, verdict
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.server import Server, ServerError, serve

__all__ = ["UPSTREAM_ENV", "CheckFailed", "hint", "ruff_async", "step1", "step2", "step3", "step4"]

UPSTREAM_ENV = "UPSTREAM_URL"  # the variable the learner's app reads the upstream's base URL from
APP = "lab02_app:app"
WAIT_S = 0.1  # what /orders' helper and the upstream call each take
CANARY_SHARE = 0.3  # /ping's median wait must stay under this share of one call of the endpoint
LOAD = {"probe": "/ping", "timeout": 15.0, "deadline": 45.0}
NO_UPSTREAM = {UPSTREAM_ENV: "http://127.0.0.1:9"}  # steps that do not call the upstream still set the variable


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


@contextlib.contextmanager
def _served(title: str, app: str, app_dir: str | os.PathLike[str] | None, env: dict[str, str]) -> Iterator[Server]:
    """Serve the learner's app for one step; if it does not start, the step fails with its last lines."""
    try:
        with serve(app, app_dir=app_dir, env=env) as server:
            yield server
    except ServerError as exc:
        raise CheckFailed(Feedback(title, [not_started(app, exc)])) from None


def _all_ok(run: Run, path: str, extra_advice: str = "") -> Criterion:
    kinds = ", ".join(f"{kind}: {count}" for kind, count in run.error_kinds.items())
    return Criterion(
        run.ok == len(run.records),
        f"every {path} request succeeds",
        f"{run.ok}/{len(run.records)} ok" + (f" (errors: {kinds})" if kinds else ""),
        f"some {path} requests failed; open {path} once (e.g. httpx.get) to see the error, "
        f"or read the server's traceback in server.logs(){extra_advice}",
    )


def _overlap(run: Run, path: str, call_s: float, min_speedup: float, advice: str) -> Criterion:
    serial = len(run.records) * call_s
    speedup = run.served_at_once(call_s)
    return Criterion(
        speedup >= min_speedup,
        f"{len(run.records)} concurrent {path} requests are served together (at least {min_speedup:g} at once on average)",
        f"they took {run.wall_s:.2f} s, {speedup:.1f} at once on average (one at a time: {serial:.1f} s)",
        advice,
    )


def _canary(run: Run, path: str, call_s: float, advice: str = "", measured_alone: bool = False) -> Criterion:
    median, worst = run.probe_p50_s, run.probe_max_s
    limit = CANARY_SHARE * call_s
    one_call = f"one {path} alone, which took {_ms(call_s)}" if measured_alone else f"one {path} call"
    return Criterion(
        not math.isnan(median) and median < limit,
        f"/ping stays fast while {path} runs (median under {_ms(limit)}: {CANARY_SHARE:.0%} of {one_call})",
        f"/ping median {_ms(median)}, worst {_ms(worst)} over {len(run.probe_records)} pings",
        f"/ping waited as long as a {path} call or longer: {path} holds the event loop, so every other "
        "endpoint waits too. " + advice,
    )


# -- step 1: /orders ---------------------------------------------------------------------------
def step1(app: str = APP, app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """/orders: 20 concurrent requests overlap, and /ping stays fast meanwhile."""
    title = "Step 1 - /orders"
    advice = (
        "Something inside orders(), or a function it calls, waits without `await`. Read "
        "load_order_history(): a sync call there freezes every request. Run it in a worker thread "
        "(`await anyio.to_thread.run_sync(load_order_history, customer)`) or make the handler a plain `def`."
    )
    with _served(title, app, app_dir, NO_UPSTREAM) as server:
        run = load_sync(server.url + "/orders?customer=7", 20, 20, label="/orders", **LOAD)
    criteria = [
        _all_ok(run, "/orders"),
        _overlap(run, "/orders", WAIT_S, 2.5, "/orders served its callers one at a time. " + advice),
        _canary(run, "/orders", WAIT_S),
    ]
    return verdict(Feedback(title, criteria, [run]))


# -- step 2: /rates ----------------------------------------------------------------------------
def step2(app: str = APP, app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """/rates: 20 concurrent calls to a 100 ms upstream overlap (wall < half of serial), and the
    upstream sees them in flight together."""
    import httpx

    from asgilab.upstream import serve_upstream

    title = "Step 2 - /rates"
    n = 20
    advice = (
        "requests.get() is a synchronous client: inside `async def` it holds the event loop until the "
        "upstream answers, so the upstream gets one call at a time. Use an async client: one "
        "httpx.AsyncClient opened in the app's lifespan and `await client.get(...)` in the handler "
        "(or make the handler a plain `def`)."
    )
    with serve_upstream() as up, _served(title, app, app_dir, {UPSTREAM_ENV: up.url}) as server:
        httpx.post(up.url + "/stats/reset", timeout=5, trust_env=False)
        run = load_sync(server.url + "/rates", n, n, label="/rates", **LOAD)
        peak = httpx.get(up.url + "/stats", timeout=5, trust_env=False).json()["max_in_flight"]
    criteria = [
        _all_ok(run, "/rates", f"; the upstream's base URL is in the environment variable {UPSTREAM_ENV}"),
        _overlap(run, "/rates", WAIT_S, 2.0, "/rates called the upstream one request at a time. " + advice),
        Criterion(
            peak >= n / 3,
            f"the upstream sees the calls together (at least {math.ceil(n / 3)} in flight at once)",
            f"at most {peak} upstream call(s) in flight at once",
            "the app sent its upstream calls one after another. " + advice,
        ),
        _canary(run, "/rates", WAIT_S),
    ]
    return verdict(Feedback(title, criteria, [run]))


# -- step 3: /login ----------------------------------------------------------------------------
def step3(app: str = APP, app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """/login: /ping stays fast while 4 logins hash their passwords."""
    title = "Step 3 - /login"
    n = 4
    advice = (
        "hash_password() runs PBKDF2, a deliberately slow hash, on the event loop. hashlib releases the "
        "GIL while it hashes, so a worker thread frees the loop: "
        "`await anyio.to_thread.run_sync(hash_password, password)` (or a plain `def` handler)."
    )
    with _served(title, app, app_dir, NO_UPSTREAM) as server:
        alone = load_sync(server.url + "/login", 2, 1, timeout=15.0, deadline=45.0, label="/login alone")
        run = load_sync(server.url + "/login", n, n, label="/login", **LOAD) if alone.ok else None
    if run is None:
        return verdict(Feedback(title, [_all_ok(alone, "/login")], [alone]))
    call_s = min(alone.latencies)  # the faster of two: the first request may pay one-off costs
    criteria = [_all_ok(run, "/login"), _canary(run, "/login", call_s, advice, measured_alone=True)]
    return verdict(Feedback(title, criteria, [alone, run]))


# -- step 4: ruff ------------------------------------------------------------------------------
def _module_file(app: str, app_dir: str | os.PathLike[str] | None) -> Path:
    module = app.split(":", 1)[0]
    return Path(app_dir if app_dir is not None else Path.cwd()) / (module.replace(".", "/") + ".py")


def _learner_files(path: Path) -> tuple[str, list[Path]]:
    """What step 4 lints: the app's module and every module beside it that shares its prefix
    (``lab02_app.py``: every ``lab02_*.py``, as the lab writes the service as several modules);
    returns how to name them in a command line, and the files."""
    prefix = path.stem.split("_", 1)[0]
    if "_" not in path.stem:
        return path.name, [path]
    return f"{prefix}_*.py", sorted({path, *path.parent.glob(f"{prefix}_*.py")})


def ruff_async(*paths: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """Run ``ruff check --select ASYNC`` on files; return its exit code and its findings."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    command = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "ASYNC",
        "--output-format",
        "concise",
        *map(str, paths),
    ]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=60, env={**env, "NO_COLOR": "1"}
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    return done.returncode, [line for line in text.splitlines() if re.search(r": ASYNC\d+ ", line)]


def _finding(line: str) -> str:
    """A finding of ruff's concise output as "lab02_rates.py:14: ASYNC210 ...": its file's name, not its path."""
    found = re.match(r"(.+?\.py):(\d+):\d+: (.*)", line)
    return f"{Path(found[1]).name}:{found[2]}: {found[3]}" if found else line


def step4(app: str = APP, app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """ruff's ASYNC rules find no blocking call left in the app's modules (``lab02_*.py`` beside it)."""
    title = "Step 4 - ruff --select ASYNC"
    path = _module_file(app, app_dir)
    if not path.exists():
        return verdict(
            Feedback(
                title,
                [
                    Criterion(
                        False, "the app's module exists", f"no file {path}", "run the cell that writes lab02_app.py"
                    )
                ],
            )
        )
    named, files = _learner_files(path)
    code, findings = ruff_async(*files)
    shown = "; ".join(_finding(line) for line in findings[:3]) or "none"
    criteria = [
        Criterion(
            code == 0 and not findings,
            f"`ruff check --select ASYNC {named}` finds nothing",
            (f"{len(findings)} finding(s): {shown}" if findings else "no finding")
            if findings or code == 0
            else f"ruff exited with code {code}",
            "each finding names a line and a rule: ASYNC210 is a blocking HTTP call, ASYNC251 a time.sleep, "
            "ASYNC230 an open(), all inside `async def`. Fix them as in steps 1-3.",
        )
    ]
    return verdict(Feedback(title, criteria))


_HINTS = {
    1: "/orders calls load_order_history(). Read that function: what does it do for 100 ms, and does it "
    "`await`? A sync call inside `async def` holds the whole event loop. Run it in a worker thread with "
    "`history = await anyio.to_thread.run_sync(load_order_history, customer)`, or declare the handler with "
    "plain `def` so FastAPI runs it in its thread pool.",
    2: "/rates uses requests.get, a synchronous HTTP client. Open one httpx.AsyncClient for the app's "
    "lifetime in a lifespan (`async with httpx.AsyncClient(base_url=UPSTREAM_URL) as client: "
    "yield {'client': client}`), then `await request.state.client.get('/delay?ms=100')` in a handler that "
    f"takes `request: Request`. Keep reading the upstream's address from {UPSTREAM_ENV}.",
    3: "/login calls hash_password(), PBKDF2 with 600 000 iterations: CPU work in C that takes a good "
    "fraction of a second and never awaits. hashlib releases the GIL while it hashes, so "
    "`digest = await anyio.to_thread.run_sync(hash_password, password)` keeps the loop free: /ping and every "
    "other endpoint keep answering. Concurrent logins in worker threads then also hash side by side, up to "
    "one per free core; pure-Python CPU work would only take turns holding the GIL.",
    4: "Run the ruff cell (or `python -m ruff check --select ASYNC lab02_*.py` in a terminal). Each line "
    "names a file, a line and a rule, e.g. ASYNC210 (blocking HTTP call in async def). ruff only sees calls "
    "written directly in an `async def`: it did not see the waits hidden in /orders' and /login's helpers.",
}


def hint(step: int) -> str:
    """A hint for ``step`` (1-4)."""
    return hints(_HINTS, step)
