"""Lab 04 checks: a gateway with one HTTP client, created in ``lifespan``, limited, and closed.

    from asgilab.checks import lab04 as check
    check.step1("lab04_app:app")  # pooled: few connections, faster than a client per request
    check.step2("lab04_app:app")  # the client is created at startup and closed at shutdown
    check.hint(1)

Each step starts the course's upstream (`asgilab.upstream`) itself and gives its address to the
learner's app in the environment variable ``UPSTREAM_URL``. The app must answer
``GET /proxy?ms=N`` by calling ``{UPSTREAM_URL}/delay?ms=N``.

Step 2 serves the learner's app wrapped in `_LifespanProbe`, an ASGI middleware that, inside the
server process, notes which HTTP clients (httpx, httpx2, aiohttp) exist once the app's lifespan
startup is complete and prints, when its shutdown is complete, whether each of them was closed.
That is a direct observation of the client object, so it cannot be fooled by the operating system
closing sockets when the process exits anyway.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import urllib.request
from typing import Any

from asgilab.checks import Criterion, Feedback, Hint, hints, not_started, verdict
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.server import Server, ServerError, serve

__all__ = ["hint", "step1", "step2"]

POOL_LIMIT = 10  # connections the learner's client may open to the upstream
REQUESTS = 60
CONCURRENCY = 50
UPSTREAM_MS = 20  # how long the upstream takes to answer
CONNECT_DELAY_MS = 50  # the upstream's simulated handshake for every new connection
MIN_SPEEDUP = 1.5  # throughput against a gateway that makes a client per request
STEP2_REQUESTS = 20
TARGET_ENV = "ASGILAB_LAB04_TARGET"
MARKER = "asgilab-lab04-lifespan "
REFERENCE_APP = "asgilab.checks.lab04:reference_app"
PROBE_APP = "asgilab.checks.lab04:probe_app"

_HINTS = {
    1: (
        "Make the client once, not per request. Write a lifespan function:\n"
        "    @asynccontextmanager\n"
        "    async def lifespan(app):\n"
        "        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=MAX_CONNECTIONS)) as client:\n"
        '            yield {"client": client}\n'
        "pass it to FastAPI(lifespan=lifespan), and in the endpoint call request.state.client.get(...)\n"
        "instead of opening `async with httpx.AsyncClient()` there. The limit is what keeps the\n"
        "upstream from seeing more than 10 connections when 50 requests arrive at once."
    ),
    2: (
        "Whatever the lifespan creates before `yield` it must close after `yield`, when the server\n"
        "shuts down. `async with httpx.AsyncClient(...) as client: yield {...}` does it for you;\n"
        "otherwise `client = httpx.AsyncClient(...)`, `yield {...}`, then `await client.aclose()`.\n"
        "Create the client inside the lifespan, not at import time: then it belongs to the running\n"
        'server. `@app.on_event("startup")` is deprecated, and skipped when lifespan= is given.'
    ),
}


def hint(step: int) -> Hint:
    """A hint for step 1 or 2."""
    return hints(_HINTS, step)


# -- the checks -------------------------------------------------------------------------
def step1(app: str = "lab04_app:app", app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """Under 50 concurrent requests the gateway opens at most 10 connections to the upstream, and
    serves at least 1.5x the throughput of a gateway that makes a new client per request."""
    from asgilab import upstream

    title = "Step 1: one pooled, limited client"
    with upstream.serve_upstream(connect_delay_ms=CONNECT_DELAY_MS) as up:
        try:
            run, stats, logs = _measure(app, app_dir, up, "your gateway")
        except ServerError as exc:
            return verdict(Feedback(title, [not_started(app, exc)]))
        reference, _, _ = _measure(REFERENCE_APP, None, up, "a new client per request (reference)")

    opened = stats["connections_opened"]
    criteria = [_all_answered(run, logs)]
    if opened >= 0.95 * stats["requests"]:
        advice = (
            "about one new connection per request: the gateway makes a new client (and pool) for"
            " each request. Create one client in a lifespan function and use it from request.state."
        )
    else:
        advice = (
            f"connections are reused, but {CONCURRENCY} requests at once opened more than {POOL_LIMIT}:"
            f" give the shared client limits=httpx.Limits(max_connections={POOL_LIMIT})."
        )
    criteria.append(
        Criterion(
            passed=stats["requests"] > 0 and opened <= POOL_LIMIT,
            what=f"the upstream sees at most {POOL_LIMIT} new connections",
            measured=f"{opened} new TCP connections for {stats['requests']} upstream requests,"
            f" {CONCURRENCY} arriving at once",
            advice=advice,
        )
    )
    speedup = run.throughput_rps / reference.throughput_rps if reference.throughput_rps > 0 else 0.0
    criteria.append(
        Criterion(
            passed=run.ok == REQUESTS and speedup >= MIN_SPEEDUP,
            what=f"throughput at least {MIN_SPEEDUP:g}x a gateway that makes a client per request",
            measured=f"{run.throughput_rps:.0f} req/s against {reference.throughput_rps:.0f} req/s ({speedup:.1f}x)",
            advice=(
                "a client per request pays for loading certificates and for a new connection (here with"
                f" a {CONNECT_DELAY_MS} ms handshake) on every request; a shared client pays once. If your"
                " connections are already shared, check that the limit is not much lower than 10."
            ),
        )
    )
    return verdict(Feedback(title, criteria, [run, reference]))


def step2(app: str = "lab04_app:app", app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """The client is created while the app starts (in its lifespan) and closed when it shuts down."""
    from asgilab import upstream

    title = "Step 2: a client that lives and dies with the app"
    with upstream.serve_upstream() as up:
        server = serve(PROBE_APP, app_dir=app_dir, env={TARGET_ENV: app, "UPSTREAM_URL": up.url})
        try:
            with server:
                run = load_sync(
                    server.url + f"/proxy?ms={UPSTREAM_MS}",
                    requests=STEP2_REQUESTS,
                    concurrency=10,
                    timeout=10,
                    deadline=30,
                    label="your gateway",
                )
        except ServerError as exc:
            return verdict(Feedback(title, [not_started(app, exc)]))
    logs = server.logs()  # the server has stopped: its output includes the shutdown
    report = _read_report(logs)
    criteria = [_all_answered(run, logs, STEP2_REQUESTS)]
    if report is None:
        criteria.append(
            Criterion(
                passed=False,
                what="the app's lifespan shutdown completes",
                measured="no report of a completed shutdown; last lines of the server's output:\n" + _tail(logs),
                advice="the shutdown part of the lifespan (after `yield`) raised or hung for seconds;"
                " closing a client takes milliseconds.",
            )
        )
        return verdict(Feedback(title, criteria, [run]))

    created = report["created_at_startup"]
    at_import = report["at_import"]
    if at_import:
        advice = (
            f"{at_import} client(s) were made when the module was imported, outside the lifespan:"
            " create the client inside the lifespan function, before its `yield`."
        )
    else:
        advice = (
            "no HTTP client existed once startup was over: create one in a lifespan function"
            ' (FastAPI(lifespan=lifespan)) and hand it to requests with `yield {"client": client}`.'
        )
    criteria.append(
        Criterion(
            passed=bool(created),
            what="a client is created while the app starts, in its lifespan",
            measured=f"{len(created)} client(s) created during startup"
            + (f" ({', '.join(c['type'] for c in created)})" if created else "")
            + f"; {at_import} created at import",
            advice=advice,
        )
    )
    closed = sum(1 for c in created if c["closed"])
    criteria.append(
        Criterion(
            passed=bool(created) and closed == len(created),
            what="every client made at startup is closed when shutdown completes",
            measured=f"{closed} of {len(created)} closed" if created else "no client to close",
            advice=(
                "close it after the lifespan's `yield`: `async with httpx.AsyncClient(...) as client:"
                " yield {...}`, or `await client.aclose()` after `yield`. An unclosed client leaves its"
                " connections to be cut when the process dies, with no goodbye to the upstream."
            ),
        )
    )
    return verdict(Feedback(title, criteria, [run]))


# -- helpers for the checks -------------------------------------------------------------
def _measure(app: str, app_dir: Any, up: Server, label: str) -> tuple[Run, dict[str, int], str]:
    """Serve ``app`` against ``up``, send the load, and return the run, what the upstream saw, logs."""
    with serve(app, app_dir=app_dir, env={"UPSTREAM_URL": up.url}) as server:
        _post(up.url + "/stats/reset")
        run = load_sync(
            server.url + f"/proxy?ms={UPSTREAM_MS}",
            requests=REQUESTS,
            concurrency=CONCURRENCY,
            timeout=10,
            deadline=40,
            label=label,
        )
        stats = _get_json(up.url + "/stats")
        stats["connections_opened"] -= 1  # the connection of our own GET /stats
        return run, stats, server.logs()


def _all_answered(run: Run, logs: str, expected: int = REQUESTS) -> Criterion:
    measured = f"{run.ok}/{len(run.records)} answered with 2xx"
    if run.errors:
        measured += f"; errors {run.error_kinds}; last lines of the server's output:\n{_tail(logs)}"
    return Criterion(
        passed=run.ok == expected,
        what=f"GET /proxy?ms={UPSTREAM_MS} answers every request",
        measured=measured,
        advice="the endpoint must call {UPSTREAM_URL}/delay?ms=... and return its JSON; look at the"
        " server's output above for the exception.",
    )


def _read_report(logs: str) -> dict[str, Any] | None:
    lines = [line for line in logs.splitlines() if line.startswith(MARKER)]
    return json.loads(lines[-1][len(MARKER) :]) if lines else None


def _tail(logs: str, lines: int = 8) -> str:
    return "\n".join(logs.splitlines()[-lines:]) or "(the server printed nothing)"


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _post(url: str) -> None:
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


# -- code that runs inside the server processes -----------------------------------------
def _reference_app() -> Any:
    """The starter's way, as a yardstick: a new ``httpx.AsyncClient()`` for every request."""
    import httpx
    from fastapi import FastAPI

    upstream_url = os.environ["UPSTREAM_URL"]
    app = FastAPI(title="lab04 reference: a client per request")

    @app.get("/proxy")
    async def proxy(ms: int = 10) -> Any:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{upstream_url}/delay", params={"ms": ms})
        return response.json()

    return app


