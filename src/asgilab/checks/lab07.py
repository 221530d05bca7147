"""Checks for lab 07, CPU-bound work off the event loop. Bounds are ratios to figures taken here:
check.step1("lab07_app:app")       # /ping fast under a burst; past their deadline 504, and not computed
check.step2("lab07_rank_app:app")  # the ranker in worker processes: no first prediction pays for its table
check.step3("lab07_np_app:app")    # the NumPy model: /ping fast, weights held once, built at startup (transfer)"""

from __future__ import annotations

import subprocess
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from asgilab import model
from asgilab.checks import AppDir, Criterion, all_answered, make_step, ms, served
from asgilab.checks.lab07_text import ANSWERED, HINTS, TITLES, WHAT, look, title
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.server import Server

__all__ = ["TITLES", "hint", "solution", "step1", "step2", "step3"]

REQUESTS, CONCURRENCY, PING_BOUND_CALLS, NP_PING_BOUND_CALLS = 32, 8, 3.0, 6.0  # /ping: under 3 (6) model calls
BURST_PER_WORKER, DEADLINE_CALLS, LATE_CALLS, DEADLINE_ENV = 24, 8, 4, "LAB07_DEADLINE_S"  # step 1, in model calls
FIRST_BOUND = 0.5  # steps 2-3: first predictions / one build
PATHS = {1: "/predict?item=1", 2: "/rank?item=1", 3: "/page?first=1"}  # step 3 scores items 1 to 32 in one call
# fmt: off
SETUP = "import os; os.environ.update(OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1'); import timeit; from asgilab import model; from asgilab.apps import lab07_ranker as r; "
TIME_BUILD = {  # (a build, one call) timed in a fresh process: step 2's table, step 3's weights
    2: SETUP + "b = timeit.timeit(r.build, number=1); print(b, min(timeit.repeat(lambda: r.rank(1), number=1, repeat=5)))",
    3: SETUP + "b = timeit.timeit(lambda: model.load(True), number=1); print(b, min(timeit.repeat(lambda: model.predict_batch(range(1, 33)), number=1, repeat=5)))"}
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # as lesson 07 serves the NumPy model
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


