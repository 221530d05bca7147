"""Checks for lab 08: under overload, keep the served requests fast and refuse the rest at once.

    check.step1("lab08_app:app")           # 3x overload on a blocking driver: bounded p99, fast 503s
    check.step2("lab08_deadline_app:app")  # a hanging query is cut off by a deadline
    check.step3("lab08_slo_app:app")       # an SLO on the ledger, sized from your measurement (transfer)
The checks serve the app (server options are not the learner's) and measure an open loop, latency from when due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asgilab.apps.ledger import LEDGER_QUERY_S, LEDGER_SLOTS, Ledger
from asgilab.checks import AppDir, Criterion, Hints, make_step, ms, served
from asgilab.load import load_sync
from asgilab.results import Run, percentile

__all__ = ["Ledger", "hint", "solution", "step1", "step2", "step3"]

SERVICE_S, SLOTS = 0.1, 10  # one query; queries the database runs at once: 100 queries/s
CAPACITY_RPS, OVERLOAD_SECONDS = SLOTS / SERVICE_S, 1.5
P99_FACTOR, MIN_SERVED, REFUSE_FAST_S, CLIENT_TIMEOUT_S = 5, 0.20, 0.25, 3.0  # p99 under 5 queries; a fifth served
SLOW_QUERY_MS, DEADLINE_S, DEADLINE_SLACK_S, SLOW_CLIENT_TIMEOUT_S = 3000, 1.0, 1.5, 2.5
Judge = Callable[["Overload"], list[Criterion]]  # judge_step1 or judge_step3
SLO_P99_S, SLO_REFUSE_S, SLO_SHARE, SLO_RPS, SLO_SECONDS = 0.3, 0.15, 0.9, 80, 2.0
TITLES = {
    1: "Step 1: under 3x overload of a blocking driver, the served stay fast and the rest are refused at once",
    2: "Step 2: a hanging query is cut off by a deadline",
    3: "Step 3: the ledger's SLO, with a bulkhead sized from your measurement",
}
# fmt: off
HINTS = Hints("lab08_threadpool_and_backpressure.ipynb", {
    1: ("Look at where a request waits today when all 10 database slots are busy: in the driver, holding one of AnyIO's 40 worker threads, and behind those in AnyIO's queue for a thread. Neither has a bound.",
        "the endpoint runs in a worker thread, where asyncio's primitives do not work: threading.BoundedSemaphore, as large as the database; acquire(timeout=0.05) returns False when no slot came in time; HTTPException(503) then; release in `finally`.",
        "if not bulkhead.acquire(timeout=0.05):  # bulkhead = threading.BoundedSemaphore(10), at module level\n    raise HTTPException(503, 'busy, try again later')\ntry:\n    return blocking_db.query(ms)\nfinally:\n    bulkhead.release()"),
    2: ("Look at what bounds how long one request may take today: nothing does, and the client leaving does not cancel the handler.",
        "asyncio.timeout(1.0) around the query cancels it, and cancelling it gives its slot back; HTTPException(504) on TimeoutError.",
        "try:\n    async with asyncio.timeout(1.0):\n        return await db.query(ms)\nexcept TimeoutError:\n    raise HTTPException(504, 'the report took too long') from None"),
    3: ("Look at your two measurements: what does the median one at a time tell you, and the throughput 20 at a time? Little's law links them to how many queries the ledger runs at once.",
        "Little's law: slots = capacity x query time. Then step 1's bulkhead, its size those slots, its wait from the SLO: the wait plus one query within the served p99, the wait alone within the refusal bound.",
        "guard = asyncio.Semaphore(4)  # about 26.7 queries/s x 0.15 s\nasync with asyncio.timeout(0.05):  # 0.05 + 0.15 s < 300 ms; 0.05 s < 150 ms, with room to spare\n    await guard.acquire()"),
})
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)
LOOK = {  # where each failed criterion sends the learner: the symptom and where to look, never the fix
    "little": "the database finishes {cap:.0f} queries/s; at {rate:.0f} requests/s the requests waiting grow by {growth:.0f} every second (arrivals minus departures), and each newcomer waits behind all of them: latency climbs for as long as the overload lasts, with no steady state (Little's law, L = λW, describes none). Look at where a request waits when every slot is busy, and for how long.",
    "one at a time": "the app served {rate:.0f} requests/s, no more than one 100 ms query at a time: while a query ran, nothing else did. Look at which thread runs the blocking query (lessons 02 and 03).",
    "covers": "every request was refused, even the first ones, which found the database idle: the 503s came {p50} after they were due, less than one {query} query. Whatever answers 503 also covers the query itself: look at what your timeout's block contains.",
    "too few": "your guard refused {refused:.0%} of the requests while the database can take {share}: look at how many requests it lets through at once and how long one may wait for a slot.",
    "timeout": "{n} requests got no answer within {client:g} s: they were still queued. Look at where a request waits when no slot is free, and for how long.",
    "other": "refusals must be 503 Service Unavailable; the server answered {others}: its output names any exception.",
    "none refused": "nothing was refused, yet the database can serve only part of this load. ",
    "slow 503": "a refusal that keeps the client waiting is hardly better than a slow answer: look at how long a request may wait before it is refused.",
    "gave up": "{n} of {total} clients gave up after {client:g} s with no answer: the handler waited for the whole {slow:g} s query. Look at what bounds how long one request may take.",
    "late": "answered, but later than {slack:g} s: look at how long your deadline is (the lab asks for {deadline:g} s).",
    "504": "look at which status your handler answers when the deadline passes: 504 Gateway Timeout says a dependency was too slow.",
    "kept": "the slow queries kept their database slots after their requests were answered: look at whether your deadline stops the query itself or only stops waiting for it.",
    "queued": "normal queries still waited: the slow queries kept their slots. Handlers are not cancelled when their client leaves (lesson 08, section 6).",
    "slo p99": "the served requests took up to {p99}: beyond one query, they queued, in your guard or in the ledger's own queue. Compare how many your guard lets through with the slots your measurement implies, and its wait with the SLO.",
}


WHAT = {  # what each criterion requires
    "p99": f"the served requests' p99 stays under {P99_FACTOR}x the {ms(SERVICE_S)} query",
    "fifth": f"at least {MIN_SERVED:.0%} of the requests are served (capacity is a third of this load)",
    "503": "the excess is refused with 503, none left to time out",
    "in time": f"a {SLOW_QUERY_MS / 1000:g} s query is answered within {DEADLINE_S:g} s (accepted up to {DEADLINE_SLACK_S:g} s)",
    "504": "it is answered 504 Gateway Timeout (503 allowed for requests your bulkhead refused)",
    "after": f"afterwards, 100 ms queries are served at once (p99 under {ms(P99_FACTOR * SERVICE_S)})",
    "slo p99": f"SLO: the served requests' p99 within {ms(SLO_P99_S)}",
    "slo share": f"SLO: at least {SLO_SHARE:.0%} of what the ledger can do is served",
}


@dataclass
class Overload:  # steps 1 and 3: an open-loop run past capacity
    run: Run
    logs: str


def _open_loop(app: str, app_dir: AppDir, step: int, path: str, rate: float, seconds: float, judge: Judge) -> Overload:
    """An open loop past capacity; once more if a guard falls short (other programs only ever slow a run)."""
    n, label = int(rate * seconds), f"{rate:.0f} req/s"
    with served(TITLES[step], app, app_dir, step=step) as server:
        for _ in range(2):
            m = Overload(load_sync(server.url + path, n, 1000, rate=rate, label=label, timeout=CLIENT_TIMEOUT_S), "")
            if all(c.passed for c in judge(m)) or not m.run.error_kinds.get("status 503"):
                break  # passed, or nothing refused: no guard that a slow spell could have tipped over
    m.logs = server.logs()
    return m


def measure_step1(app: str, app_dir: AppDir = None) -> Overload:
    """300 requests/s for 1.5 s, an open loop, to /report (twice if the first falls short)."""
    return _open_loop(app, app_dir, 1, "/report", 3 * CAPACITY_RPS, OVERLOAD_SECONDS, judge_step1)


def _refusals(run: Run, fast_s: float, look: dict[str, str]) -> list[Criterion]:
    """The excess answered 503 and none left to time out; the 503s' p99 within ``fast_s``."""
    refused = [r.latency_from_schedule for r in run.records if r.status == 503]
    others = {k: v for k, v in run.error_kinds.items() if k != "status 503"}
    key = "timeout" if others.get("timeout") else "other" if others else "none refused"
    fast = percentile(refused, 99) if refused else float("nan")
    advice = look.get(key, LOOK[key]).format(n=others.get("timeout", 0), client=CLIENT_TIMEOUT_S, others=others)
    seen = f"{len(refused)} answered 503" + (f"; other failures {others}" if others else "")
    timed = f"p99 of the 503s {ms(fast)}" if refused else "no 503 to time"
    fast_what = f"refusals are fast: p99 within {ms(fast_s)}"
    return [
        Criterion(bool(refused) and not others, WHAT["503"], seen, advice),
        Criterion(bool(refused) and fast <= fast_s, fast_what, timed, LOOK["slow 503"]),
    ]


