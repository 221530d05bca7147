"""Checks for lab 08: under overload, keep the served requests fast and refuse the rest at once.

    from asgilab.checks import lab08 as check
    check.step1("lab08_app:app")           # 3x overload: bounded p99, fast 503s
    check.step2("lab08_deadline_app:app")  # a hanging query is cut off by a deadline
    check.hint(1)

The lab's database runs 10 queries at a time, 100 ms each: it finishes at most 100 queries per
second. The checks serve the learner's app themselves (so server options such as
``--limit-concurrency`` are not theirs to choose) and measure it with an open loop.
"""

from __future__ import annotations

import math

from asgilab.checks import Criterion, Feedback, Hint, hints, not_started, verdict
from asgilab.load import load_sync
from asgilab.results import Run, percentile
from asgilab.server import ServerError, serve

__all__ = ["hint", "step1", "step2"]

SERVICE_S = 0.1  # one query
SLOTS = 10  # queries the database runs at once
CAPACITY_RPS = SLOTS / SERVICE_S  # 100 queries per second
OVERLOAD_RPS = 3 * CAPACITY_RPS
OVERLOAD_SECONDS = 1.5
P99_FACTOR = 5  # served requests: p99 at most 5x the service time
MIN_SERVED = 0.20  # capacity is a third of the offered load; ask for a fifth
REFUSE_FAST_S = 0.25  # a refusal must come back within this, counted from when the request was due
CLIENT_TIMEOUT_S = 3.0

SLOW_QUERY_MS = 3000
DEADLINE_S = 1.0  # what the lab asks for
DEADLINE_SLACK_S = 1.5  # what the check accepts
SLOW_CLIENT_TIMEOUT_S = 2.5
SLOW_REQUESTS = SLOTS

_HINTS = {
    1: (
        "Make a bulkhead as large as the database: `bulkhead = asyncio.Semaphore(10)` at module level. "
        "In the handler, wait briefly for a slot: `async with asyncio.timeout(0.05): await bulkhead.acquire()`; "
        'on `TimeoutError`, `raise HTTPException(503, "busy, try again later")`. Otherwise run the query '
        "in `try: return await db.query(ms)` and `finally: bulkhead.release()`."
    ),
    2: (
        "Give the query a deadline: `async with asyncio.timeout(1.0): return await db.query(ms)`, and on "
        '`TimeoutError` `raise HTTPException(504, "the report took too long")`. asyncio.timeout cancels '
        "the query, and cancelling it gives its database slot back (`async with self.slots` releases it)."
    ),
}


def hint(step: int) -> Hint:
    """A hint for ``step`` (1 or 2)."""
    return hints(_HINTS, step)


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def step1(app: str = "lab08_app:app", app_dir: str | None = None) -> Feedback:
    """3x overload (open loop): served p99 bounded, enough served, the rest refused fast with 503."""
    title = "Step 1: under 3x overload, the served stay fast and the rest are refused at once"
    n = int(OVERLOAD_RPS * OVERLOAD_SECONDS)
    try:
        with serve(app, app_dir=app_dir) as server:
            run = load_sync(
                server.url + "/report",
                requests=n,
                rate=OVERLOAD_RPS,
                concurrency=1000,
                timeout=CLIENT_TIMEOUT_S,
                deadline=30,
                label=f"{OVERLOAD_RPS:.0f} req/s",
            )
    except ServerError as exc:
        return verdict(Feedback(title, [not_started(app, exc)]))
    return verdict(Feedback(title, _overload_criteria(run), [run]))


