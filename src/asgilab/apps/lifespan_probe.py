"""Serves a learner's app unchanged and reports on the HTTP clients it makes around its lifespan (lab 04).

`LifespanProbe` notes, when lifespan startup is complete, which HTTP clients (httpx, httpx2, aiohttp)
exist that did not exist before; when shutdown is complete it prints one line, ``MARKER + json``,
saying whether each was closed. That observes the client object itself, so the operating system
closing sockets at exit cannot fool it. `asgilab.checks.probe` reads the line back in the check.

    serve("asgilab.apps.lifespan_probe:app", env={TARGET_ENV: "lab04_app:app", "UPSTREAM_URL": ...})
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from typing import Any

__all__ = ["MARKER", "TARGET_ENV", "LifespanProbe", "import_app"]

MARKER = "asgilab-lifespan-probe "
TARGET_ENV = "ASGILAB_PROBE_TARGET"


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


class LifespanProbe:
    """Serves ``app`` unchanged and reports on its HTTP clients around the lifespan."""

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
                report = {"at_import": len(at_import), "created_at_startup": [_describe(c) for c in created]}
                print(MARKER + json.dumps({**report, "shutdown": kind}), flush=True)
            await send(message)

        await self.app(scope, receive, spy)


def import_app(spec: str) -> Any:
    """The object ``"module:attribute"`` names."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _per_request_app() -> Any:
    """A yardstick gateway: a new ``httpx.AsyncClient()`` for every ``GET /proxy?ms=N``."""
    import httpx
    from fastapi import FastAPI

    upstream_url = os.environ["UPSTREAM_URL"]
    app = FastAPI(title="a client per request (reference)")

    @app.get("/proxy")
    async def proxy(ms: int = 10) -> Any:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{upstream_url}/delay", params={"ms": ms})
        return response.json()

    return app


def __getattr__(name: str) -> Any:
    # Built only when a server process asks for them (uvicorn "asgilab.apps.lifespan_probe:app").
    if name == "app":
        return LifespanProbe(import_app(os.environ[TARGET_ENV]))
    if name == "per_request_app":
        return _per_request_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
