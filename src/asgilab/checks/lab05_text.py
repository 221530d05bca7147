"""Lab 05's words: each step's title, the hint ladder, and the failure advice its checks give (the
symptom and where to look, never the fix), kept apart from the measuring and judging in
`asgilab.checks.lab05`. Prose is marked with ``N_`` for the translation catalog and translated where it
is shown (`title`, `look`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _f

__all__ = ["HINTS", "LOOK", "MAX_CONNECTIONS", "TITLES", "WORKERS", "look", "title"]

MAX_CONNECTIONS, WORKERS = {1: 40, 2: 40, 3: 14}, 2  # per step, what the database accepts; step 3's workers
TITLES = {
    1: N_("Step 1: one pool, not a connection per request"),
    2: N_("Step 2: no sync driver on the event loop"),
    3: N_("Step 3: {workers} workers within {connections} connections, nothing left open"),
}
# fmt: off
HINTS = Hints("lab05_database_pools.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("Look at order() in lab05_db_app.py: what does every request open before its query, and when is it closed? The server counts each one. Then at the query itself: which driver will run it?"),
        N_("The lifespan in lab05_pool.py makes an asyncpg pool and yields it as {'pool': pool}: each request sees it as request.state.pool; `async with pool.acquire() as conn:` borrows a connection and gives it back. asyncpg numbers a query's parameters ($1, $2; psycopg writes %s) and takes their values as arguments: `conn.fetchrow(query, value)`, which returns a Record (dict() turns it into a dict)."),
        "ORDER = \"SELECT $1::int AS id, 'shipped' AS status FROM pg_sleep(0.02)\"\n\nasync with request.state.pool.acquire() as conn:\n    row = await conn.fetchrow(ORDER, order_id)"),
    2: (N_("Look at report() in lab05_report.py: which driver does it call, and is anything there awaited? While it waits for PostgreSQL, nothing else runs. Then: what lets at most 3 report queries run at once, while the rest wait without holding a connection?"),
        N_("An async driver: the app's asyncpg pool (request.state.pool and `await conn.fetchval(...)`), or psycopg's AsyncConnectionPool; a plain `def report()` frees the loop, but each call still opens its own connection. For the DBA's 3: a pool is a concurrency limit (lesson 05, section 3), and so is an `asyncio.Semaphore(3)` taken before the connection is borrowed."),
        "REPORTS = asyncio.Semaphore(REPORTS_AT_ONCE)  # module level: per worker\n\nasync with REPORTS, request.state.pool.acquire() as conn:  # wait for a turn first, then borrow\n    total = await conn.fetchval(REPORT)"),
    3: (N_("Two workers run two lifespans, so two pools: how many connections may they open together, against MAX_CONNECTIONS? And what does your lifespan do after `yield`?"),
        N_("POOL_SIZE from MAX_CONNECTIONS and WORKERS (integer division: every pool in every worker counts); `async with asyncpg.create_pool(...) as pool:` around the `yield` closes it at shutdown."),
        'POOL_SIZE = max(1, MAX_CONNECTIONS // WORKERS)\n\nasync with asyncpg.create_pool(DSN, min_size=1, max_size=POOL_SIZE) as pool:\n    yield {"pool": pool}'),
})
# fmt: on

LOOK = {  # where each failed criterion sends the learner to look: the symptom, never the fix
    "failed": N_("some {path} requests failed: the server's output above names the exception and the line."),
    "pooled": N_("about one connection per request: look at where order() gets its connection, and how long it lives."),
    "dialect": N_(
        "the database (or asyncpg) rejected the query as it was sent: the two drivers write a query's parameters,"
        " and pass their values, differently. Look at the placeholder in ORDER and at how the call passes order_id."
    ),
    "canary": N_(
        "/ping waited about as long as a report query: something in report() waits for PostgreSQL while holding"
        " the event loop. Look at which driver it calls, and how."
    ),
    "shared": N_("about a connection per report, outside the app's pool: look at where report() gets its connection."),
    "uncapped": N_(
        "more than {most} report queries ran at once: look at what limits how many of them hold a connection together."
    ),
    "serial": N_(
        "the reports ran about one at a time (or failed): look at what report() waits on, and what it waits for in turn."
    ),
    "refused": N_(
        "with {workers} workers the app asked for more connections than the database accepts: count what every"
        " worker's pool may open, against MAX_CONNECTIONS."
    ),
    "held": N_(
        "a worker still held {most} connection(s), each a backend on the server, after its lifespan ended:"
        " look at what your lifespan does after `yield`."
    ),
    "unfinished": N_(
        "{finished} of {workers} workers finished their lifespan shutdown: look at the part of your lifespan"
        " after `yield`, where an exception (named in the server's last lines below) or a wait that never ends stops"
        " a worker before its shutdown completes. The server's last lines:\n{tail}"
    ),
    "small": N_("the pools stayed small for what the database accepts: look at how POOL_SIZE follows MAX_CONNECTIONS."),
}


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _f(TITLES[step], workers=WORKERS, connections=MAX_CONNECTIONS[3])


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], workers=WORKERS, **figures)
