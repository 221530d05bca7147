"""Serves a learner's app unchanged; when a worker's lifespan shutdown ends, prints how many connections
that worker still holds to the database (lab 05, step 3), as one line: ``MARKER {json}``.

    serve("asgilab.apps.db_shutdown:probe_app", env={TARGET_ENV: "lab05_db_app:app", ...})
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import psutil

from asgilab.apps.lifespan_probe import TARGET_ENV, import_app

MARKER = "asgilab-lab05-shutdown "


async def open_db_connections(wait_s: float = 1.0) -> int:
    """TCP connections this process holds to ``DATABASE_URL``'s port, after up to ``wait_s`` for them to close."""
    port, deadline = urlsplit(os.environ["DATABASE_URL"]).port or 5432, time.monotonic() + wait_s
    while True:
        mine = [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port]
        if not mine or time.monotonic() > deadline:
            return len(mine)
        await asyncio.sleep(0.05)


class ShutdownProbe:
    """Serves the app unchanged; when its lifespan shutdown ends, prints the connections it still holds."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def spy(message: dict[str, Any]) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                report = {"pid": os.getpid(), "open": await open_db_connections(), "shutdown": message["type"]}
                # One write, newline included: print() writes the newline apart, and two workers' lines interleave.
                sys.stdout.write(MARKER + json.dumps(report) + "\n")
                sys.stdout.flush()
            await send(message)

        await self.app(scope, receive, spy if scope["type"] == "lifespan" else send)


def __getattr__(name: str) -> Any:
    if name == "probe_app":  # built only when a server process asks for it
        return ShutdownProbe(import_app(os.environ[TARGET_ENV]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_reports(logs: str) -> list[dict[str, Any]]:
    """Each worker's shutdown report in the server's output, wherever its line starts (another worker's
    output can land on the same line)."""
    decoder, reports, at = json.JSONDecoder(), [], logs.find(MARKER)
    while at != -1:
        try:
            report, _ = decoder.raw_decode(logs, at + len(MARKER))
            reports.append(report)
        except json.JSONDecodeError:
            pass  # a line cut short (a worker killed mid-write): no report from it
        at = logs.find(MARKER, at + len(MARKER))
    return reports
