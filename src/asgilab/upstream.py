"""The outside world, offline: a slow upstream API that counts the connections it is sent.

    with upstream.serve_upstream(connect_delay_ms=50) as up:
        up.reset()
        ...  # call up.url + "/delay?ms=100"
        up.stats()  # {"requests": ..., "connections_opened": ...}, not counting the stats call itself

Lessons call this instead of a remote API, so every lab works with no network. On loopback a TCP
connect costs next to nothing, which would hide what connection pooling saves; ``connect_delay_ms``
models a real network's handshake: each *new* connection waits that long before its first request
is read, as if its TCP and TLS handshakes crossed a WAN. ``tls=True`` serves HTTPS with a
certificate from a private CA (made with trustme); `ssl_context` and `ca_file` let clients trust it.

The upstream only answers; it fetches no URL a caller supplies.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query

from asgilab.server import Server

try:  # the faster parser when installed (uvicorn[standard]); the pure-Python one otherwise
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - depends on what is installed
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]  # either parser, one name

__all__ = ["app", "Upstream", "serve_upstream", "ssl_context", "ca_file", "CountingProtocol"]

CONNECT_DELAY_ENV = "ASGILAB_UPSTREAM_CONNECT_DELAY_MS"
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


@functools.cache
def _tls_files() -> tuple[str, str, str]:
    """A private CA and a certificate for 127.0.0.1/localhost, made once per user and machine.

    Kept in one folder of the temporary directory so that every process (the notebook, a gateway
    app served beside the upstream, a lab check) trusts the same CA."""
    folder = Path(tempfile.gettempdir()) / f"asgilab-tls-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    names = [folder / "ca.pem", folder / "cert.pem", folder / "key.pem"]
    if not all(path.exists() for path in names):
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        staging = Path(tempfile.mkdtemp(prefix="asgilab-tls-new-"))
        ca.cert_pem.write_to_path(str(staging / "ca.pem"))
        cert.private_key_and_cert_chain_pem.write_to_path(str(staging / "cert.pem"))
        cert.private_key_pem.write_to_path(str(staging / "key.pem"))
        try:
            staging.rename(folder)  # atomic: of two processes racing, one set of files wins
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    ca_pem, cert_pem, key_pem = (str(path) for path in names)
    return ca_pem, cert_pem, key_pem


def ca_file() -> str:
    """Path of the course CA's certificate (PEM): ``verify=ca_file()`` for requests."""
    return _tls_files()[0]


def ssl_context() -> ssl.SSLContext:
    """A client SSL context that trusts the course CA: ``httpx.AsyncClient(verify=ssl_context())``,
    ``aiohttp.TCPConnector(ssl=ssl_context())``, ``load(..., ssl=ssl_context())``."""
    return ssl.create_default_context(cafile=ca_file())


class Upstream(Server):
    """The upstream's `Server`, with its counters: `stats` and `reset`.

    Each call opens one connection of its own; `stats` leaves out those its calls opened since the
    last `reset` (a reset through the HTTP endpoint by someone else is not seen)."""

    _own_connections = 0

    def _client(self) -> Any:
        import httpx

        # A fresh client: each call opens exactly one new connection, which `stats` then leaves out.
        verify: Any = ssl_context() if self.scheme == "https" else True
        return httpx.Client(base_url=self.url, timeout=5, trust_env=False, verify=verify)

    def stats(self) -> dict[str, int]:
        """Requests served and TCP connections opened since start (or the last `reset`), not counting
        the connections of `stats` calls themselves (``connections_opened``, ``connections_open``)."""
        self._own_connections += 1
        with self._client() as client:
            figures: dict[str, int] = client.get("/stats").raise_for_status().json()
        figures["connections_opened"] -= self._own_connections
        figures["connections_open"] -= 1  # this call's, still open while it was answered
        return figures

    def reset(self) -> None:
        """Zero the counters (connections still open stay counted as open)."""
        with self._client() as client:
            client.post("/stats/reset").raise_for_status()
        self._own_connections = 0  # this call's connection was opened before the reset


def serve_upstream(connect_delay_ms: float = 0, tls: bool = False, **options: Any) -> Upstream:
    """An `Upstream` server; start it with ``with`` or ``.start()``."""
    if connect_delay_ms < 0:
        raise ValueError("connect_delay_ms must be zero or more")
    env = {**options.pop("env", {}), CONNECT_DELAY_ENV: str(connect_delay_ms)}
    if tls:
        _, cert_path, key_path = _tls_files()
        options.update(ssl_certfile=cert_path, ssl_keyfile=key_path)
    return Upstream("asgilab.upstream:app", http="asgilab.upstream:CountingProtocol", env=env, **options)
