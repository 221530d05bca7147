"""Lab 02 checks, blocking pitfalls: each step serves the learner's app live and measures one endpoint.

    from asgilab.checks import lab02 as check
    check.step1("lab02_app:app")  # /orders, step2: /rates (upstream in UPSTREAM_URL)
    check.step3("lab02_app:app")  # /login under a login storm, with 4 thread tokens (lab02_storm)
    check.step4("lab02_app:app")  # your blockbuster guard, lab02_guard.py (lab02_buster); step5: /export
Load steps poll ``/ping`` (the canary): a loop held by a blocking call makes it wait as long as the call."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from asgilab.checks import lab02_buster, lab02_storm
from asgilab.checks.criteria import all_answered, ms, served_together, waits_at_least
from asgilab.checks.feedback import Criterion, app_error
from asgilab.checks.lab02_buster import ruff_async
from asgilab.checks.lab02_text import HINTS, KEEP, SHAPES, SLOWLY, TITLES, title
from asgilab.checks.serving import AppDir, make_step, served
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.upstream import serve_upstream

__all__ = ["THREAD_TOKENS", "UPSTREAM_ENV", "hint", "ruff_async", "solution", "storm_logins", "step1", "step2"]
__all__ += ["TITLES", "step3", "step4", "step5"]

UPSTREAM_ENV = "UPSTREAM_URL"  # the variable the learner's app reads the upstream's base URL from
WAIT_S, CANARY_SHARE, AT_ONCE, PEAK = 0.1, 0.3, 20, 7  # a call; /ping's bound per call; requests; upstream peak
LOAD = {"probe": "/ping", "timeout": 15.0, "deadline": 45.0}
NO_UPSTREAM = {UPSTREAM_ENV: "http://127.0.0.1:9"}  # steps that do not call the upstream still set it
THREAD_TOKENS, storm_logins = lab02_storm.TOKENS, lab02_storm.logins  # step 3: the service's tokens; logins sent
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Measured:  # steps 1, 2 and 5: requests at once to `path` with /ping polled (5: after 2 timed alone)
    step: int
    path: str
    run: Run  # step 5: the alone run when it failed, as no burst was sent then
    logs: str = ""
    alone: Run | None = None  # step 5: one request alone, before the burst
    peak: int = 0  # step 2: the most upstream calls in flight at once
    unzipped: bytes | None = None  # step 5: the start of one export, gunzipped (None: not gzip)
    size: int = 0  # step 5: the export's size gunzipped, in bytes
    look = property(lambda self: _(HINTS.ladder[self.step][0]))  # where to look: hint level 1


def _measure(step: int, path: str, app: str, app_dir: AppDir, env: dict[str, str] = NO_UPSTREAM) -> Measured:
    """Steps 1-2: 20 requests at once; step 5: one fetched, one timed alone, then 4 at once; /ping polled."""
    with served(title(step), app, app_dir, env, step=step) as server:
        url, name = server.url + path, path.split("?")[0]
        # step 5: one export fetched first (its body checked; it pays the one-off costs), then one timed alone
        body = _body(url) if step == 5 else b""
        alone = load_sync(url, 1, 1, timeout=15.0, deadline=45.0, label=f"{name} alone") if step == 5 else None
        n = AT_ONCE if alone is None else 4
        run = load_sync(url, n, n, label=name, **LOAD) if alone is None or alone.ok else alone
    csv = zlib.decompressobj(31).decompress(body) if body[:2] == b"\x1f\x8b" else None
    return Measured(step, name, run, server.logs(), alone, unzipped=csv and csv[:60], size=len(csv or b""))


def _body(url: str) -> bytes:
    try:
        return httpx.get(url, timeout=15.0, trust_env=False).content
    except httpx.HTTPError:  # the timed runs that follow record what went wrong
        return b""


def measure_step1(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(1, "/orders?customer=7", app, app_dir)


def measure_step2(app: str, app_dir: AppDir = None) -> Measured:
    with serve_upstream() as up:
        m = _measure(2, "/rates", app, app_dir, {UPSTREAM_ENV: up.url})
        m.peak = up.stats()["max_in_flight"]
    return m


def measure_step3(app: str, app_dir: AppDir = None) -> lab02_storm.Storm:
    """Two logins and two /orders alone, then a login storm with /orders among it (`lab02_storm`)."""
    return lab02_storm.measure(title(3), app, app_dir, NO_UPSTREAM)


def measure_step4(app: str, app_dir: AppDir = None) -> lab02_buster.Guarded:
    """The learner's lab02_guard.py run on the original modules and on theirs (`lab02_buster`)."""
    return lab02_buster.measure(Path(app_dir if app_dir is not None else Path.cwd()), HINTS.notebook)


