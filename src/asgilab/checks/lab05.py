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
from asgilab.checks import AppDir, Criterion, Hints, all_answered, make_step, ms, served, tail
from asgilab.checks.probe import TARGET_ENV
from asgilab.load import load_sync
from asgilab.postgres import Postgres, serve_postgres
from asgilab.results import Run

__all__ = ["hint", "solution", "step1", "step2", "step3"]

MAX_CONNECTIONS, WORKERS = {1: 40, 2: 40, 3: 14}, 2  # per step, what the database accepts; step 3's workers
USED_SHARE = 0.6  # step 3: the pools together open at least this share of MAX_CONNECTIONS under load
ORDERS, REQUESTS, MAX_OPENED = "/orders/7", 100, 20  # step 1: at most 1 connection per 5 requests
REPORT_S, CANARY_SHARE, REPORTS_AT_ONCE = 0.1, 0.3, 3  # /report's query; /ping's median under 30% of it; the DBA's cap
LOAD = {"timeout": 15, "deadline": 45}
REFUSED = re.compile(r"TooManyConnections|too many clients|remaining connection slots|too many connections for role")
TITLES = {
    1: "Step 1: one pool, not a connection per request",
    2: "Step 2: no sync driver on the event loop",
    3: f"Step 3: {WORKERS} workers within {MAX_CONNECTIONS[3]} connections, nothing left open",
}
HINTS = Hints(
    "lab05_database_pools.ipynb",
    {
        1: (
            "Look at order() in lab05_db_app.py: what does every request open before its query, and when is it closed? The server counts each one. Then at the query itself: which driver will run it?",
            "The lifespan in lab05_pool.py makes an asyncpg pool and yields it as {'pool': pool}: each request sees it as request.state.pool; `async with pool.acquire() as conn:` borrows a connection and gives it back. asyncpg numbers a query's parameters ($1, $2; psycopg writes %s) and takes their values as arguments: `conn.fetchrow(query, value)`, which returns a Record (dict() turns it into a dict).",
            "ORDER = \"SELECT $1::int AS id, 'shipped' AS status FROM pg_sleep(0.02)\"\n\nasync with request.state.pool.acquire() as conn:\n    row = await conn.fetchrow(ORDER, order_id)",
        ),
        2: (
            "Look at report() in lab05_report.py: which driver does it call, and is anything there awaited? While it waits for PostgreSQL, nothing else runs. Then: what lets at most 3 report queries run at once, while the rest wait without holding a connection?",
            "An async driver: the app's asyncpg pool (request.state.pool and `await conn.fetchval(...)`), or psycopg's AsyncConnectionPool; a plain `def report()` frees the loop, but each call still opens its own connection. For the DBA's 3: a pool is a concurrency limit (lesson 05, section 3), and so is an `asyncio.Semaphore(3)` taken before the connection is borrowed.",
            "REPORTS = asyncio.Semaphore(REPORTS_AT_ONCE)  # module level: per worker\n\nasync with REPORTS, request.state.pool.acquire() as conn:  # wait for a turn first, then borrow\n    total = await conn.fetchval(REPORT)",
        ),
        3: (
            "Two workers run two lifespans, so two pools: how many connections may they open together, against MAX_CONNECTIONS? And what does your lifespan do after `yield`?",
            "POOL_SIZE from MAX_CONNECTIONS and WORKERS (integer division: every pool in every worker counts); `async with asyncpg.create_pool(...) as pool:` around the `yield` closes it at shutdown.",
            'POOL_SIZE = max(1, MAX_CONNECTIONS // WORKERS)\n\nasync with asyncpg.create_pool(DSN, min_size=1, max_size=POOL_SIZE) as pool:\n    yield {"pool": pool}',
        ),
    },
)
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
        with served(TITLES[step], app, app_dir, env, step=step, serve_app=probe_app, workers=workers) as server:
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
    where = f"some {path} requests failed: the server's output above names the exception and the line."
    before_shutdown = m.logs.split("Shutting down")[0]  # the last lines while it served, not its shutdown
    return all_answered(m.run, f"GET {path} answers every request", before_shutdown, where)


DIALECT = re.compile(r"PostgresSyntaxError: syntax error at or near \"%\"|invalid input for query argument \$1")


