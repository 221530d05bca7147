"""Lab 04 checks: a gateway with one HTTP client, created in ``lifespan``, limited, and closed.

    from asgilab.checks import lab04 as check
    check.step1("lab04_app:app")      # pooled: few connections, faster than a client per request
    check.step2("lab04_app:app")      # the client is created at startup and closed at shutdown
    check.step3("lab04_aio_app:app")  # the same gateway with aiohttp (transfer)
    check.hint(1), check.hint(1, level=2), check.solution(1)

Each step starts the course's upstream and passes its address in ``UPSTREAM_URL``; the app answers
``GET /proxy?ms=N`` from ``{UPSTREAM_URL}/delay?ms=N``. Steps 2-3 serve it inside `asgilab.apps.lifespan_probe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgilab.checks import AppDir, Criterion, all_answered, make_step, probe, served
from asgilab.checks.lab04_text import HINTS, TITLES, title
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.upstream import Upstream, serve_upstream

__all__ = ["TITLES", "hint", "solution", "step1", "step2", "step3"]

POOL_LIMIT = 10  # connections the learner's client may open to the upstream
REQUESTS, CONCURRENCY = 60, 50
UPSTREAM_MS = 20  # how long the upstream takes to answer
CONNECT_DELAY_MS = 50  # the upstream's simulated handshake for every new connection
MIN_SPEEDUP = 1.5  # throughput against a gateway that makes a client per request
PROXY, LOAD = f"/proxy?ms={UPSTREAM_MS}", {"timeout": 10, "deadline": 40}
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


# -- what the steps measure -------------------------------------------------------------
@dataclass
class Pooling:
    """Step 1: the learner's gateway and a client-per-request reference, on one upstream."""

    run: Run
    reference: Run
    stats: dict[str, int]  # what the upstream saw from the learner's gateway
    logs: str


@dataclass
class Lifespan:
    """Steps 2-3: a run through the probe, what the upstream saw, and the probe's report."""

    run: Run
    stats: dict[str, int]
    report: dict[str, Any] | None  # None: the lifespan's shutdown never completed
    logs: str


def _gateway(up: Upstream, app: str, app_dir: AppDir, label: str) -> tuple[Run, str]:
    with served(title(1), app, app_dir, {"UPSTREAM_URL": up.url}, step=1) as server:
        up.reset()
        run = load_sync(server.url + PROXY, REQUESTS, CONCURRENCY, label=label, **LOAD)
    return run, server.logs()


def measure_step1(app: str, app_dir: AppDir = None) -> Pooling:
    """Serve the gateway, then the reference, each with 60 requests 50 at a time."""
    with serve_upstream(connect_delay_ms=CONNECT_DELAY_MS) as up:
        run, logs = _gateway(up, app, app_dir, "your gateway")
        stats = up.stats()
        reference, _logs = _gateway(up, probe.PER_REQUEST_APP, None, "a new client per request (reference)")
    return Pooling(run, reference, stats, logs)


def _measure_probed(app: str, app_dir: AppDir, step: int, load: tuple[int, int], delay_ms: float) -> Lifespan:
    with serve_upstream(connect_delay_ms=delay_ms) as up:
        env = {probe.TARGET_ENV: app, "UPSTREAM_URL": up.url}
        with served(title(step), app, app_dir, env, step=step, serve_app=probe.APP) as server:
            up.reset()
            run = load_sync(server.url + PROXY, *load, label="your gateway", **LOAD)
            stats = up.stats()
    logs = server.logs()  # the server has stopped: its output includes the shutdown
    return Lifespan(run, stats, probe.read_report(logs), logs)


def measure_step2(app: str, app_dir: AppDir = None) -> Lifespan:
    """20 requests, 10 at a time, through the probe."""
    return _measure_probed(app, app_dir, 2, (20, 10), 0)


