"""Lab 11's words: step titles, the hint ladder and the failure advice (symptom, figure, where to look).
Prose is marked with ``N_`` for the translation catalog and translated where it is shown (`title`,
`look`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.i18n import N_, _, _f

__all__ = ["ASKED", "LADDER", "LOOK", "TITLES", "look", "title"]

ASKED = ("ok", "blocks-loop", "cpu-bound", "thread-pool")  # the verdicts step 1 asks for
TITLES = {
    1: N_("Step 1: your reading of the bookshop, against its audit"),
    2: N_("Step 2: /stock and /price stop waiting on the event loop"),
    3: N_("Step 3: /recommend's CPU and /orders' after-the-response work leave the event loop"),
    4: N_("Step 4: every route audits clean, and a mix of all of them meets its target"),
}
# fmt: off
LADDER = {
    1: (N_("Read each route and every function it calls, in all six modules: what does it wait for, and how (with await, or not)? Does it compute? Is it an async def or a def?"),
        N_("Appendix A4, section 2: blockbuster names a blocking call it knows; a long step of the event loop with no call named is C code that waits or CPU work; CPU time against latency makes cpu-bound; a def endpoint (or work handed to threads) is thread-pool. A route with none of these is ok."),
        N_('PREDICTED = {"/health": "ok", "/books/{book_id}": "ok", "/stock/{book_id}": "blocks-loop", ...}: a def endpoint that waits is "thread-pool", pure-Python work on the loop is "cpu-bound".')),
    2: (N_("Look at what /stock calls, one module down in lab11_stock.py, and at the client /price uses. The audit names requests' line; for /stock it names none: psycopg waits in C code, which blockbuster does not see."),
        N_("The app already holds an asyncpg pool (request.state.pool, from the lifespan in lab11_shop.py); lesson 05 moves a query onto it (asyncpg numbers its parameters $1). For /price, lesson 04's shared httpx.AsyncClient, made in the lifespan and yielded beside the pool."),
        'async def stock_level(pool, book_id: int) -> int:\n    return await pool.fetchval("SELECT stock FROM books, pg_sleep(0.03) WHERE id = $1", book_id)\n\nasync with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5) as client:  # in the lifespan\n    yield {"pool": pool, "client": client}\n\nquote = (await request.state.client.get("/delay", params={"ms": 30})).json()'),
    3: (N_("Two routes: /recommend computes in pure Python inside async def; /orders answers fast, then runs notify_warehouse. Where, and on which thread, does each piece of work run?"),
        N_("Pure-Python CPU needs another process (lesson 07): a process pool, or anyio.to_process.run_sync. Starlette runs a background task that is an async def on the event loop, and a plain def in the thread pool (starlette/background.py)."),
        "return {\"user\": user_id, \"books\": await anyio.to_process.run_sync(recommend_for, user_id)}\n\ndef notify_warehouse(order_id: int) -> None:  # a def: Starlette runs it in a worker thread\n    urllib.request.urlopen(...).read()"),
    4: (N_("Audit the whole service (audit_now(), under step 2, with no route) and read every route that still blocks, fails or was undecided; then look at the mix's slowest requests and the canary."),
        N_("`python -m asgilab audit lab11_app:app --env DATABASE_URL=... --env UPSTREAM_URL=...` or `audit(..., routes=[...])` for one route; the load test's figures come from the same host."),
        N_("Steps 2 and 3's fixes together: check.solution(3) shows them all.")),
}
# fmt: on

LOOK = {  # where each failed criterion sends the learner to look: the symptom, never the fix
    "unfilled": N_("give every route of the service one of {verdicts}: read the code first, then run this cell."),
    "misread": N_(
        "the audit saw something else; its evidence: {evidence}. Read {function} and what it calls again, with that"
        " evidence in mind (appendix A4, section 2, says how each verdict is decided)."
    ),
    "busy": N_("the machine was too busy for the audit to decide this route: run the check again when it is quieter."),
    "named": N_(
        "the audit still sees {call}: that call still runs on the event loop. Look at that line and how the route reaches it."
    ),
    "in C": N_(
        "the event loop still takes one long step per request ({steps}) and blockbuster names no call: something waits"
        " where it cannot see (in C code, or behind a library that turns blockbuster's error into one of its own) or"
        " computes. A sync call inside an async def, or inside an async def helper, still runs on the loop: look at what"
        " {function} calls, one module down too."
    ),
    "after": N_(
        "the work after the response still runs on the event loop ({seen}): a background task, or any task, that is"
        " an async def shares the loop with every request. Look at where notify_warehouse runs."
    ),
    "cpu": N_("the route still computes on the event loop ({evidence}): look at where recommend_for runs."),
    "cpu other": N_(
        "the route still holds the event loop, most of its time on CPU ({evidence}): look at what {function} does"
        " for every request (a client made per request, for one, loads its certificates each time: httpx's transport"
        " builds an SSL context from certifi's bundle, even for http:// URLs)."
    ),
    "failed": N_("the route errors now: {evidence}. Look at the exception and the line it names."),
    "in process": N_(
        "the recommender's CPU ({cpu} per request) still ran in the event loop's process, whose threads take turns"
        " on one GIL with the loop (lesson 07): look at where recommend_for runs."
    ),
}


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], **figures)
