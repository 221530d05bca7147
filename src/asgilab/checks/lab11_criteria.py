"""Lab 11's criteria on audited routes, as pure functions: an app that did not start, a route fixed
(or not: the advice follows the shape the audit saw), the whole service clean, the mix within its targets."""

from __future__ import annotations

from collections import Counter

from asgilab.audit.judge import Verdict
from asgilab.checks import Criterion, ms
from asgilab.checks.lab11_host import Audited, Mix
from asgilab.checks.lab11_text import look
from asgilab.i18n import _, _f

__all__ = [
    "CANARY_FACTOR",
    "FAIL_ON",
    "P99_FACTOR",
    "clean",
    "evidence",
    "fixed",
    "missing",
    "route",
    "started",
    "under_load",
]

FAIL_ON = ("blocks-loop", "failed", "undecided")  # step 4: as `--fail-on blocks-loop,failed`, and not too busy
P99_FACTOR, CANARY_FACTOR = 10.0, 3.0  # step 4: the mix's p99 and the canary's worst, in slowest-alone units


def started(a: Audited, app: str) -> Criterion:
    lines = a.error.splitlines()
    tail = _f("; its last lines:\n{lines}", lines="\n".join(lines[1:][-6:])) if len(lines) > 1 else ""
    return Criterion(
        not a.error,
        _f("the app {app} imports and starts", app=repr(app)),
        lines[0] if lines else _("it started"),
        _(
            "the server could not import or start your modules (a typo? a missing import? did you run every"
            " %%writefile cell?)"
        )
        + tail,
    )


def route(v: Verdict) -> str:
    return f"{v.method} {v.path}"


def evidence(v: Verdict) -> str:
    return "; ".join(v.evidence)


def fixed(v: Verdict, allowed: tuple[str, ...], endpoints: dict[str, str]) -> Criterion:
    """The route no longer blocks the loop, works, and gets one of ``allowed``; advice by the shape seen."""
    passed = not v.blocks_loop and v.verdict in allowed
    call = v.evidence[0] if v.blocking_call is not None and v.evidence else ""
    figures = {"evidence": evidence(v), "call": call, "function": endpoints.get(v.path, v.path)}
    figures["steps"] = next((e.split(";")[0] for e in v.evidence if "steps of the event loop" in e), "")
    figures["seen"] = call or figures["steps"]
    if v.verdict in ("failed", "undecided", "skipped"):
        key = "busy" if v.verdict == "undecided" else "failed"
    elif v.path == "/orders" and v.blocks_loop:
        key = "after"
    elif v.blocking_call is not None:
        key = "named"
    elif v.verdict == "cpu-bound":
        key = "cpu" if v.path.startswith("/recommend") else "cpu other"
    else:
        key = "in C"
    # i18n: between the verdicts a route may get, as in "ok or thread-pool"
    verdicts = _(" or ").join(allowed)
    what = _f("{route} no longer blocks the event loop ({verdicts})", route=route(v), verdicts=verdicts)
    return Criterion(passed, what, f"{v.verdict}: {evidence(v)}", look(key, **figures))


def missing(a: Audited, paths: list[str]) -> list[Criterion]:
    seen = {v.path for v in a.verdicts}
    return [
        Criterion(
            False,
            _f("the app has route {path}", path=p),
            _("not found"),
            _f("keep {path} in the app: the step audits it.", path=p),
        )
        for p in paths
        if p not in seen
    ]


def clean(verdicts: list[Verdict]) -> Criterion:
    dirty = [v for v in verdicts if v.blocks_loop or v.verdict in FAIL_ON]
    summary = ", ".join(f"{count} {name}" for name, count in sorted(Counter(v.verdict for v in verdicts).items()))
    first = dirty[0] if dirty else None
    still = ", ".join(f"{route(v)} {v.verdict}" for v in dirty)
    advice = (
        _f(
            "{route}: {evidence}. Steps 2 and 3 audit their routes again with more detail.",
            route=route(first),
            evidence=evidence(first),
        )
        if first
        else ""
    )
    return Criterion(
        not dirty,
        _f("every route audits clean (none {verdicts}, none blocking the loop)", verdicts=", ".join(FAIL_ON)),
        _f("{n} routes: {summary}", n=len(verdicts), summary=summary)
        + (_f("; still: {routes}", routes=still) if dirty else ""),
        advice,
    )


def under_load(mix: Mix) -> list[Criterion]:
    run, finite = mix.run, [s for s in mix.alone_s.values() if s == s]
    slowest = max(finite, default=float("nan"))
    alone = ", ".join(f"{path} {ms(s)}" for path, s in mix.alone_s.items())
    p99_limit, canary_limit = P99_FACTOR * slowest, CANARY_FACTOR * slowest
    canary = max((r.latency for r in run.probe_records), default=float("nan"))
    answered = Criterion(
        run.ok == run.requests,
        _("every request of the mix answered"),
        _f("{ok}/{requests}; alone: {alone}", ok=run.ok, requests=run.requests, alone=alone),
        _("some requests of the mix failed: the audit's verdicts above say which route errors."),
    )
    p99 = Criterion(
        run.ok > 0 and run.p99_s <= p99_limit,
        _f(
            "the mix's p99 within {factor:g}x the slowest route alone ({limit})", factor=P99_FACTOR, limit=ms(p99_limit)
        ),
        _f(
            "p99 {p99} for {requests} requests, {concurrency} in flight",
            p99=ms(run.p99_s),
            requests=run.requests,
            concurrency=run.concurrency,
        ),
        _(
            "requests waited behind each other: something still holds the event loop (or one core) for a whole"
            " request at a time; the audit's verdicts say where."
        ),
    )
    loop = Criterion(
        bool(run.probe_records) and canary <= canary_limit,
        _f(
            "the canary's worst wait within {factor:g}x the slowest route alone ({limit})",
            factor=CANARY_FACTOR,
            limit=ms(canary_limit),
        ),
        _f("worst {worst} over {n} canary requests", worst=ms(canary), n=len(run.probe_records)),
        _(
            "a request that needs nothing waited longer than the slowest route takes alone: the loop was held."
            " Look at the audit's long steps."
        ),
    )
    return [answered, p99, loop]