def measure_step3(app: str, app_dir: AppDir = None) -> Lifespan:
    """Step 1's load and handshakes, through the probe."""
    return _measure_probed(app, app_dir, 3, (REQUESTS, CONCURRENCY), CONNECT_DELAY_MS)


# -- how the steps judge it (pure functions) --------------------------------------------
def _connections(stats: dict[str, int]) -> Criterion:
    opened, requests = stats["connections_opened"], stats["requests"]
    if requests == 0:
        advice = _("the upstream got no request at all, so there is nothing to count yet: see the line above.")
    elif opened >= 0.95 * requests:
        advice = _("about one new connection per request: look at where the client is made and how long it lives.")
    else:
        advice = _f(
            "connections are reused, but {concurrency} requests at once opened more than {limit}: look at how many connections the shared client may open.",
            concurrency=CONCURRENCY,
            limit=POOL_LIMIT,
        )
    return Criterion(
        requests > 0 and opened <= POOL_LIMIT,
        _f("the upstream sees at most {limit} new connections", limit=POOL_LIMIT),
        _f(
            "{opened} new TCP connections for {requests} upstream requests, {concurrency} arriving at once",
            opened=opened,
            requests=requests,
            concurrency=CONCURRENCY,
        ),
        advice,
    )


def _answered(run: Run, logs: str) -> Criterion:
    # i18n: {UPSTREAM_URL} is the environment variable's name, shown as it is (not a field filled in)
    where = _(
        "the endpoint calls {UPSTREAM_URL}/delay?ms=... and returns its JSON: the server's output above names the exception."
    )
    return all_answered(run, _f("GET /proxy?ms={ms} answers every request", ms=UPSTREAM_MS), logs, where)


def judge_step1(m: Pooling) -> list[Criterion]:
    """Every request answered, at most 10 connections, at least 1.5x the reference's throughput."""
    ref = m.reference.throughput_rps
    speedup = m.run.throughput_rps / ref if ref > 0 else 0.0
    if m.stats["connections_opened"] <= POOL_LIMIT:
        advice = _f(
            "connections are shared, yet throughput is low: is the pool much smaller than {limit}? Look at its size.",
            limit=POOL_LIMIT,
        )
    else:
        advice = _f(
            "each new connection costs a {delay} ms handshake here: look at how many your gateway opens (above).",
            delay=CONNECT_DELAY_MS,
        )
    throughput = Criterion(
        m.run.ok == m.run.requests and speedup >= MIN_SPEEDUP,
        _f("throughput at least {speedup:g}x a gateway that makes a client per request", speedup=MIN_SPEEDUP),
        _f(
            "{rps:.0f} req/s against {ref:.0f} req/s ({speedup:.1f}x)",
            rps=m.run.throughput_rps,
            ref=ref,
            speedup=speedup,
        ),
        advice,
    )
    return [_answered(m.run, m.logs), _connections(m.stats), throughput]


def judge_step2(m: Lifespan) -> list[Criterion]:
    """Every request answered; a client made during startup and closed at shutdown."""
    return [_answered(m.run, m.logs), *probe.judge_report(m.report, m.logs)]


def judge_step3(m: Lifespan) -> list[Criterion]:
    """Step 2's criteria, at step 1's load and connection bound, with an aiohttp.ClientSession."""
    kinds = [c["type"] for c in m.report["created_at_startup"]] if m.report else []
    library = Criterion(
        "aiohttp.ClientSession" in kinds,
        _("the client made at startup is an aiohttp.ClientSession"),
        _f("made at startup: {kinds}", kinds=", ".join(kinds) or _("none")),
        _("look at which library's client your lifespan creates: this step asks for aiohttp's."),
    )
    shown = [library] if m.report else []
    return [_answered(m.run, m.logs), _connections(m.stats), *shown, *probe.judge_report(m.report, m.logs)]


# -- the steps: check.step1("lab04_app:app") measures, judges and returns the verdict -----------
step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab04_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab04_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab04_aio_app:app")
