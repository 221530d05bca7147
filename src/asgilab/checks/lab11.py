"""Lab 11 checks (capstone): audit the bookshop, fix it route by route, prove it clean under load.

    from asgilab.checks import lab11 as check
    check.step1(PREDICTED)          # your reading of the service as handed over, against its live audit
    check.step2("lab11_app:app")    # /stock and /price no longer wait on the event loop
    check.step3("lab11_app:app")    # /recommend's CPU and /orders' after-the-response work leave the loop
    check.step4("lab11_app:app")    # every route audits clean, and a mixed load meets its target

Each step starts one PostgreSQL and the pricing service (`asgilab.upstream`), gives the app
``DATABASE_URL`` and ``UPSTREAM_URL``, and audits it (`asgilab.audit`) behind the audit's host: only
the routes the step concerns, ten requests at once, so a step takes seconds. Steps 3 and 4 measure
more on the same host (where the CPU ran; a mix of every route at once).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgilab.audit.judge import Verdict
from asgilab.audit.routes import Route
from asgilab.checks import AppDir, Criterion, Feedback, Hints, make_step, ms, verdict
from asgilab.checks.lab11_criteria import (
    clean,
    evidence,
    fixed,
    missing,
    route,
    started,
    under_load,
)
from asgilab.checks.lab11_host import (
    NOTEBOOK,
    SETTINGS,
    Audited,
    CpuWhere,
    Mix,
    audited,
    cpu_where,
    forget_modules,
    mix,
    write_given_service,
)
from asgilab.checks.lab11_text import ASKED, LADDER, look, title
from asgilab.i18n import _, _f
from asgilab.server import Server

__all__ = ["SETTINGS", "hint", "solution", "step1", "step2", "step3", "step4", "write_given_service"]

APP = "lab11_app:app"
ROUTES = {2: ["/stock/{book_id}", "/price/{book_id}"], 3: ["/recommend/{user_id}", "/orders"]}
CPU_ELSEWHERE = 0.5  # step 3: at most half the recommender's CPU may run in the event loop's process
HINTS = Hints(NOTEBOOK, LADDER)
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Reading:
    predicted: dict[str, Any]
    audit: Audited


def _incomplete(predicted: dict[str, Any], paths: list[str]) -> list[str]:
    wrong = [path for path in paths if predicted.get(path) not in ASKED]
    return wrong + sorted(set(predicted) - set(paths))


def judge_step1(m: Reading) -> list[Criterion]:
    """A verdict for every route, each one the audit's own."""
    if m.audit.error:
        return [started(m.audit, APP)]
    paths = [v.path for v in m.audit.verdicts]
    unfilled = _incomplete(m.predicted, paths)
    done, keys = len(paths) - len([p for p in unfilled if p in paths]), ", ".join(repr(p) for p in unfilled)
    filled = Criterion(
        not unfilled,
        _f("a verdict for each of the {n} routes, one of {verdicts}", n=len(paths), verdicts=", ".join(ASKED)),
        _f("{done} of {n} filled in", done=done, n=len(paths))
        + (_f("; not a route's verdict: {keys}", keys=keys) if unfilled else ""),
        _f(
            "PREDICTED needs one key per route, exactly as declared ({paths}), and one of the four verdicts each.",
            paths=", ".join(paths),
        ),
    )
    return [
        filled,
        *([] if unfilled else [_reading(m.predicted[v.path], v, m.audit.endpoints) for v in m.audit.verdicts]),
    ]


def _reading(said: str, v: Verdict, endpoints: dict[str, str]) -> Criterion:
    what = _f("{route}: your verdict is the audit's", route=route(v))
    if v.verdict == "undecided":
        return Criterion(False, what, evidence(v), look("busy"))
    agreed = said == v.verdict
    where = endpoints.get(v.path, v.path)
    return Criterion(
        agreed,
        what,
        _f("you said {said}", said=said)
        + (_f(", and so does the audit: {evidence}", evidence=evidence(v)) if agreed else ""),
        look("misread", evidence=evidence(v), function=where),
    )


def measure_step1(predicted: dict[str, Any], app: str = APP, app_dir: AppDir = None) -> Reading:
    """Audit every route of the service as handed over (``app_dir`` instead, when given)."""
    if app_dir is not None:
        return Reading(predicted, audited(app, app_dir, None))
    folder = Path(tempfile.mkdtemp(prefix="asgilab-lab11-given-"))
    try:
        write_given_service(folder)
        return Reading(predicted, audited(app, folder, None))
    finally:
        forget_modules(folder)
        shutil.rmtree(folder, ignore_errors=True)


