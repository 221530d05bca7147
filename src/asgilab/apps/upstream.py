"""The slow upstream's server side, run by `asgilab.upstream.serve_upstream` in a server process:
a FastAPI app (``/delay?ms=``, ``/stats``) behind an HTTP protocol that counts the TCP connections it
is sent and waits ``ASGILAB_UPSTREAM_CONNECT_DELAY_MS`` before a new connection's first request."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI, Query

from asgilab.upstream import CONNECT_DELAY_ENV

try:  # the faster parser when installed (uvicorn[standard]); the pure-Python one otherwise
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - depends on what is installed
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]  # either parser, one name

__all__ = ["app", "CountingProtocol", "counters"]

MAX_MS = 60_000


class _Counters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.connections_opened = 0
        self.connections_open = 0
        self.max_connections_open = 0
        self.in_flight = 0
        self.max_in_flight = 0


counters = _Counters()


class CountingProtocol(_BaseProtocol):
    """uvicorn's HTTP protocol, counting connections and holding back each new one's first bytes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # asyncio hands TCP protocols a Transport
        counters.connections_opened += 1
        counters.connections_open += 1
        counters.max_connections_open = max(counters.max_connections_open, counters.connections_open)
        super().connection_made(transport)
        self._held: list[bytes] | None = None
        delay_ms = float(os.environ.get(CONNECT_DELAY_ENV, "0"))
        if delay_ms > 0:
            # Whatever the client sends is parsed only once the "handshake" is over, as on a real
            # network. Buffering here works the same on asyncio and uvloop transports.
            self._held = []
            self.loop.call_later(delay_ms / 1000, self._release)

    def data_received(self, data: bytes) -> None:
        if self._held is not None:
            self._held.append(data)
        else:
            super().data_received(data)

    def _release(self) -> None:
        held, self._held = self._held or [], None
        if held and not self.transport.is_closing():
            super().data_received(b"".join(held))

    def connection_lost(self, exc: Exception | None) -> None:
        counters.connections_open -= 1
        super().connection_lost(exc)


app = FastAPI(title="asgilab slow upstream")


@app.middleware("http")
async def count_requests(request: Any, call_next: Any) -> Any:
    if request.url.path.startswith("/stats"):
        return await call_next(request)
    counters.requests += 1
    counters.in_flight += 1
    counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
    try:
        return await call_next(request)
    finally:
        counters.in_flight -= 1


@app.get("/delay")
async def delay(ms: int = Query(100, ge=0, le=MAX_MS)) -> dict[str, int]:
    """Answer after ``ms`` milliseconds, like a remote API that takes its time."""
    await asyncio.sleep(ms / 1000)
    return {"delayed_ms": ms}


@app.get("/stats")
async def stats() -> dict[str, int]:
    """Requests served and TCP connections opened since start (or the last reset)."""
    return {
        "requests": counters.requests,
        "connections_opened": counters.connections_opened,
        "connections_open": counters.connections_open,
        "max_connections_open": counters.max_connections_open,
        "max_in_flight": counters.max_in_flight,
    }


@app.post("/stats/reset")
async def reset_stats() -> dict[str, bool]:
    open_now = counters.connections_open
    counters.reset()
    counters.connections_open = open_now
    counters.max_connections_open = open_now
    return {"reset": True}
