"""Lab 03 checks: `def` or `async def`, the thread pool's tokens, and CPU-bound work.

check.step1("lab03_sdk_app:app")    # a blocking SDK in `def`: the tokens from a call you measure and an SLO
check.step2("lab03_cpu_app:app")    # CPU work: /ping responsive, several cores busy, no pool worker left at shutdown
check.step3("lab03_quote_app:app")  # the limiter from a measured call, an SLO, a vendor cap; check.hint(1, level=2)"""

from __future__ import annotations

import contextlib
import math
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asgilab.apps import lab03_pool_probe as pool_probe
from asgilab.apps.lab03_weather import CALL_S
from asgilab.checks import AppDir, CheckFailed, Criterion, all_answered, app_error, make_step, ms, served, tail
from asgilab.checks import lab03_text as text
from asgilab.checks.criteria import waits_at_least
from asgilab.checks.lab03_text import HINTS, WITHIN, look, said, title
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.machine import FREE_CORE_OTHERS, usable_cores
from asgilab.results import Run
from asgilab.server import Server

__all__ = ["hint", "solution", "step1", "step2", "step3"]

FORECASTS, FORECAST_SLO_S, DEFAULT_TOKENS = text.FORECASTS, text.FORECAST_SLO_S, 40  # step 1; AnyIO's default
QUOTE_S, QUOTES, SLO_S, VENDOR_CAP = text.QUOTE_S, text.QUOTES, text.SLO_S, text.VENDOR_CAP  # step 3
CPU_MS, CPU_REQUESTS, MIN_CORES_USED = 100, 8, 1.3  # the GIL keeps one process near 1 core
MAX_PROBE_SHARE, PROBE_FLOOR_S = 0.25, 0.025  # /ping's mean wait: a share of one report, never asked below 25 ms
REFUSED, NO_LOOP = "QuoteLimitExceeded", ("NoEventLoopError", "AsyncLibraryNotFoundError")
TITLES = text.TITLES  # in English: title(step) gives a step's title in the learner's language
PATHS, LOADS, SLOS = {1: "/forecast", 3: "/quote"}, {1: FORECASTS, 3: QUOTES}, {1: FORECAST_SLO_S, 3: SLO_S}
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Measured:
    """Steps 1, 3: the best of up to 3 bursts; step 2: the better of 2 bursts of 8 reports, and of 2 series of 3."""

    run: Run  # steps 1, 3: fewest errors, then fastest; step 2: fewest errors, then most cores used
    logs: str
    call_s: float = QUOTE_S  # steps 1, 3: one request alone, the fastest of 3
    serial: Run | None = None  # step 2: 3 reports one at a time
    cores: int = 0  # step 2: usable_cores() of this machine
    pool: dict[str, int | str] | None = None  # step 2: the probe's children count at and after shutdown


@contextlib.contextmanager
def _served(step: int, app: str, app_dir: AppDir, **options: Any) -> Iterator[Server]:
    """`served`, with the import-time limiter explained when the app does not start."""
    try:
        with served(title(step), app, app_dir, step=step, **options) as server:
            yield server
    except CheckFailed as failure:
        if any(name in (first := failure.feedback.criteria[0]).measured for name in NO_LOOP):
            first.advice = look("import")
        raise


def _bursts(step: int, app: str, app_dir: AppDir) -> Measured:
    """One request alone (3 times), then up to 3 bursts, the best kept: other programs can only slow one down."""
    path, at_once, slo = PATHS[step], LOADS[step], SLOS[step]
    with _served(step, app, app_dir) as server:
        url, tries = server.url + path, list[Run]()
        alone = load_sync(url, 3, 1, timeout=5, deadline=20)
        for _ in range(3):  # a near miss is tried again: within the SLO, refused or far off, another would agree
            tries.append(load_sync(url, at_once, at_once, timeout=5, deadline=20, label=path))
            if tries[-1].errors or not slo < tries[-1].wall_s <= 1.5 * slo:
                break
    call_s = min(alone.latencies) if alone.ok else math.nan
    return Measured(min(tries, key=lambda t: (t.errors, t.wall_s)), server.logs(), call_s)


def measure_step1(app: str, app_dir: AppDir = None) -> Measured:
    """One forecast alone (3 times), then up to 3 bursts of 150 at once."""
    return _bursts(1, app, app_dir)


def measure_step3(app: str, app_dir: AppDir = None) -> Measured:
    """One quote alone (3 times), then up to 3 bursts of 120 at once."""
    return _bursts(3, app, app_dir)


def _stop_alone(server: Server, grace_s: float = 10.0) -> None:
    """SIGTERM to the server alone, as a reloader sends it (`Server.stop` signals its group, pool workers too)."""
    if server.process is not None:
        server.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(grace_s)


def measure_step2(app: str, app_dir: AppDir = None) -> Measured:
    """Warm the pool, then twice, taking turns: 3 reports one at a time and 8 at once; the pool after shutdown."""
    cores, url, serials, bursts = usable_cores(), f"/report?ms={CPU_MS}", [], []
    probed = {"serve_app": "asgilab.apps.lab03_pool_probe:probe_app", "env": {pool_probe.TARGET_ENV: app}}
    with _served(2, app, app_dir, **probed) as server:
        # `cores` at once: a lazy pool adds a worker only when no idle one can take a task, so one at a time would
        # start one and a burst would time the others' start-up. Each worker calibrates `burn_cpu` here, not timed.
        load_sync(server.url + "/report?ms=1", requests=2 * cores, concurrency=cores, timeout=10, deadline=20)
        for _ in range(2):  # taking turns, keeping the better of each: other programs may share the cores
            serials.append(load_sync(server.url + url, 3, 1, timeout=10, deadline=20, label="one at a time"))
            burst = dict(probe="/ping", timeout=10, deadline=20, label=f"{CPU_REQUESTS} at once", cpu_of=[server])
            bursts.append(load_sync(server.url + url, CPU_REQUESTS, CPU_REQUESTS, **burst))
        _stop_alone(server)
    serial = min(serials, key=lambda run: (run.errors, run.p50_s if run.ok else math.inf))
    best, logs = min(bursts, key=lambda run: (run.errors, -run.cores_used)), server.logs()
    return Measured(best, logs, serial=serial, cores=cores, pool=pool_probe.read_report(logs))