def step1(predicted: dict[str, Any], app: str = APP, app_dir: AppDir = None) -> Feedback:
    """Step 1: ``predicted`` (path -> verdict), judged against a live audit of the service as handed over
    (the lab's starter modules, written into a folder of their own, so your fixes do not change it)."""
    if not isinstance(predicted, dict) or not predicted or any(v not in ASKED for v in predicted.values()):
        empty = Reading(predicted if isinstance(predicted, dict) else {}, Audited())
        given = [k for k, v in empty.predicted.items() if v in ASKED]
        unfilled = look("unfilled", verdicts=", ".join(ASKED))
        criterion = Criterion(False, _("a verdict for every route"), _f("{n} filled in", n=len(given)), unfilled)
        return verdict(Feedback(title(1), [criterion], step=1))  # before any server starts
    return verdict(Feedback(title(1), judge_step1(measure_step1(predicted, app, app_dir)), step=1))


def measure_step2(app: str, app_dir: AppDir = None) -> Audited:
    """Audit /stock/{book_id} and /price/{book_id}."""
    return audited(app, app_dir, ROUTES[2])


def judge_step2(a: Audited) -> list[Criterion]:
    """Neither route blocks the loop: each is ok, or thread-pool (a def endpoint is a fix too)."""
    if a.error:
        return [started(a, APP)]
    return [*missing(a, ROUTES[2]), *(fixed(v, ("ok", "thread-pool"), a.endpoints) for v in a.verdicts)]


def measure_step3(app: str, app_dir: AppDir = None) -> Audited:
    """Audit /recommend/{user_id} and POST /orders; then 4 more /recommend, counting CPU per process."""
    return audited(app, app_dir, ROUTES[3], cpu_where)


def judge_step3(a: Audited) -> list[Criterion]:
    """Neither route blocks the loop, and most of the recommender's CPU runs in another process."""
    if a.error:
        return [started(a, APP)]
    allowed = {"/orders": ("ok", "thread-pool"), "/recommend/{user_id}": ("ok", "thread-pool", "cpu-bound")}
    criteria = [*missing(a, ROUTES[3]), *(fixed(v, allowed.get(v.path, ("ok",)), a.endpoints) for v in a.verdicts)]
    where: CpuWhere | None = a.extra
    if where is not None:
        total = where.loop_process_s + where.elsewhere_s
        outside = where.loop_process_s <= max(CPU_ELSEWHERE * total, 0.005)
        criteria.append(Criterion(
            where.requests > 0 and outside,
            _f("most of /recommend's CPU runs outside the event loop's process (at most {share:.0%} in it)",
               share=CPU_ELSEWHERE),
            _f("{loop} per request in the event loop's process, {others} in others",
               loop=ms(where.loop_process_s), others=ms(where.elsewhere_s)),
            look("in process", cpu=ms(where.loop_process_s)),
        ))  # fmt: skip
    return criteria


# -- step 4: every route clean, and a mix of all of them at once ----------------------------------
async def _mix_settled(server: Server, routes: list[Route], verdicts: list[Verdict]) -> Mix:
    """The mix, and once more if a clean service missed a target (other programs only ever slow a run)."""
    first = await mix(server, routes, verdicts)
    if all(c.passed for c in under_load(first)) or first.run.ok < first.run.requests or not clean(verdicts).passed:
        return first
    second = await mix(server, routes, verdicts)
    return min(first, second, key=lambda m: sum(not c.passed for c in under_load(m)))


def measure_step4(app: str, app_dir: AppDir = None) -> Audited:
    """Audit every route; then each alone, and all of them at once (6 each, 3 at a time) with the canary."""
    a = audited(app, app_dir, None, _mix_settled)
    a.run = a.extra.run if isinstance(a.extra, Mix) else None
    return a


def judge_step4(a: Audited) -> list[Criterion]:
    """No route blocks the loop, fails or is undecided; the mix all answered, its p99 and the canary's
    worst within their targets, both in units of the slowest route sent alone."""
    if a.error or not isinstance(a.extra, Mix):
        return [started(a, APP)]
    return [clean(a.verdicts), *under_load(a.extra)]


step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, APP)
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, APP)
step4 = make_step(4, lambda: title(4), measure_step4, judge_step4, APP)
