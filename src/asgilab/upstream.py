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

The upstream only answers; it fetches no URL a caller supplies. Its server side, which runs in the
server process, is `asgilab.apps.upstream`.
"""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

from asgilab.server import Server

__all__ = ["Upstream", "serve_upstream", "ssl_context", "ca_file", "CONNECT_DELAY_ENV"]

CONNECT_DELAY_ENV = "ASGILAB_UPSTREAM_CONNECT_DELAY_MS"  # read by the server side, asgilab.apps.upstream


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
    return Upstream("asgilab.apps.upstream:app", http="asgilab.apps.upstream:CountingProtocol", env=env, **options)
