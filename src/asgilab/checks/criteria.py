"""Criteria most steps share, as pure functions of a measurement."""

from __future__ import annotations

import math

from asgilab.checks.feedback import Criterion
from asgilab.i18n import _, _f
from asgilab.results import Run

__all__ = ["all_answered", "ms", "served_together", "tail", "waits_at_least"]


def ms(seconds: float) -> str:
    """``0.1234`` -> ``"123 ms"``; a NaN (nothing measured) -> ``"n/a"``."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def tail(logs: str, lines: int = 8) -> str:
    """The last ``lines`` lines of a server's output."""
    return "\n".join(logs.splitlines()[-lines:]) or _("(the server printed nothing)")


def all_answered(run: Run, what: str = "", logs: str = "", where: str = "") -> Criterion:
    """Every request the run meant to send got a 2xx (or 3xx); on failure the error kinds and, given
    ``logs``, the server's last lines. ``what`` is the requirement (default: every request succeeds);
    ``where`` says where to look (default: the server's output)."""
    measured = _f("{ok}/{requests} answered with 2xx", ok=run.ok, requests=run.requests)
    if run.errors or run.ok < run.requests:
        kinds = ", ".join(f"{kind}: {count}" for kind, count in run.error_kinds.items())
        measured += _f(" (errors: {kinds})", kinds=kinds or _("none sent: the run was cut short"))
        if logs:
            measured += _f("; last lines of the server's output:\n{tail}", tail=tail(logs))
    return Criterion(
        run.requests > 0 and run.ok == run.requests,
        what or _("every request succeeds"),
        measured,
        where or _("some requests failed: the server's last lines above name the exception and the line"),
    )


def waits_at_least(run: Run, seconds: float, where: str) -> Criterion:
    """The median successful request took at least 90% of ``seconds`` (it really waited)."""
    return Criterion(
        run.ok > 0 and run.p50_s >= 0.9 * seconds,
        _f("each request really waits {ms}", ms=ms(seconds)),
        _f("median latency {ms}", ms=ms(run.p50_s)) if run.ok else _("no successful request"),
        where,
    )


def served_together(run: Run, call_s: float, at_least: float, where: str) -> Criterion:
    """Every request answered, and on average ``at_least`` of them in progress at once, when each
    takes ``call_s`` alone (`Run.served_at_once`): the requests overlapped."""
    at_once = run.served_at_once(call_s) if run.ok == run.requests else 0.0
    serial_s = run.requests * call_s
    measured = _f(
        "about {at_once:.1f} at once: {serial_s:.1f} s of waiting done in {wall_s:.2f} s",
        at_once=at_once,
        serial_s=serial_s,
        wall_s=run.wall_s,
    )
    if at_once > run.requests:  # more at once than were sent: the requests did not wait their time
        measured = _f(
            "the {requests} requests took {wall_s:.2f} s in all, less than one wait of {call_s:g} s",
            requests=run.requests,
            wall_s=run.wall_s,
            call_s=call_s,
        )
    what = _f(
        "{requests} concurrent requests are served together (at least {at_least:g} at once on average)",
        requests=run.requests,
        at_least=at_least,
    )
    return Criterion(
        at_least <= at_once <= run.requests,
        what,
        measured,
        where,
    )