def judge_step1(m: Measured) -> list[Criterion]:
    """Every request answered; the server authorized at most 1 connection per 5 requests."""
    pooled = Criterion(
        m.opened <= MAX_OPENED,
        f"the server sees far fewer connections than requests (at most {MAX_OPENED} for {m.run.requests})",
        f"{m.opened} connections authorized for {m.run.requests} requests",
        "about one connection per request: look at where order() gets its connection, and how long it lives.",
    )
    answered = _answered(m, ORDERS)
    if not answered.passed and DIALECT.search(m.logs):  # psycopg's query, or its list of values, sent through asyncpg
        answered.advice = (
            "the database (or asyncpg) rejected the query as it was sent: the two drivers write a query's parameters,"
            " and pass their values, differently. Look at the placeholder in ORDER and at how the call passes order_id."
        )
    return [answered, pooled]


def judge_step2(m: Measured) -> list[Criterion]:
    """Every /report answered, /ping's median under 30% of a report query, the app's connections, 3 at once at most."""
    median, worst, limit = m.run.probe_p50_s, m.run.probe_max_s, CANARY_SHARE * REPORT_S
    canary = Criterion(
        m.run.probe_records != [] and median < limit,
        f"/ping stays fast while /report runs (median under {ms(limit)}, {CANARY_SHARE:.0%} of one report query)",
        f"/ping median {ms(median)}, worst {ms(worst)} over {len(m.run.probe_records)} pings",
        "/ping waited about as long as a report query: something in report() waits for PostgreSQL while holding"
        " the event loop. Look at which driver it calls, and how.",
    )
    shared = Criterion(
        m.opened <= MAX_OPENED // 2,
        f"the reports share the app's connections (at most {MAX_OPENED // 2} authorized for {m.run.requests})",
        f"{m.opened} connections authorized for {m.run.requests} reports",
        "about a connection per report, outside the app's pool: look at where report() gets its connection.",
    )
    at_once = m.run.served_at_once(REPORT_S) if m.run.ok == m.run.requests else 0.0
    capped = Criterion(
        1.5 <= at_once <= REPORTS_AT_ONCE + 0.5,
        f"at most {REPORTS_AT_ONCE} report queries at once, and more than one (the DBA's limit)",
        f"about {at_once:.1f} at once: {m.run.requests} queries of {ms(REPORT_S)} took {m.run.wall_s:.2f} s, 10 requests in flight",
        f"more than {REPORTS_AT_ONCE} report queries ran at once: look at what limits how many of them hold a connection together."
        if at_once > REPORTS_AT_ONCE + 0.5
        else "the reports ran about one at a time (or failed): look at what report() waits on, and what it waits for in turn.",
    )
    return [_answered(m, "/report"), canary, shared, capped]


def judge_step3(m: Measured) -> list[Criterion]:
    """Every request answered, no connection refused, and no worker holding a connection after shutdown."""
    refusals = [line.strip() for line in m.logs.splitlines() if REFUSED.search(line)]
    refused = Criterion(
        not refusals,
        f"the database refuses no connection (it accepts {MAX_CONNECTIONS[3]} from the app)",
        f"{len(refusals)} refusals in the server's output" + (f", e.g. {refusals[-1][:150]}" if refusals else ""),
        f"with {WORKERS} workers the app asked for more connections than the database accepts: count what every"
        " worker's pool may open, against MAX_CONNECTIONS.",
    )
    held = [report["open"] for report in m.reports or []]  # one per worker that finished its shutdown
    closed = Criterion(
        len(held) == WORKERS and not any(held),
        "no worker holds a database connection once its lifespan shutdown ends",
        f"connections still open per worker: {held}" if held else "no worker reported a shutdown",
        f"a worker still held {max(held)} connection(s), each a backend on the server, after its lifespan ended:"
        " look at what your lifespan does after `yield`."
        if any(held)
        else f"{len(held)} of {WORKERS} workers finished their lifespan shutdown: look at the part of your lifespan"
        " after `yield`, where an exception (named in the server's last lines below) or a wait that never ends stops"
        f" a worker before its shutdown completes. The server's last lines:\n{tail(m.logs)}",
    )
    floor = math.ceil(USED_SHARE * MAX_CONNECTIONS[3])  # 9 of 14: a pool of 4 per worker (8) falls short
    used = Criterion(
        m.opened >= floor,
        f"under load the pools use the allowance: at least {floor} of {MAX_CONNECTIONS[3]} connections opened",
        f"{m.opened} connections authorized for {m.run.requests} requests on {WORKERS} workers",
        "the pools stayed small for what the database accepts: look at how POOL_SIZE follows MAX_CONNECTIONS.",
    )
    return [_answered(m, ORDERS), refused, closed, used]


# -- the steps: check.step1("lab05_db_app:app") measures, judges and returns the verdict --------
step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab05_db_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab05_db_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab05_db_app:app")