def _helpers(server: Server) -> tuple[int, int, float]:
    """(worker processes but multiprocessing's resource tracker, threads, MB held by the server and workers)"""
    try:
        proc = psutil.Process(server.pid)
        kids = [c for c in proc.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
        return len(kids), proc.num_threads(), sum(p.memory_info().rss for p in [proc, *kids]) / 2**20
    except psutil.Error:
        return 0, 0, 0.0


def _model_call_s() -> float:  # the fastest of 5 calls here
    return min(timeit.repeat(lambda: model.predict(1), number=1, repeat=5))


@dataclass
class Canary:  # steps 1-3: a run with /ping as canary, one model call timed here, the server's helpers
    run: Run
    call_s: float
    workers: int
    threads: tuple[int, int]  # before and after the run
    logs: str
    memory_mb: float = 0.0
    first_s: float = float("nan")  # steps 2-3: the slowest of the first predictions after startup
    build_s: float = float("nan")  # steps 2-3: building the table (the weights) in a fresh process
    deadline_s: float = float("nan")  # step 1: the deadline the check gave the app
    after: tuple[float, int | None] = (float("nan"), None)  # step 1: one prediction after the burst: latency, status


def _canary(app: str, app_dir: AppDir, step: int, timed: Callable[[], float], build_s: float = float("nan")) -> Canary:
    """The first predictions after startup (step 2: three per worker, one per worker at a time); the load."""
    with served(title(step), app, app_dir, ONE_BLAS_THREAD, step=step) as server:
        workers, threads = _helpers(server)[:2]
        url, n = server.url + PATHS[step], max(workers, 1)
        first = load_sync(url, 3 * n if step == 2 else 1, n, timeout=30, label="the first predictions")
        run = load_sync(url, REQUESTS, CONCURRENCY, probe="/ping", timeout=30, deadline=60, label="your app")
        after, threads_after, memory = _helpers(server)
    first_s = first.max_s if first.ok == first.requests else float("nan")
    return Canary(run, timed(), max(workers, after), (threads, threads_after), server.logs(), memory, first_s, build_s)


def measure_step1(app: str, app_dir: AppDir = None) -> Canary:
    """A model call timed here; 24 predictions per worker at once, /ping as canary, an 8-call deadline; one more."""
    deadline_s = DEADLINE_CALLS * (call_s := _model_call_s())
    with served(title(1), app, app_dir, {DEADLINE_ENV: f"{deadline_s:.4f}"}, step=1) as server:
        workers, threads = _helpers(server)[:2]
        n, url = BURST_PER_WORKER * max(workers, 1), server.url + PATHS[1]
        run = load_sync(url, n, n, probe="/ping", timeout=30, deadline=60, label="a burst")
        after = load_sync(url, 1, 1, timeout=30, label="one prediction afterwards")
        threads_after = _helpers(server)[1]
    call_s = min(call_s, _model_call_s())  # timed again: a busy moment made one timing too long
    return Canary(
        run,
        call_s,
        workers,
        (threads, threads_after),
        server.logs(),
        deadline_s=deadline_s,
        after=(after.records[0].latency, after.records[0].status),
    )


def _ping(m: Canary, advice: str, calls: float = PING_BOUND_CALLS) -> Criterion:
    worst, bound, pings = m.run.probe_max_s, calls * m.call_s, len(m.run.probe_records)
    measured = _f(
        "worst /ping {worst} = {calls:.1f} model calls of {call} ({pings} pings)",
        worst=ms(worst),
        calls=worst / m.call_s,
        call=ms(m.call_s),
        pings=pings,
    )
    what = _f("/ping's worst wait under {calls:g} model calls ({bound} here)", calls=calls, bound=ms(bound))
    return Criterion(pings > 0 and worst < bound, what, measured, advice)


def _where_it_ran(m: Canary) -> str:
    (before, after), calls = m.threads, m.run.probe_max_s / m.call_s
    key = "leftover" if m.workers else "threads" if after > before + 1 else "inline"
    return look(key, before=before, after=after, calls=calls, workers=m.workers)


def judge_step1(m: Canary) -> list[Criterion]:
    """200 or 504; /ping under 3 calls; none past the deadline + 4 calls; some 200s; then one 200 in time."""
    run, calls, bound = m.run, m.call_s, m.deadline_s + LATE_CALLS * m.call_s
    answered = [r.latency for r in run.records if r.status in (200, 504)]
    others = {k: v for k, v in run.error_kinds.items() if k != "status 504"}
    slowest = max(answered, default=float("nan"))
    failures = _f("; other failures {others}", others=others) if others else ""
    late = look("late", slowest=ms(slowest), calls=slowest / calls, deadline=ms(m.deadline_s))
    what_late = _f(
        "each is answered within its {deadline} deadline (accepted up to {bound})",
        deadline=ms(m.deadline_s),
        bound=ms(bound),
    )
    (after_s, status), after_calls = m.after, m.after[0] / calls
    return [
        Criterion(bool(answered) and not others, _(WHAT["200 or 504"]), f"{len(answered)}/{run.requests}{failures}", look("answered")),
        _ping(m, _where_it_ran(m)),
        Criterion(slowest <= bound, what_late, _f("the slowest after {slowest} ({calls:.1f} model calls)", slowest=ms(slowest), calls=slowest / calls), late),
        Criterion(run.ok >= max(m.workers, 1), _(WHAT["some 200"]), _f("{ok} answered 200", ok=run.ok), look("all 504", env=DEADLINE_ENV, deadline=m.deadline_s)),
        Criterion(status == 200 and after_s <= m.deadline_s, _f("afterwards, a prediction is answered 200 within its deadline ({deadline})", deadline=ms(m.deadline_s)),
                  _f("status {status} after {after} ({calls:.1f} model calls)", status=status, after=ms(after_s), calls=after_calls), look("after", calls=after_calls)),
    ]  # fmt: skip


def _timed_build(step: int) -> tuple[float, float]:
    timed = subprocess.check_output([sys.executable, "-c", TIME_BUILD[step]], text=True).split()  # sets BLAS itself
    return float(timed[0]), float(timed[1])


def _first(m: Canary, what: str, advice: str) -> Criterion:
    # One call's time on top: a busy machine slows the call itself, not only a build it should not pay.
    first = _f(
        "slowest first prediction {first}; one call {call}, building it {build} in a fresh process here",
        first=ms(m.first_s),
        call=ms(m.call_s),
        build=ms(m.build_s),
    )
    return Criterion(m.first_s < m.call_s + FIRST_BOUND * m.build_s, what, first, advice)


def measure_step2(app: str, app_dir: AppDir = None) -> Canary:
    """The ranker's table built and one rank call timed in a fresh process; then as step 1's canary."""
    build_s, call_s = _timed_build(2)
    return _canary(app, app_dir, 2, lambda: min(call_s, _model_call_s()), build_s)


def judge_step2(m: Canary) -> list[Criterion]:
    """All predictions succeed; /ping under 3 model calls; the first ones (3 per worker) under half a table build."""
    what = _f("no first prediction after startup pays for the table: each under one call plus {bound:.0%} of building it", bound=FIRST_BOUND)  # fmt: skip
    first = _first(m, what, look("first", first=ms(m.first_s), build=ms(m.build_s)))
    return [all_answered(m.run, _f(ANSWERED, requests=REQUESTS), m.logs, look("answered")), _ping(m, _where_it_ran(m)), first]  # fmt: skip


def measure_step3(app: str, app_dir: AppDir = None) -> Canary:
    """A weights build and one page's call, timed in a process with the server's settings; then as step 1."""
    build_s, call_s = _timed_build(3)
    return _canary(app, app_dir, 3, lambda: call_s, build_s)


def judge_step3(m: Canary) -> list[Criterion]:
    """Step 1's criteria for the NumPy model; no worker process; a first prediction under half a weights build."""
    ping = _ping(
        m, _("see the line on worker processes below.") if m.workers else look("np inline"), NP_PING_BOUND_CALLS
    )
    copies = _f(
        "{workers} worker process(es); the server and its workers hold {mb:.0f} MB", workers=m.workers, mb=m.memory_mb
    )
    once = Criterion(m.workers == 0, _("the weights are held once: no worker process"), copies, look("copies"))
    soon = _first(m, _f("the first prediction after startup takes under one call plus {bound:.0%} of building the weights", bound=FIRST_BOUND), look("np first"))  # fmt: skip
    return [all_answered(m.run, _f(ANSWERED, requests=REQUESTS), m.logs, look("answered")), ping, once, soon]


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab07_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab07_rank_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab07_np_app:app")