def judge_step1(m: Overload) -> list[Criterion]:
    """Served p99 under 5 queries; at least a fifth served; the rest refused with 503, fast."""
    run, n = m.run, len(m.run.records)
    rate = run.ok / run.wall_s if run.wall_s > 0 else 0.0
    slow = 0 < rate < 0.2 * CAPACITY_RPS  # about one query at a time: the blocking call held the event loop
    little = LOOK["little"].format(cap=CAPACITY_RPS, rate=3 * CAPACITY_RPS, growth=2 * CAPACITY_RPS)
    little = LOOK["one at a time"].format(rate=rate) if slow else little
    refused = [r.latency_from_schedule for r in run.records if r.status == 503]
    if run.ok == 0 and n and len(refused) == n:  # the timeout wraps the query too: nothing can pass
        few = LOOK["covers"].format(p50=ms(percentile(refused, 50)), query=ms(SERVICE_S))
    else:
        few = (
            little
            if little.startswith("the app served")
            else LOOK["too few"].format(refused=len(refused) / max(n, 1), share="a third")
        )
    p99 = f"p99 {ms(run.p99_s)} of the {run.ok} served, the {run.errors} failed left out" if run.ok else "none served"
    p99_ok = run.ok > 0 and run.p99_s <= P99_FACTOR * SERVICE_S
    served_n = f"{run.ok}/{n} served ({run.ok / max(n, 1):.0%})"
    return [
        Criterion(p99_ok, WHAT["p99"], p99, little if run.ok else "no request was served: see the next line."),
        Criterion(run.ok >= MIN_SERVED * n, WHAT["fifth"], served_n, few),
        *_refusals(run, REFUSE_FAST_S, {"none refused": LOOK["none refused"] + little}),
    ]  # fmt: skip


