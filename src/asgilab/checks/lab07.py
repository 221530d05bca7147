"""Checks for lab 07, CPU-bound work off the event loop. Bounds are ratios to figures taken here:
check.step1("lab07_app:app")     # /ping stays fast while 8 predictions run; all of them succeed
check.step2("lab07_app:app")     # optional: 1.25x the predictions/s of the model inline, on 1.5x the cores
check.step3("lab07_np_app:app")  # the NumPy model: /ping fast, weights held once, built at startup (transfer)"""

from __future__ import annotations

import subprocess
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from asgilab import model
from asgilab.checks import AppDir, Criterion, Hints, all_answered, make_step, ms, served
from asgilab.load import load_sync
from asgilab.machine import FREE_CORE_OTHERS, Speedup, speedup, usable_cores
from asgilab.results import Run
from asgilab.server import Server

__all__ = ["hint", "solution", "step1", "step2", "step3"]

REQUESTS, CONCURRENCY, PING_BOUND_CALLS, NP_PING_BOUND_CALLS = 32, 8, 3.0, 6.0  # /ping: under 3 (6) model calls
SPEEDUP_BOUND, CORES_BOUND = 1.25, 1.5  # step 2: throughput and cores kept busy, against the model inline
ROUNDS, SLOW_CORES = 3, 1.25  # step 2: rounds in turn (or twice that); a prediction this much costlier: slowed cores
FIRST_BOUND, ANSWERED = 0.5, f"all {REQUESTS} predictions succeed"  # step 3: first prediction / a weights build
PATHS = {1: "/predict?item=1", 3: "/page?first=1"}  # step 3 scores a page of 32 items (1 to 32) in one call
TIME_NP = "import os; os.environ.update(OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1'); import timeit; from asgilab import model; b = timeit.timeit(lambda: model.load(True), number=1); print(b, min(timeit.repeat(lambda: model.predict_batch(range(1, 33)), number=1, repeat=5)))"
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # as lesson 07 serves the NumPy model
# fmt: off
TITLES = {1: f"Step 1: /ping stays fast while {CONCURRENCY} predictions run",
          2: f"Step 2 (optional): at least {SPEEDUP_BOUND:g}x the throughput of the model inline",
          3: "Step 3: a page of 32 NumPy predictions off the loop, its weights held once and built at startup"}
HINTS = Hints("lab07_cpu_bound_and_inference.ipynb", {
    1: ("Look at where model.predict runs: on the event loop's thread, /ping waits for it. The model is pure Python, so it must leave this process's GIL too, not just the loop.",
        "concurrent.futures.ProcessPoolExecutor with mp_context=multiprocessing.get_context('spawn'), created in lifespan and yielded as state; `await loop.run_in_executor(pool, fn, arg)` in /predict.",
        "with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:\n    yield {'pool': pool}  # in lifespan\nreturn await asyncio.get_running_loop().run_in_executor(request.state.pool, model.predict, item)"),
    2: ("Look at how many workers your pool may start, and how many cores the machine has: one worker computes on one core.",
        "ProcessPoolExecutor(max_workers=...) with asgilab.machine.usable_cores(); warm every worker in lifespan with model.warm so the first requests do not start them.",
        "with ProcessPoolExecutor(max_workers=usable_cores(), mp_context=spawn) as pool:\n    await asyncio.gather(*(loop.run_in_executor(pool, model.warm) for _ in range(usable_cores())))"),
    3: ("Look at what model.predict_batch spends its time in (lesson 07, section 2): does it hold the GIL? Then at when its 64 MB of weights are built: at import, at startup, or in the first request.",
        "a thread (asyncio.to_thread, or a ThreadPoolExecutor made in lifespan) shares the weights; model.load(True) builds them, best in lifespan via asyncio.to_thread.",
        "await asyncio.to_thread(model.load, True)  # in lifespan, before yield\nreturn await asyncio.to_thread(model.predict_batch, range(first, first + 32))  # in /page"),
})
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)
LOOK = {  # where each failed criterion sends the learner: the symptom and where to look, never the fix
    "answered": "a 500 means /predict raised: the server's last lines above name the exception; look at what lifespan yields and how /predict reaches it.",
    "threads": "no worker process, but the server's threads grew from {before} to {after}: the model runs in threads of its one process. The loop is free of the call, not of the GIL: pure-Python code holds it, and the loop's thread must win it back each time. Look at what kind of worker runs the model.",
    "inline": "/ping waited as long as {calls:.0f} model calls, and the server started no worker: the model still runs on the event loop, and while a prediction runs the loop answers nothing. Look at what /predict does with model.predict.",
    "leftover": "your server has {workers} worker process(es), yet /ping waited {calls:.1f} model calls: look for model work still done in the endpoint itself, before or after the pool call.",
    "one core": "one core computes one prediction at a time, however many processes share it: run this step on a machine with at least 2 cores.",
    "no worker": "your server started no worker process, so every prediction runs in its one process: inline or in threads, pure-Python code computes on one GIL, one core at a time (step 1).",
    "few workers": "your server has {workers} worker process(es) on a {cores}-core machine, and one worker computes on one core: look at how many workers your pool may start.",
    "busy": "{workers} worker processes, but other programs kept {others:.1f} of the {cores} cores busy meanwhile: there was no free core to gain. Close them and check again.",
    "little gain": "{workers} worker processes on an otherwise idle machine, yet little gain: look for model work the endpoint still does itself, on the event loop.",
    "copies": "each worker process holds its own copy of the 64 MB of weights, and every call pickles its arguments across: this model is NumPy, which lets go of the GIL inside its matrix products (lesson 07, section 2). Look at whether it needs another interpreter at all.",
    "np inline": "/ping waited while the NumPy model ran: look at where /page calls model.predict_batch, and at what else it does on the event loop.",
    "first": "the first request paid for building the weights: look at what your app does at startup, before it serves.",
}