def _overload_criteria(run: Run) -> list[Criterion]:
    n = len(run.records)
    refused = [r.latency_from_schedule for r in run.records if r.status == 503]
    others = {k: v for k, v in run.error_kinds.items() if k != "status 503"}
    growth = OVERLOAD_RPS - CAPACITY_RPS
    little = (
        f"The database finishes {CAPACITY_RPS:.0f} queries/s ({SLOTS} slots / {SERVICE_S * 1000:.0f} ms). "
        f"At {OVERLOAD_RPS:.0f} requests/s its queue grows by {growth:.0f} requests every second, and by "
        f"Little's law (L = λW) each newcomer waits behind all of them: latency climbs for as long as the "
        f"overload lasts. Bound the queue: a semaphore of {SLOTS} acquired with a short timeout, "
        f"answering 503 when the timeout expires."
    )
    p99_ok = run.ok > 0 and run.p99_s <= P99_FACTOR * SERVICE_S
    served_ok = run.ok >= MIN_SERVED * n
    refused_ok = bool(refused) and not others
    fast = percentile(refused, 99) if refused else math.nan
    if others.get("timeout"):
        refuse_advice = (
            f"{others['timeout']} requests got no answer within {CLIENT_TIMEOUT_S:g} s: they were still queued. "
            "Answer them at once instead: raise HTTPException(status_code=503, ...) when no slot is free soon."
        )
    elif others:
        refuse_advice = f"Refusals must be 503 Service Unavailable; the server answered {others}."
    else:
        refuse_advice = f"Nothing was refused, yet the database can serve only a third of this load. {little}"
    return [
        Criterion(
            p99_ok,
            f"the served requests' p99 stays under {P99_FACTOR}x the {SERVICE_S * 1000:.0f} ms query",
            f"p99 {_ms(run.p99_s)} of the {run.ok} served, the {run.errors} failed left out"
            " (latency counted from when each request was due)"
            if run.ok
            else "no request succeeded",
            little if run.ok else "Every request failed: let the ones a free slot can take through.",
        ),
        Criterion(
            served_ok,
            f"at least {MIN_SERVED:.0%} of the requests are served (capacity is a third of this load)",
            f"{run.ok}/{n} served ({run.ok / n:.0%})",
            f"Your guard refuses too much. The database can serve {CAPACITY_RPS:.0f} requests/s: size the "
            f"semaphore to its {SLOTS} slots and let a request wait a few tens of milliseconds for a slot.",
        ),
        Criterion(
            refused_ok,
            "the excess is refused with 503, none left to time out",
            f"{len(refused)} answered 503" + (f"; other failures {others}" if others else ""),
            refuse_advice,
        ),
        Criterion(
            bool(refused) and fast <= REFUSE_FAST_S,
            f"refusals are fast: p99 within {REFUSE_FAST_S * 1000:.0f} ms",
            f"p99 of the 503s {_ms(fast)}" if refused else "no 503 to time",
            "A refusal that keeps the client waiting is hardly better than a slow answer: keep the "
            "acquire timeout short (about 50 ms) and do not queue before refusing.",
        ),
    ]


def step2(app: str = "lab08_deadline_app:app", app_dir: str | None = None) -> Feedback:
    """A 3-second query must be cut off within about 1 s with 504, and give its slot back."""
    title = "Step 2: a hanging query is cut off by a deadline"
    try:
        with serve(app, app_dir=app_dir) as server:
            slow = load_sync(
                server.url + f"/report?ms={SLOW_QUERY_MS}",
                requests=SLOW_REQUESTS,
                concurrency=SLOW_REQUESTS,
                timeout=SLOW_CLIENT_TIMEOUT_S,
                deadline=20,
                label=f"{SLOW_QUERY_MS} ms queries",
            )
            after = load_sync(
                server.url + "/report?ms=100",
                requests=3 * SLOTS,
                concurrency=SLOTS,
                timeout=5,
                deadline=20,
                label="100 ms queries afterwards",
            )
    except ServerError as exc:
        return verdict(Feedback(title, [not_started(app, exc)]))
    answered = [r for r in slow.records if r.status is not None]
    statuses = {r.status for r in answered}
    slowest = max((r.latency for r in answered), default=math.nan)
    timeouts = slow.error_kinds.get("timeout", 0)
    in_time = len(answered) == len(slow.records) and slowest <= DEADLINE_SLACK_S
    if timeouts:
        in_time_advice = (
            f"{timeouts} of {len(slow.records)} clients gave up after {SLOW_CLIENT_TIMEOUT_S:g} s with no "
            f"answer: the handler waited for the whole {SLOW_QUERY_MS / 1000:g} s query. Give the query a "
            f"deadline of its own: async with asyncio.timeout({DEADLINE_S:g}): ..."
        )
    else:
        in_time_advice = f"Answer within {DEADLINE_S:g} s: make the deadline shorter."
    criteria = [
        Criterion(
            in_time,
            f"a {SLOW_QUERY_MS / 1000:g} s query is answered within {DEADLINE_S:g} s (accepted up to "
            f"{DEADLINE_SLACK_S:g} s)",
            f"{len(answered)}/{len(slow.records)} answered, slowest {_ms(slowest)}"
            + (f"; {slow.error_kinds}" if timeouts else ""),
            in_time_advice,
        ),
        Criterion(
            bool(answered) and 504 in statuses and statuses <= {503, 504},
            "it is answered 504 Gateway Timeout (503 allowed for requests your bulkhead refused)",
            f"statuses {sorted(statuses)}" if answered else "no answer",
            "When the deadline expires, raise HTTPException(status_code=504, ...): the request failed "
            "because a dependency was too slow, and the client should know it.",
        ),
        Criterion(
            after.ok == len(after.records) and after.p99_s <= P99_FACTOR * SERVICE_S,
            f"afterwards, 100 ms queries are served at once (p99 under {P99_FACTOR * SERVICE_S * 1000:.0f} ms)",
            f"{after.ok}/{len(after.records)} ok, p99 {_ms(after.p99_s)}",
            "Normal queries still waited: the slow queries kept their database slots. Handlers are not "
            "cancelled when their client leaves (lesson 08, section 6), so the deadline must cancel the "
            "query itself; asyncio.timeout does, and the database's `async with` then frees the slot.",
        ),
    ]
    return verdict(Feedback(title, criteria, [slow, after]))
