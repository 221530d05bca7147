"""Lab 08's words: each step's title, the hint ladder, what each criterion requires and the failure
advice its checks give (the symptom and where to look, never the fix), with the figures they name, kept
apart from the measuring and judging in `asgilab.checks.lab08`. Prose is marked with ``N_`` for the
translation catalog and translated where it is shown (`title`, `what`, `look`, `Hints`); code in the
hints stays as it is."""

from __future__ import annotations

from asgilab.checks.criteria import ms
from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _, _f

__all__ = [
    "CAPACITY_RPS",
    "CLIENT_TIMEOUT_S",
    "CRITERIA",
    "DEADLINE_S",
    "DEADLINE_SLACK_S",
    "HINTS",
    "LOOK",
    "MIN_SERVED",
    "OVERLOAD_SECONDS",
    "P99_FACTOR",
    "REFUSE_FAST_S",
    "SERVICE_S",
    "SLOTS",
    "SLOW_CLIENT_TIMEOUT_S",
    "SLOW_QUERY_MS",
    "SLO_P99_S",
    "SLO_REFUSE_S",
    "SLO_RPS",
    "SLO_SECONDS",
    "SLO_SHARE",
    "TITLES",
    "WHAT",
    "look",
    "title",
    "what",
]

SERVICE_S, SLOTS = 0.1, 10  # one query; queries the database runs at once: 100 queries/s
CAPACITY_RPS, OVERLOAD_SECONDS = SLOTS / SERVICE_S, 1.5
P99_FACTOR, MIN_SERVED, REFUSE_FAST_S, CLIENT_TIMEOUT_S = 5, 0.20, 0.25, 3.0  # p99 under 5 queries; a fifth served
SLOW_QUERY_MS, DEADLINE_S, DEADLINE_SLACK_S, SLOW_CLIENT_TIMEOUT_S = 3000, 1.0, 1.5, 2.5
SLO_P99_S, SLO_REFUSE_S, SLO_SHARE, SLO_RPS, SLO_SECONDS = 0.3, 0.15, 0.9, 80, 2.0
TITLES = {
    1: N_("Step 1: under 3x overload of a blocking driver, the served stay fast and the rest are refused at once"),
    2: N_("Step 2: a hanging query is cut off by a deadline"),
    3: N_("Step 3: the ledger's SLO, with a bulkhead sized from your measurement"),
}
# fmt: off
HINTS = Hints("lab08_threadpool_and_backpressure.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("Look at where a request waits today when all 10 database slots are busy: in the driver, holding one of AnyIO's 40 worker threads, and behind those in AnyIO's queue for a thread. Neither has a bound."),
        N_("the endpoint runs in a worker thread, where asyncio's primitives do not work: threading.BoundedSemaphore, as large as the database; acquire(timeout=0.05) returns False when no slot came in time; HTTPException(503) then; release in `finally`."),
        "if not bulkhead.acquire(timeout=0.05):  # bulkhead = threading.BoundedSemaphore(10), at module level\n    raise HTTPException(503, 'busy, try again later')\ntry:\n    return blocking_db.query(ms)\nfinally:\n    bulkhead.release()"),
    2: (N_("Look at what bounds how long one request may take today: nothing does, and the client leaving does not cancel the handler."),
        N_("asyncio.timeout(1.0) around the query cancels it, and cancelling it gives its slot back; HTTPException(504) on TimeoutError."),
        "try:\n    async with asyncio.timeout(1.0):\n        return await db.query(ms)\nexcept TimeoutError:\n    raise HTTPException(504, 'the report took too long') from None"),
    3: (N_("Look at your two measurements: what does the median one at a time tell you, and the throughput 20 at a time? Little's law links them to how many queries the ledger runs at once."),
        N_("Little's law: slots = capacity x query time. Then step 1's bulkhead, its size those slots, its wait from the SLO: the wait plus one query within the served p99, the wait alone within the refusal bound."),
        "guard = asyncio.Semaphore(4)  # about 26.7 queries/s x 0.15 s\nasync with asyncio.timeout(0.05):  # 0.05 + 0.15 s < 300 ms; 0.05 s < 150 ms, with room to spare\n    await guard.acquire()"),
})
# fmt: on
LOOK = {  # where each failed criterion sends the learner: the symptom and where to look, never the fix
    "little": N_(
        "the database finishes {cap:.0f} queries/s; at {rate:.0f} requests/s the requests waiting grow by {growth:.0f} every second (arrivals minus departures), and each newcomer waits behind all of them: latency climbs for as long as the overload lasts, with no steady state (Little's law, L = λW, describes none). Look at where a request waits when every slot is busy, and for how long."
    ),
    "one at a time": N_(
        "the app served {rate:.0f} requests/s, no more than one 100 ms query at a time: while a query ran, nothing else did. Look at which thread runs the blocking query (lessons 02 and 03)."
    ),
    "covers": N_(
        "every request was refused, even the first ones, which found the database idle: the 503s came {p50} after they were due, less than one {query} query. Whatever answers 503 also covers the query itself: look at what your timeout's block contains."
    ),
    "too few": N_(
        "your guard refused {refused:.0%} of the requests while the database can take {share}: look at how many requests it lets through at once and how long one may wait for a slot."
    ),
    "timeout": N_(
        "{n} requests got no answer within {client:g} s: they were still queued. Look at where a request waits when no slot is free, and for how long."
    ),
    "other": N_(
        "refusals must be 503 Service Unavailable; the server answered {others}: its output names any exception."
    ),
    "none refused": N_("nothing was refused, yet the database can serve only part of this load. "),
    "slow 503": N_(
        "a refusal that keeps the client waiting is hardly better than a slow answer: look at how long a request may wait before it is refused."
    ),
    "gave up": N_(
        "{n} of {total} clients gave up after {client:g} s with no answer: the handler waited for the whole {slow:g} s query. Look at what bounds how long one request may take."
    ),
    "late": N_(
        "answered, but later than {slack:g} s: look at how long your deadline is (the lab asks for {deadline:g} s)."
    ),
    "504": N_(
        "look at which status your handler answers when the deadline passes: 504 Gateway Timeout says a dependency was too slow."
    ),
    "kept": N_(
        "the slow queries kept their database slots after their requests were answered: look at whether your deadline stops the query itself or only stops waiting for it."
    ),
    "queued": N_(
        "normal queries still waited: the slow queries kept their slots. Handlers are not cancelled when their client leaves (lesson 08, section 6)."
    ),
    "slo p99": N_(
        "the served requests took up to {p99}: beyond one query, they queued, in your guard or in the ledger's own queue. Compare how many your guard lets through with the slots your measurement implies, and its wait with the SLO."
    ),
}
FIGURES: dict[str, object] = {  # the figures the criteria name
    "factor": P99_FACTOR,
    "query": ms(SERVICE_S),
    "served": MIN_SERVED,
    "slow": SLOW_QUERY_MS / 1000,
    "deadline": DEADLINE_S,
    "slack": DEADLINE_SLACK_S,
    "bound": ms(P99_FACTOR * SERVICE_S),
    "slo_p99": ms(SLO_P99_S),
    "share": SLO_SHARE,
}
CRITERIA = {  # what each criterion requires, its figures as fields of FIGURES
    "p99": N_("the served requests' p99 stays under {factor}x the {query} query"),
    "fifth": N_("at least {served:.0%} of the requests are served (capacity is a third of this load)"),
    "503": N_("the excess is refused with 503, none left to time out"),
    "in time": N_("a {slow:g} s query is answered within {deadline:g} s (accepted up to {slack:g} s)"),
    "504": N_("it is answered 504 Gateway Timeout (503 allowed for requests your bulkhead refused)"),
    "after": N_("afterwards, 100 ms queries are served at once (p99 under {bound})"),
    "slo p99": N_("SLO: the served requests' p99 within {slo_p99}"),
    "slo share": N_("SLO: at least {share:.0%} of what the ledger can do is served"),
}
WHAT = {key: text.format(**FIGURES) for key, text in CRITERIA.items()}  # each criterion in English


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])


def what(key: str) -> str:
    """What a criterion requires, in the learner's language, with its figures (`WHAT` in English)."""
    return _f(CRITERIA[key], **FIGURES)


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], **figures)
