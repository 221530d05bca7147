"""Checks for lab 08: under overload, keep the served requests fast and refuse the rest at once.

    check.step1("lab08_app:app")           # 3x overload on a blocking driver: bounded p99, fast 503s
    check.step2("lab08_deadline_app:app")  # a hanging query is cut off by a deadline
    check.step3("lab08_slo_app:app")       # an SLO on the ledger, sized from your measurement (transfer)
The checks serve the app (server options are not the learner's) and measure an open loop, latency from when due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asgilab.apps.ledger import LEDGER_QUERY_S, LEDGER_SLOTS, Ledger
from asgilab.checks import AppDir, Criterion, make_step, ms, served
from asgilab.checks.lab08_text import (
    CAPACITY_RPS,
    CLIENT_TIMEOUT_S,
    DEADLINE_S,
    DEADLINE_SLACK_S,
    HINTS,
    LOOK,
    MIN_SERVED,
    OVERLOAD_SECONDS,
    P99_FACTOR,
    REFUSE_FAST_S,
    SERVICE_S,
    SLO_P99_S,
    SLO_REFUSE_S,
    SLO_RPS,
    SLO_SECONDS,
    SLO_SHARE,
    SLOTS,
    SLOW_CLIENT_TIMEOUT_S,
    SLOW_QUERY_MS,
    TITLES,
    WHAT,
    look,
    title,
    what,
)
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.results import Run, percentile

__all__ = ["LOOK", "TITLES", "WHAT", "Ledger", "hint", "solution", "step1", "step2", "step3"]

Judge = Callable[["Overload"], list[Criterion]]  # judge_step1 or judge_step3
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Overload:  # steps 1 and 3: an open-loop run past capacity
    run: Run
    logs: str


def _open_loop(app: str, app_dir: AppDir, step: int, path: str, rate: float, seconds: float, judge: Judge) -> Overload:
    """An open loop past capacity; once more if a guard falls short (other programs only ever slow a run)."""
    n, label = int(rate * seconds), f"{rate:.0f} req/s"
    with served(title(step), app, app_dir, step=step) as server:
        for _ in range(2):
            m = Overload(load_sync(server.url + path, n, 1000, rate=rate, label=label, timeout=CLIENT_TIMEOUT_S), "")
            if all(c.passed for c in judge(m)) or not m.run.error_kinds.get("status 503"):
                break  # passed, or nothing refused: no guard that a slow spell could have tipped over
    m.logs = server.logs()
    return m


def measure_step1(app: str, app_dir: AppDir = None) -> Overload:
    """300 requests/s for 1.5 s, an open loop, to /report (twice if the first falls short)."""
    return _open_loop(app, app_dir, 1, "/report", 3 * CAPACITY_RPS, OVERLOAD_SECONDS, judge_step1)


def _refusals(run: Run, fast_s: float, instead: dict[str, str]) -> list[Criterion]:
    """The excess answered 503 and none left to time out; the 503s' p99 within ``fast_s``. ``instead``:
    advice, already in the learner's language, to give instead of `LOOK`'s for a key."""
    refused = [r.latency_from_schedule for r in run.records if r.status == 503]
    others = {k: v for k, v in run.error_kinds.items() if k != "status 503"}
    key = "timeout" if others.get("timeout") else "other" if others else "none refused"
    fast = percentile(refused, 99) if refused else float("nan")
    figures = {"n": others.get("timeout", 0), "client": CLIENT_TIMEOUT_S, "others": others}
    advice = instead[key] if key in instead else look(key, **figures)
    seen = (
        _f("{n} answered 503; other failures {others}", n=len(refused), others=others)
        if others
        else _f("{n} answered 503", n=len(refused))
    )
    timed = _f("p99 of the 503s {p99}", p99=ms(fast)) if refused else _("no 503 to time")
    fast_what = _f("refusals are fast: p99 within {bound}", bound=ms(fast_s))
    return [
        Criterion(bool(refused) and not others, what("503"), seen, advice),
        Criterion(bool(refused) and fast <= fast_s, fast_what, timed, look("slow 503")),
    ]


def judge_step1(m: Overload) -> list[Criterion]:
    """Served p99 under 5 queries; at least a fifth served; the rest refused with 503, fast."""
    run, n = m.run, len(m.run.records)
    rate = run.ok / run.wall_s if run.wall_s > 0 else 0.0
    slow = 0 < rate < 0.2 * CAPACITY_RPS  # about one query at a time: the blocking call held the event loop
    little = look("little", cap=CAPACITY_RPS, rate=3 * CAPACITY_RPS, growth=2 * CAPACITY_RPS)
    little = look("one at a time", rate=rate) if slow else little
    refused = [r.latency_from_schedule for r in run.records if r.status == 503]
    if run.ok == 0 and n and len(refused) == n:  # the timeout wraps the query too: nothing can pass
        few = look("covers", p50=ms(percentile(refused, 50)), query=ms(SERVICE_S))
    else:
        few = little if slow else look("too few", refused=len(refused) / max(n, 1), share=_("a third"))
    p99 = (
        _f(
            "p99 {p99} of the {ok} served, the {errors} failed left out",
            p99=ms(run.p99_s),
            ok=run.ok,
            errors=run.errors,
        )
        if run.ok
        else _("none served")
    )
    p99_ok = run.ok > 0 and run.p99_s <= P99_FACTOR * SERVICE_S
    served_n = _f("{ok}/{n} served ({share:.0%})", ok=run.ok, n=n, share=run.ok / max(n, 1))
    return [
        Criterion(p99_ok, what("p99"), p99, little if run.ok else _("no request was served: see the next line.")),
        Criterion(run.ok >= MIN_SERVED * n, what("fifth"), served_n, few),
        *_refusals(run, REFUSE_FAST_S, {"none refused": look("none refused") + little}),
    ]  # fmt: skip


@dataclass
class Deadline:  # step 2: ten 3-second queries at once, then 30 normal ones
    slow: Run
    after: Run


def measure_step2(app: str, app_dir: AppDir = None) -> Deadline:
    """10 queries of 3 s at once (clients give up after 2.5 s), then 30 of 100 ms, 10 at a time."""
    with served(title(2), app, app_dir, step=2) as server:
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
    late = look("gave up" if timeouts else "late", slack=DEADLINE_SLACK_S, deadline=DEADLINE_S, **figures)
    counts = {"answered": len(answered), "total": total, "slowest": ms(slowest)}
    when = (
        _f("{answered}/{total} answered, slowest {slowest}; {kinds}", kinds=m.slow.error_kinds, **counts)
        if timeouts
        else _f("{answered}/{total} answered, slowest {slowest}", **counts)
    )
    after_ok = m.after.ok == len(m.after.records) and m.after.p99_s <= P99_FACTOR * SERVICE_S
    after = _f("{ok}/{n} ok, p99 {p99}", ok=m.after.ok, n=len(m.after.records), p99=ms(m.after.p99_s))
    status = _f("statuses {statuses}", statuses=sorted(statuses)) if answered else _("no answer")
    return [
        Criterion(in_time, what("in time"), when, late),
        Criterion(bool(answered) and 504 in statuses and statuses <= {503, 504}, what("504"), status, look("504")),
        Criterion(after_ok, what("after"), after, look("kept" if in_time else "queued")),
    ]


def measure_step3(app: str, app_dir: AppDir = None) -> Overload:
    """80 requests/s for 2 s (3x the ledger's capacity), an open loop, to /balance."""
    return _open_loop(app, app_dir, 3, "/balance", SLO_RPS, SLO_SECONDS, judge_step3)


def judge_step3(m: Overload) -> list[Criterion]:
    """The SLO: served p99 within 300 ms; 90% of the ledger's capacity served; the rest 503 within 150 ms."""
    run, capacity = m.run, LEDGER_SLOTS / LEDGER_QUERY_S
    share = run.ok / SLO_SECONDS / capacity
    p99 = _f("p99 {p99} of the {ok} served", p99=ms(run.p99_s), ok=run.ok) if run.ok else _("none served")
    refused = 1 - run.ok / max(len(run.records), 1)
    found = _f("{share:.0%} of what your measurement found", share=SLO_SHARE)
    few = look("too few", refused=refused, share=found)
    done = _f(
        "{ok} served in {seconds:g} s: {share:.0%} of the ledger's capacity",
        ok=run.ok,
        seconds=SLO_SECONDS,
        share=share,
    )
    slow = look("slo p99", p99=ms(run.p99_s))
    return [
        Criterion(run.ok > 0 and run.p99_s <= SLO_P99_S, what("slo p99"), p99, slow),
        Criterion(share >= SLO_SHARE, what("slo share"), done, few),
        *_refusals(run, SLO_REFUSE_S, {}),
    ]


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab08_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab08_deadline_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab08_slo_app:app")