def _client_types() -> tuple[type, ...]:
    types: list[type] = []
    for name in ("httpx", "httpx2"):
        module = sys.modules.get(name)
        if module is not None:
            types += [module.AsyncClient, module.Client]
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        types.append(aiohttp.ClientSession)
    return tuple(types)


def _live_clients() -> list[Any]:
    types = _client_types()
    # type(), not isinstance(): never touch a proxy object's __class__ while scanning the heap
    return [obj for obj in gc.get_objects() if issubclass(type(obj), types)] if types else []


def _describe(client: Any) -> dict[str, Any]:
    kind = f"{type(client).__module__.split('.')[0]}.{type(client).__name__}"
    closed = getattr(client, "is_closed", None)
    if closed is None:
        closed = getattr(client, "closed", False)  # aiohttp.ClientSession
    return {"type": kind, "closed": bool(closed)}


class _LifespanProbe:
    """Serves the learner's app unchanged and reports on its HTTP clients around the lifespan."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        at_import = _live_clients()
        created: list[Any] = []

        async def spy(message: dict[str, Any]) -> None:
            kind = message.get("type", "")
            if kind == "lifespan.startup.complete":
                created.extend(c for c in _live_clients() if not any(c is old for old in at_import))
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                report = {
                    "at_import": len(at_import),
                    "created_at_startup": [_describe(c) for c in created],
                    "shutdown": kind,
                }
                print(MARKER + json.dumps(report), flush=True)
            await send(message)

        await self.app(scope, receive, spy)


def _import_app(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def __getattr__(name: str) -> Any:
    # Built only when a server process asks for them (uvicorn "asgilab.checks.lab04:probe_app").
    if name == "reference_app":
        return _reference_app()
    if name == "probe_app":
        return _LifespanProbe(_import_app(os.environ[TARGET_ENV]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