def _load(server: Server, label: str, path: str = "/predict?item=1") -> Run:
    url, options = server.url + path, {"probe": "/ping", "timeout": 30, "deadline": 60}
    return load_sync(url, REQUESTS, CONCURRENCY, label=label, cpu_of=[server], **options)


def _helpers(server: Server) -> tuple[int, int, float]:
    """(worker processes but multiprocessing's resource tracker, threads, MB held by the server and workers)"""
    try:
        proc = psutil.Process(server.pid)
        kids = [c for c in proc.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
        return len(kids), proc.num_threads(), sum(p.memory_info().rss for p in [proc, *kids]) / 2**20
    except psutil.Error:
        return 0, 0, 0.0


@dataclass
class Canary:  # steps 1 and 3: a run with /ping as canary, one model call timed here, the server's helpers
    run: Run
    call_s: float
    workers: int
    threads: tuple[int, int]  # before and after the run
    logs: str
    memory_mb: float = 0.0
    first_s: float = float("nan")  # step 3: the first prediction after startup
    build_s: float = float("nan")  # step 3: building the NumPy weights here


def _canary(app: str, app_dir: AppDir, step: int, timed: Callable[[], float], build_s: float = float("nan")) -> Canary:
    """A model call timed here (before and after); the first prediction after startup; the load."""
    before, path = timed(), PATHS[step]
    with served(TITLES[step], app, app_dir, ONE_BLAS_THREAD, step=step) as server:
        workers, threads, _ = _helpers(server)
        first = load_sync(server.url + path, 1, 1, timeout=30, label="the first prediction")
        run = _load(server, "your app", path)
        after, threads_after, memory = _helpers(server)
    first_s = first.records[0].latency if first.ok else float("nan")
    call_s = min(before, timed()) if step == 1 else before  # timed again: a busy moment made one timing too long
    return Canary(run, call_s, max(workers, after), (threads, threads_after), server.logs(), memory, first_s, build_s)


def measure_step1(app: str, app_dir: AppDir = None) -> Canary:
    """One model call timed here; 32 predictions, 8 at a time, with /ping as canary."""
    return _canary(app, app_dir, 1, lambda: min(timeit.repeat(lambda: model.predict(1), number=1, repeat=5)))


def _ping(m: Canary, advice: str, calls: float = PING_BOUND_CALLS) -> Criterion:
    worst, bound, pings = m.run.probe_max_s, calls * m.call_s, len(m.run.probe_records)
    measured = f"worst /ping {ms(worst)} = {worst / m.call_s:.1f} model calls of {ms(m.call_s)} ({pings} pings)"
    what = f"/ping's worst wait under {calls:g} model calls ({ms(bound)} here)"
    return Criterion(pings > 0 and worst < bound, what, measured, advice)


def judge_step1(m: Canary) -> list[Criterion]:
    """All predictions succeed; /ping's worst wait stays under 3 model calls."""
    (before, after), calls = m.threads, m.run.probe_max_s / m.call_s
    key = "leftover" if m.workers else "threads" if after > before + 1 else "inline"
    advice = LOOK[key].format(before=before, after=after, calls=calls, workers=m.workers)
    return [all_answered(m.run, ANSWERED, m.logs, LOOK["answered"]), _ping(m, advice)]


@dataclass
class Throughput:  # step 2: the inline reference and the learner's app, measured in turns; the machine
    references: list[Run]
    runs: list[Run]
    workers: int
    cores: int
    logs: str


def measure_step2(app: str, app_dir: AppDir = None) -> Throughput:
    """Both servers up, measured in turn (other work slows both alike; the fastest of each counts), ROUNDS more if short."""
    cores, references, runs = usable_cores(), [], []
    if cores < 2:
        return Throughput([], [], 0, cores, "")
    with served(TITLES[2], app, app_dir, step=2) as server:
        with served(TITLES[2], "asgilab.apps.model_inline:app", step=2) as inline:
            for round_ in range(2 * ROUNDS):
                references.append(_load(inline, "model inline"))
                runs.append(_load(server, "your app"))
                if round_ + 1 >= ROUNDS and _speedup(references, runs)[0]:
                    break
        workers = _helpers(server)[0]
    return Throughput(references, runs, workers, cores, server.logs())


def _speedup(references: list[Run], runs: list[Run]) -> tuple[bool, Run, Run, Speedup]:
    """(passed, best reference, best run, gain): throughput = cores used / CPU per prediction (appendix A3)."""
    reference, run = (max(rs, key=lambda r: r.throughput_rps) for rs in (references, runs))
    gain = speedup(run, reference)
    fast = gain.throughput_ratio >= SPEEDUP_BOUND or gain.cpu_ratio >= SLOW_CORES
    return gain.cores_ratio >= CORES_BOUND and fast, reference, run, gain


def judge_step2(m: Throughput) -> list[Criterion]:
    """All predictions succeed; 1.25x the inline throughput on 1.5x its cores (2 cores or more)."""
    if m.cores < 2:
        return [Criterion(False, "a machine with 2 cores or more", f"{m.cores} core here", LOOK["one core"])]
    passed, ref, run, gain = _speedup(m.references, m.runs)
    key = "no worker" if not m.workers else "few workers" if m.workers < m.cores else "little gain"
    key = "busy" if key == "little gain" and not gain.others_cores < FREE_CORE_OTHERS else key  # nan: not measured
    advice = LOOK[key].format(workers=m.workers, cores=m.cores, others=gain.others_cores)
    slowed = "; the cores ran slow (a busy host), so the cores kept busy count" if gain.cpu_ratio >= SLOW_CORES else ""
    measured = f"{run.throughput_rps:.1f}/s against {ref.throughput_rps:.1f}/s inline, {m.cores} cores: {gain}{slowed}"
    what = f"at least {SPEEDUP_BOUND:g}x the predictions per second of the model inline, on at least {CORES_BOUND:g}x the cores it keeps busy"
    return [all_answered(run, ANSWERED, m.logs, LOOK["answered"]), Criterion(passed, what, measured, advice)]


def measure_step3(app: str, app_dir: AppDir = None) -> Canary:
    """A weights build and one page's call, timed in a process with the server's settings; then as step 1."""
    build_s, call_s = map(float, subprocess.check_output([sys.executable, "-c", TIME_NP], text=True).split())
    return _canary(app, app_dir, 3, lambda: call_s, build_s)


def judge_step3(m: Canary) -> list[Criterion]:
    """Step 1's criteria for the NumPy model; no worker process; a first prediction under half a weights build."""
    ping = _ping(m, "see the line on worker processes below." if m.workers else LOOK["np inline"], NP_PING_BOUND_CALLS)
    copies = f"{m.workers} worker process(es); the server and its workers hold {m.memory_mb:.0f} MB"
    once = Criterion(m.workers == 0, "the weights are held once: no worker process", copies, LOOK["copies"])
    first = f"first prediction {ms(m.first_s)}; building the 64 MB of weights takes {ms(m.build_s)} here"
    what = f"the first prediction after startup takes under {FIRST_BOUND:.0%} of building the weights"
    soon = Criterion(m.first_s < FIRST_BOUND * m.build_s, what, first, LOOK["first"])
    return [all_answered(m.run, ANSWERED, m.logs, LOOK["answered"]), ping, once, soon]


step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab07_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab07_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab07_np_app:app")
