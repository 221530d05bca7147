"""``audit()``: the whole audit from Python (a lab check, a test, a notebook), as the command runs it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgilab.audit import probe
from asgilab.audit.judge import Verdict, judge
from asgilab.audit.routes import BadInput, Inputs, Route, app_modules, find_routes, import_app, module_paths


@dataclass
class Report:
    target: str
    verdicts: list[Verdict] = field(default_factory=list)

    def verdict(self, method: str, path: str) -> Verdict:
        for verdict in self.verdicts:
            if (verdict.method, verdict.path) == (method.upper(), path):
                return verdict
        raise KeyError(f"no route {method.upper()} {path} in the audit of {self.target}")

    def blocking(self) -> list[Verdict]:
        """The routes that block the event loop (a CPU-bound route on the loop included)."""
        return [v for v in self.verdicts if v.blocks_loop]


def audit(
    target: str,
    app_dir: str | Path = ".",
    *,
    routes: Iterable[str] = (),
    inputs: Inputs | None = None,
    env: dict[str, str] | None = None,
    settings: probe.Settings | None = None,
    host: str = "127.0.0.1",
) -> Report:
    """Audit ``target`` (``module:app``, imported from ``app_dir``): `BadInput` for what cannot be
    audited, `asgilab.ServerError` when the app does not start, else a `Report` of every route's
    verdict. Inside a running event loop (a notebook cell) it runs in a thread of its own."""
    folder = Path(app_dir).resolve()
    found = select(find_routes(import_app(target, folder), inputs or Inputs()), list(routes))
    scan = app_modules(folder, target)
    server = probe.host(target, found, scan, folder, env or {})
    server.host = host
    with server:
        measurements = _in_own_loop(probe.measure(server, found, module_paths(scan), settings or probe.Settings()))
    return Report(target, [judge(m) for m in measurements])


def select(routes: list[Route], wanted: list[str]) -> list[Route]:
    if not routes:
        raise BadInput("the app has no routes the audit can read (it reads Starlette and FastAPI routes)")
    if not wanted:
        return routes
    chosen = [route for route in routes if route.path in wanted]
    missing = sorted(set(wanted) - {route.path for route in chosen})
    if missing:
        known = ", ".join(sorted({route.path for route in routes}))
        raise BadInput(f"no route {missing[0]!r} in the app; its routes are {known}")
    return chosen


def _in_own_loop(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=target, name="asgilab-audit")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