@dataclass
class Deadline:  # step 2: ten 3-second queries at once, then 30 normal ones
    slow: Run
    after: Run


def measure_step2(app: str, app_dir: AppDir = None) -> Deadline:
    """10 queries of 3 s at once (clients give up after 2.5 s), then 30 of 100 ms, 10 at a time."""
    with served(TITLES[2], app, app_dir, step=2) as server:
        url, options = server.url + "/report?ms=", {"deadline": 20}
        slow = load_sync(url + "3000", SLOTS, SLOTS, timeout=SLOW_CLIENT_TIMEOUT_S, label="3 s queries", **options)
        after = load_sync(url + "100", 3 * SLOTS, SLOTS, timeout=5, label="100 ms queries afterwards", **options)
    return Deadline(slow, after)


def judge_step2(m: Deadline) -> list[Criterion]:
    """Answered within 1.5 s, with 504; afterwards normal queries are served at once."""
    answered, total = [r for r in m.slow.records if r.status is not None], len(m.slow.records)
    statuses, slowest = {r.status or 0 for r in answered}, max((r.latency for r in answered), default=float("nan"))
    timeouts = m.slow.error_kinds.get("timeout", 0)
    in_time = bool(answered) and len(answered) == total and slowest <= DEADLINE_SLACK_S
    figures = {"n": timeouts, "total": total, "client": SLOW_CLIENT_TIMEOUT_S, "slow": SLOW_QUERY_MS / 1000}
    late = LOOK["gave up" if timeouts else "late"].format(slack=DEADLINE_SLACK_S, deadline=DEADLINE_S, **figures)
    when = f"{len(answered)}/{total} answered, slowest {ms(slowest)}" + (f"; {m.slow.error_kinds}" if timeouts else "")
    after_ok = m.after.ok == len(m.after.records) and m.after.p99_s <= P99_FACTOR * SERVICE_S
    after = f"{m.after.ok}/{len(m.after.records)} ok, p99 {ms(m.after.p99_s)}"
    status = f"statuses {sorted(statuses)}" if answered else "no answer"
    return [
        Criterion(in_time, WHAT["in time"], when, late),
        Criterion(bool(answered) and 504 in statuses and statuses <= {503, 504}, WHAT["504"], status, LOOK["504"]),
        Criterion(after_ok, WHAT["after"], after, LOOK["kept" if in_time else "queued"]),
    ]


def measure_step3(app: str, app_dir: AppDir = None) -> Overload:
    """80 requests/s for 2 s (3x the ledger's capacity), an open loop, to /balance."""
    return _open_loop(app, app_dir, 3, "/balance", SLO_RPS, SLO_SECONDS, judge_step3)


def judge_step3(m: Overload) -> list[Criterion]:
    """The SLO: served p99 within 300 ms; 90% of the ledger's capacity served; the rest 503 within 150 ms."""
    run, capacity = m.run, LEDGER_SLOTS / LEDGER_QUERY_S
    share = run.ok / SLO_SECONDS / capacity
    p99 = f"p99 {ms(run.p99_s)} of the {run.ok} served" if run.ok else "none served"
    refused = 1 - run.ok / max(len(run.records), 1)
    few = LOOK["too few"].format(refused=refused, share=f"{SLO_SHARE:.0%} of what your measurement found")
    done = f"{run.ok} served in {SLO_SECONDS:g} s: {share:.0%} of the ledger's capacity"
    slow = LOOK["slo p99"].format(p99=ms(run.p99_s))
    return [
        Criterion(run.ok > 0 and run.p99_s <= SLO_P99_S, WHAT["slo p99"], p99, slow),
        Criterion(share >= SLO_SHARE, WHAT["slo share"], done, few),
        *_refusals(run, SLO_REFUSE_S, {}),
    ]


step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab08_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab08_deadline_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab08_slo_app:app")