def measure_step5(app: str, app_dir: AppDir = None) -> Measured:
    return _measure(5, "/export", app, app_dir)


# -- how the steps judge it (pure functions) ---------------------------------------------------
def _answered(run: Run, path: str, logs: str, where: str = "") -> Criterion:
    shape = next((_(why) for found, why in SHAPES.items() if found in app_error(logs)), "")
    where = (
        shape
        or where
        or _f("some {path} requests failed: the server's last lines above name the exception.", path=path)
    )
    return all_answered(run, _f("every {path} request succeeds", path=path), logs, where)


def _canary(run: Run, path: str, call_s: float, look: str, alone: bool = False) -> Criterion:
    median, limit = run.probe_p50_s, CANARY_SHARE * call_s
    one = (
        _f("one {path} alone, which took {call}", path=path, call=ms(call_s))
        if alone
        else _f("one {path} call", path=path)
    )
    return Criterion(
        not math.isnan(median) and median < limit,
        _f(
            "/ping stays fast while {path} runs (median under {limit}: {share:.0%} of {one})",
            path=path,
            limit=ms(limit),
            share=CANARY_SHARE,
            one=one,
        ),
        _f(
            "/ping median {median}, worst {worst} over {pings} pings",
            median=ms(median),
            worst=ms(run.probe_max_s),
            pings=len(run.probe_records),
        ),
        _f(
            "/ping waited about as long as a {path} call: {path} holds the event loop, so every endpoint waits. {look}",
            path=path,
            look=look,
        ),
    )


def judge_step1(m: Measured) -> list[Criterion]:
    """Every /orders answered, each waits on the helper, at least 2.5 served at once, /ping fast meanwhile."""
    serial = served_together(
        m.run, WAIT_S, 2.5, _f("/orders served its callers (nearly) one at a time. {look}", look=m.look)
    )
    waits = waits_at_least(m.run, WAIT_S, _(KEEP))
    return [_answered(m.run, m.path, m.logs), waits, serial, _canary(m.run, m.path, WAIT_S, m.look)]


def judge_step2(m: Measured) -> list[Criterion]:
    """Every /rates answered, at least 8 at once, the upstream sees 7 in flight, /ping fast meanwhile."""
    url = _f(
        "the upstream's base URL is in the environment variable {env}; the server's last lines name the exception.",
        env=UPSTREAM_ENV,
    )
    slowly = m.run.ok == m.run.requests and m.run.served_at_once(WAIT_S) >= 2  # overlapped, but slowly
    where = _f(SLOWLY, look=m.look) if slowly else _f("one call at a time. {look}", look=m.look)
    serial = served_together(m.run, WAIT_S, 8.0, where)
    what = _f("the upstream sees the calls together (at least {peak} in flight at once)", peak=PEAK)
    seen = _f("at most {peak} upstream call(s) in flight at once", peak=m.peak)
    one_by_one = _f("the app sent its upstream calls one after another. {look}", look=m.look)
    peak = Criterion(m.peak >= PEAK, what, seen, one_by_one)
    return [_answered(m.run, m.path, m.logs, url), serial, peak, _canary(m.run, m.path, WAIT_S, m.look)]


def judge_step3(m: lab02_storm.Storm) -> list[Criterion]:
    """All answered; /ping fast; /orders near its time alone; the logins use the cores, no more at once."""
    look = _(HINTS.ladder[3][0])
    return lab02_storm.judge(
        m,
        lambda run, path: _answered(run, path, m.logs),
        lambda run, call_s: _canary(run, "/login", call_s, look, True),
    )


judge_step4 = lab02_buster.judge  # on the original: /orders and /rates named, /ping not; on yours: none


def judge_step5(m: Measured) -> list[Criterion]:
    """All answered, /ping's median under 30% of one export alone, and the export is still a .csv.gz."""
    if m.alone is None or m.run is m.alone:  # it failed alone: no burst was sent
        return [_answered(m.run, m.path, m.logs)]
    call_s = min(m.alone.latencies)
    ok = bool(m.unzipped and m.unzipped.startswith(b"order_id,"))
    shown = (
        _f("gzip of {mb:.1f} MB: {start}...", mb=m.size / 1e6, start=repr(m.unzipped))
        if m.unzipped is not None
        else _("not gzip data")
    )
    look = _("look at what export() returns: the CSV, gzipped, as the body.")
    gz = Criterion(ok, _("GET /export answers the orders CSV, gzipped"), shown, look)
    return [_answered(m.run, m.path, m.logs), _canary(m.run, m.path, call_s, m.look, alone=True), gz]


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab02_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab02_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab02_app:app")
step4 = make_step(4, lambda: title(4), measure_step4, judge_step4, "lab02_app:app")
step5 = make_step(5, lambda: title(5), measure_step5, judge_step5, "lab02_app:app")