def _answered(run: Run, what: str, logs: str, where: str) -> Criterion:
    return all_answered(run, what, logs, look("no loop") if any(n in app_error(logs) for n in NO_LOOP) else where)


def _within(m: Measured, step: int) -> Criterion:
    run, slo, count = m.run, SLOS[step], LOADS[step]
    rounds, at_once = run.wall_s / m.call_s, run.served_at_once(m.call_s)
    took = said("took", wall_s=run.wall_s, rounds=rounds, call=ms(m.call_s), at_once=at_once)
    default = step == 1 and at_once <= DEFAULT_TOKENS * 1.15  # step 3's 40 and 50 tokens both take 3 rounds
    advice = look("40", at_once=at_once) if default else look("slo", rounds=rounds, count=count)
    within = run.ok == count and run.wall_s <= slo
    return Criterion(within, _f(WITHIN[step], count=count, slo=slo), took, advice)


def judge_step1(m: Measured) -> list[Criterion]:
    """All 150 answered within the SLO, and each waits on the SDK."""
    what = _f("all {n} requests to GET /forecast answered", n=FORECASTS)
    return [_answered(m.run, what, m.logs, look("forecast")), waits_at_least(m.run, CALL_S, look("sdk")), _within(m, 1)]


def judge_step3(m: Measured) -> list[Criterion]:
    """All 120 answered within the SLO, each waits on the SDK, and the SDK never refused a call."""
    refused = any(f"{REFUSED}:" in line for line in m.logs.splitlines())
    failed = m.run.requests - m.run.ok
    seen = said("refused", failed=failed, quotes=QUOTES, refused=REFUSED) if refused else said("none", refused=REFUSED)
    within = _within(m, 3)
    within.advice = look("slo refused") if refused else within.advice
    never = _f("the SDK never sees more than {cap} calls at once", cap=VENDOR_CAP)
    return [
        _answered(m.run, _f("all {n} quotes answered", n=QUOTES), m.logs, look("vendor" if refused else "forecast")),
        waits_at_least(m.run, QUOTE_S, look("sdk")),
        within,
        Criterion(not refused, never, seen, look("vendor")),
    ]


def _on_cores(m: Measured, answered: bool, serial_s: float) -> Criterion:
    burst, others = m.run, m.run.others_cores or 0.0
    if m.cores < 2:
        skipped = _f("skipped: {cores} core here, no gain is possible", cores=m.cores)
        return Criterion(True, _("reports on several cores"), skipped)
    speedup = serial_s / burst.wall_s if answered and burst.wall_s > 0 else 0.0
    cores = said("cores", used=burst.cores_used, wall_s=burst.wall_s, serial_s=serial_s, speedup=speedup, others=others)
    advice = look("busy", others=others, cores=m.cores) if others >= FREE_CORE_OTHERS else look("one core")
    what = said("on cores", least=MIN_CORES_USED, cores=m.cores)
    return Criterion(answered and burst.cores_used >= MIN_CORES_USED, what, cores, advice)


def _pool_gone(m: Measured) -> Criterion:
    what, report = _("the pool's worker processes are gone once the app's lifespan shutdown ends"), m.pool or {}
    if not report:
        never = _f("the lifespan shutdown never completed; the server's last lines:\n{tail}", tail=tail(m.logs))
        return Criterion(False, what, never, look("report"))
    left, serving = int(report["after_shutdown"]), int(report["serving"])
    return Criterion(left == 0, what, said("children", serving=serving, left=left), look("left"))


def judge_step2(m: Measured) -> list[Criterion]:
    """Every report answered, /ping's mean wait under a quarter of one report, several cores busy, no worker left."""
    assert m.serial is not None, "step 2 measures 3 reports one at a time"
    serial, burst, one = m.serial, m.run, m.serial.p50_s
    answered, waits = serial.ok == 3 and burst.ok == CPU_REQUESTS, [r.latency for r in burst.probe_records]
    mean_wait, limit = (sum(waits) / len(waits) if waits else math.nan), max(MAX_PROBE_SHARE * one, PROBE_FLOOR_S)
    probe_ok = bool(waits) and all(r.ok for r in burst.probe_records) and mean_wait <= limit
    counts = said("counts", serial_ok=serial.ok, burst_ok=burst.ok, requests=CPU_REQUESTS)
    if not answered:
        errors = ", ".join(f"{k}: {n}" for k, n in {**serial.error_kinds, **burst.error_kinds}.items())
        log = " | ".join(line for line in m.logs.splitlines()[-3:] if line.strip())
        counts += _f("; errors {errors}; server log: {log}", errors=errors, log=log)
    pinged = said("pinged", mean=ms(mean_wait), worst=ms(burst.probe_max_s), limit=ms(limit), one=ms(one))
    ping = _("GET /ping stays responsive while 8 reports run")
    return [
        Criterion(answered, _f("every GET /report?ms={ms} answered", ms=CPU_MS), counts, look("report")),
        Criterion(answered and probe_ok, ping, pinged, look("ping")),
        _on_cores(m, answered, CPU_REQUESTS * one),
        _pool_gone(m),
    ]


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab03_sdk_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab03_cpu_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab03_quote_app:app")
