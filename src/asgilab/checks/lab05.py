"""Lab 05 checks: a service on a real PostgreSQL, with one pool, no sync driver on the loop, sized to fit.

    from asgilab.checks import lab05 as check
    check.step1("lab05_db_app:app"), check.hint(1, level=2), check.solution(1)

Each step starts a fresh PostgreSQL (`asgilab.postgres.serve_postgres`) and gives the app
``DATABASE_URL``, ``MAX_CONNECTIONS`` and ``WORKERS``; step 3 serves it with 2 workers in `asgilab.apps.db_shutdown`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from asgilab.apps.db_shutdown import read_reports
from asgilab.checks import AppDir, Criterion, all_answered, make_step, ms, served, tail
from asgilab.checks.lab05_text import HINTS, MAX_CONNECTIONS, TITLES, WORKERS, look, title
from asgilab.checks.probe import TARGET_ENV
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.postgres import Postgres, serve_postgres
from asgilab.results import Run

__all__ = ["TITLES", "hint", "solution", "step1", "step2", "step3", "title"]

USED_SHARE = 0.6  # step 3: the pools together open at least this share of MAX_CONNECTIONS under load
ORDERS, REQUESTS, MAX_OPENED = "/orders/7", 100, 20  # step 1: at most 1 connection per 5 requests
REPORT_S, CANARY_SHARE, REPORTS_AT_ONCE = 0.1, 0.3, 3  # /report's query; /ping's median under 30% of it; the DBA's cap
LOAD = {"timeout": 15, "deadline": 45}
REFUSED = re.compile(r"TooManyConnections|too many clients|remaining connection slots|too many connections for role")
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


# -- what the steps measure -------------------------------------------------------------
@dataclass
class Measured:
    """One step's run, the connections the server authorized meanwhile, and the app's output."""

    run: Run
    opened: int
    logs: str
    reports: list[dict[str, Any]] | None = None  # step 3: one per worker whose lifespan shutdown ended


def _env(pg: Postgres, workers: int) -> dict[str, str]:
    return {"DATABASE_URL": pg.dsn, "MAX_CONNECTIONS": str(pg.max_connections), "WORKERS": str(workers)}


def _measure(step: int, app: str, app_dir: AppDir, path: str, load: tuple[int, int], **options: Any) -> Measured:
    workers = WORKERS if step == 3 else 1
    probe_app = "asgilab.apps.db_shutdown:probe_app" if step == 3 else None
    with serve_postgres(max_connections=MAX_CONNECTIONS[step]) as pg:
        env = {**_env(pg, workers), TARGET_ENV: app}
        with served(title(step), app, app_dir, env, step=step, serve_app=probe_app, workers=workers) as server:
            run = load_sync(server.url + path, *load, label=f"{path}, {workers} worker(s)", **{**LOAD, **options})
            opened = pg.stats()["connections_opened"]
    logs = server.logs()  # stopped: the output includes the shutdown
    return Measured(run, opened, logs, read_reports(logs) if step == 3 else None)


def measure_step1(app: str, app_dir: AppDir = None) -> Measured:
    """100 requests to /orders/7, 10 at a time, counting the connections the server authorized."""
    return _measure(1, app, app_dir, ORDERS, (REQUESTS, 10))


def measure_step2(app: str, app_dir: AppDir = None) -> Measured:
    """20 requests to /report, 10 at a time, while a canary polls /ping."""
    return _measure(2, app, app_dir, "/report", (20, 10), probe="/ping")


def measure_step3(app: str, app_dir: AppDir = None) -> Measured:
    """200 requests to /orders/7, 40 at a time, 2 workers; a new TCP connection each, so both take a share."""
    return _measure(3, app, app_dir, ORDERS, (200, 40), keepalive=False)


# -- how the steps judge it (pure functions) --------------------------------------------
def _answered(m: Measured, path: str) -> Criterion:
    before_shutdown = m.logs.split("Shutting down")[0]  # the last lines while it served, not its shutdown
    return all_answered(
        m.run, _f("GET {path} answers every request", path=path), before_shutdown, look("failed", path=path)
    )


DIALECT = re.compile(r"PostgresSyntaxError: syntax error at or near \"%\"|invalid input for query argument \$1")


def judge_step1(m: Measured) -> list[Criterion]:
    """Every request answered; the server authorized at most 1 connection per 5 requests."""
    pooled = Criterion(
        m.opened <= MAX_OPENED,
        _f(
            "the server sees far fewer connections than requests (at most {most} for {requests})",
            most=MAX_OPENED,
            requests=m.run.requests,
        ),
        _f("{opened} connections authorized for {requests} requests", opened=m.opened, requests=m.run.requests),
        look("pooled"),
    )
    answered = _answered(m, ORDERS)
    if not answered.passed and DIALECT.search(m.logs):  # psycopg's query, or its list of values, sent through asyncpg
        answered.advice = look("dialect")
    return [answered, pooled]


def judge_step2(m: Measured) -> list[Criterion]:
    """Every /report answered, /ping's median under 30% of a report query, the app's connections, 3 at once at most."""
    median, worst, limit = m.run.probe_p50_s, m.run.probe_max_s, CANARY_SHARE * REPORT_S
    canary = Criterion(
        m.run.probe_records != [] and median < limit,
        _f(
            "/ping stays fast while /report runs (median under {limit}, {share:.0%} of one report query)",
            limit=ms(limit),
            share=CANARY_SHARE,
        ),
        _f(
            "/ping median {median}, worst {worst} over {pings} pings",
            median=ms(median),
            worst=ms(worst),
            pings=len(m.run.probe_records),
        ),
        look("canary"),
    )
    shared = Criterion(
        m.opened <= MAX_OPENED // 2,
        _f(
            "the reports share the app's connections (at most {most} authorized for {requests})",
            most=MAX_OPENED // 2,
            requests=m.run.requests,
        ),
        _f("{opened} connections authorized for {requests} reports", opened=m.opened, requests=m.run.requests),
        look("shared"),
    )
    at_once = m.run.served_at_once(REPORT_S) if m.run.ok == m.run.requests else 0.0
    capped = Criterion(
        1.5 <= at_once <= REPORTS_AT_ONCE + 0.5,
        _f("at most {most} report queries at once, and more than one (the DBA's limit)", most=REPORTS_AT_ONCE),
        _f(
            "about {at_once:.1f} at once: {requests} queries of {query} took {wall_s:.2f} s, 10 requests in flight",
            at_once=at_once,
            requests=m.run.requests,
            query=ms(REPORT_S),
            wall_s=m.run.wall_s,
        ),
        look("uncapped", most=REPORTS_AT_ONCE) if at_once > REPORTS_AT_ONCE + 0.5 else look("serial"),
    )
    return [_answered(m, "/report"), canary, shared, capped]


def judge_step3(m: Measured) -> list[Criterion]:
    """Every request answered, no connection refused, and no worker holding a connection after shutdown."""
    refusals = [line.strip() for line in m.logs.splitlines() if REFUSED.search(line)]
    refused = Criterion(
        not refusals,
        _f(
            "the database refuses no connection (it accepts {connections} from the app)", connections=MAX_CONNECTIONS[3]
        ),
        _f("{n} refusals in the server's output", n=len(refusals))
        + (_f(", e.g. {refusal}", refusal=refusals[-1][:150]) if refusals else ""),
        look("refused"),
    )
    held = [report["open"] for report in m.reports or []]  # one per worker that finished its shutdown
    closed = Criterion(
        len(held) == WORKERS and not any(held),
        _("no worker holds a database connection once its lifespan shutdown ends"),
        _f("connections still open per worker: {held}", held=held) if held else _("no worker reported a shutdown"),
        look("held", most=max(held)) if any(held) else look("unfinished", finished=len(held), tail=tail(m.logs)),
    )
    floor = math.ceil(USED_SHARE * MAX_CONNECTIONS[3])  # 9 of 14: a pool of 4 per worker (8) falls short
    used = Criterion(
        m.opened >= floor,
        _f(
            "under load the pools use the allowance: at least {floor} of {connections} connections opened",
            floor=floor,
            connections=MAX_CONNECTIONS[3],
        ),
        _f(
            "{opened} connections authorized for {requests} requests on {workers} workers",
            opened=m.opened,
            requests=m.run.requests,
            workers=WORKERS,
        ),
        look("small"),
    )
    return [_answered(m, ORDERS), refused, closed, used]


# -- the steps: check.step1("lab05_db_app:app") measures, judges and returns the verdict --------
step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab05_db_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab05_db_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab05_db_app:app")
