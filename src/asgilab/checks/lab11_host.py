"""Lab 11's serving: one PostgreSQL and one pricing service per check run, the audit's host in front of
the learner's app, kept up after the audit for the step's own measurements (where the CPU ran; a mix
of every route at once). `audited` does what `asgilab.audit.audit` does, plus that."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgilab.audit import probe
from asgilab.audit.judge import Verdict, judge
from asgilab.audit.routes import BadInput, Inputs, Route, app_modules, find_routes, import_app, module_paths
from asgilab.audit.run import _in_own_loop, select
from asgilab.checks import AppDir
from asgilab.checks.hints import find_solutions
from asgilab.checks.markers import starter_source
from asgilab.i18n import _f
from asgilab.load import load
from asgilab.postgres import serve_postgres
from asgilab.results import Record, Run
from asgilab.server import Server, ServerError
from asgilab.upstream import serve_upstream

__all__ = [
    "Audited",
    "CpuWhere",
    "Mix",
    "SETTINGS",
    "audited",
    "cpu_where",
    "forget_modules",
    "mix",
    "write_given_service",
]

NOTEBOOK = "lab11_audit_and_fix.ipynb"
SETTINGS = probe.Settings(concurrency=10, timeout=10.0, deadline=30.0)
MIX_REQUESTS, MIX_AT_ONCE = 6, 3  # step 4: per route; 7 routes make 21 requests in flight
CPU_REQUESTS = 4  # step 3: /recommend requests whose CPU is counted per process


@dataclass
class Audited:
    """One step's audit: a verdict per route the step concerns, and what else it measured."""

    verdicts: list[Verdict] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)  # path -> module.function
    error: str = ""  # the app would not import or start: what it said
    extra: Any = None
    run: Run | None = None  # step 4: the mix, shown with the feedback


Extra = Callable[[Server, list[Route], list[Verdict]], Awaitable[Any]]  # more measurements, same host


@contextmanager
def _services() -> Iterator[dict[str, str]]:
    with serve_postgres() as pg, serve_upstream() as upstream:
        yield {"DATABASE_URL": pg.dsn, "UPSTREAM_URL": upstream.url}


def forget_modules(folder: Path) -> None:
    """Forget every imported module named as a module of ``folder`` (wherever it was imported from), so
    the audit reads the routes as the files are now: reloading the app's module alone keeps the modules
    it imports as they were, and a folder audited before may have left modules of the same names."""
    for name in {path.stem for path in folder.glob("*.py")} - set(sys.stdlib_module_names):
        sys.modules.pop(name, None)


def audited(app: str, app_dir: AppDir, paths: list[str] | None, extra: Extra | None = None) -> Audited:
    """Audit ``paths`` of ``app`` (every route for None) as `asgilab.audit.audit` does, keeping the host
    up for ``extra``; an app that does not import or start gives ``error``, not an exception."""
    folder = Path(app_dir or ".").resolve()
    forget_modules(folder)
    try:
        routes = select(find_routes(import_app(app, folder), Inputs()), paths or [])
    except BadInput as exc:
        return Audited(error=str(exc))
    scan = app_modules(folder, app)
    with _services() as env:
        server = probe.host(app, routes, scan, folder, env)
        try:
            server.start()
        except ServerError as exc:
            return Audited(error=str(exc))
        try:
            measured = _in_own_loop(probe.measure(server, routes, module_paths(scan), SETTINGS))
            verdicts = [_shown(judge(m), folder) for m in measured]
            more = _in_own_loop(extra(server, routes, verdicts)) if extra is not None else None
        finally:
            server.stop()
    return Audited(verdicts, {route.path: route.endpoint for route in routes}, extra=more)


def _shown(v: Verdict, folder: Path) -> Verdict:
    """File names relative to the app's folder, as the learner sees them."""
    prefix = f"{folder}/"
    v.evidence = [line.replace(prefix, "") for line in v.evidence]
    if v.blocking_call is not None:
        v.blocking_call.file = v.blocking_call.file.replace(prefix, "")
    return v


def write_given_service(folder: Path) -> list[Path]:
    """The lab's modules as the lab hands them over (its starter), written into ``folder``."""
    written = []
    for cell in json.loads(find_solutions(NOTEBOOK).read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.startswith("%%writefile"):
            first, _, body = source.partition("\n")
            target = folder / first.split()[-1]
            target.write_text(starter_source(body).rstrip("\n") + "\n")
            written.append(target)
    return written


@dataclass
class CpuWhere:
    """/recommend's CPU per request in the event loop's process and in the others (pools' workers)."""

    loop_process_s: float
    elsewhere_s: float
    requests: int


def _call_urls(server: Server, routes: list[Route]) -> dict[str, str]:
    """The host's GET URL for each route with a request (numbered as `probe.measure` numbers them)."""
    calls = [route.path for route in routes if route.call is not None]
    return {path: f"{server.url}/__audit__/call/{index}" for index, path in enumerate(calls)}


async def cpu_where(server: Server, routes: list[Route], verdicts: list[Verdict]) -> CpuWhere | None:
    url = _call_urls(server, routes).get("/recommend/{user_id}")
    if url is None:
        return None
    before = server.cpu_by_process()
    run = await load(url, CPU_REQUESTS, 1, timeout=SETTINGS.timeout, deadline=SETTINGS.deadline)
    after = server.cpu_by_process()
    own = after.get(server.pid, 0.0) - before.get(server.pid, 0.0)
    others = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items() if pid != server.pid)
    return CpuWhere(own / max(run.ok, 1), others / max(run.ok, 1), run.ok)


@dataclass
class Mix:
    """Each route alone (median of 3), then all of them at once, the canary polling beside each."""

    alone_s: dict[str, float]
    run: Run


async def mix(server: Server, routes: list[Route], verdicts: list[Verdict]) -> Mix:
    urls, alone = _call_urls(server, routes), {}
    options: dict[str, Any] = {"timeout": SETTINGS.timeout, "deadline": SETTINGS.deadline}
    for path, url in urls.items():
        run = await load(url, 3, 1, warmup=1, **options)
        alone[path] = statistics.median([r.latency for r in run.records if r.ok] or [float("nan")])
    # every run polls the canary while it lasts, so the canary covers the whole mix
    runs = await asyncio.gather(
        *(load(url, MIX_REQUESTS, MIX_AT_ONCE, probe=probe.CANARY, **options) for url in urls.values())
    )
    return Mix(alone, _merged(list(runs), len(urls) * MIX_AT_ONCE))


def _merged(runs: list[Run], at_once: int) -> Run:
    records: list[Record] = [record for run in runs for record in run.records]
    merged = Run(url="the mix", requests=sum(run.requests for run in runs), concurrency=at_once, engine="aiohttp",
                 records=records, wall_s=max((run.wall_s for run in runs), default=0.0), probe_path=probe.CANARY,
                 label=_f("every route, {n} at once each", n=MIX_AT_ONCE))  # fmt: skip
    merged.probe_records = [record for run in runs for record in run.probe_records]
    return merged
