"""Serves a learner's app unchanged and reports, as one line ``MARKER {json}``, the server process's
child processes (a process pool's workers) when its shutdown began and once its lifespan shutdown ended
(lab 03, step 2): a pool that is shut down in the lifespan has no worker left by then.

    serve("asgilab.apps.lab03_pool_probe:probe_app", env={TARGET_ENV: "lab03_cpu_app:app"})
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import psutil

from asgilab.apps.lifespan_probe import TARGET_ENV, import_app

__all__ = ["MARKER", "TARGET_ENV", "PoolProbe", "live_children", "read_report"]

MARKER = "asgilab-lab03-pool "


def read_report(logs: str) -> dict[str, Any] | None:
    """The last report in a server's output, or None when its lifespan shutdown never completed."""
    reports = [json.loads(line[len(MARKER) :]) for line in logs.splitlines() if line.startswith(MARKER)]
    return reports[-1] if reports else None


HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")  # one per interpreter, not per pool


def live_children() -> list[int]:
    """The pids of this process's live descendants (zombies, already exited, are left out), leaving out
    multiprocessing's own helper processes, which live as long as the interpreter whatever the pool does."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and not any(h in " ".join(child.cmdline()) for h in HELPERS):
                found.append(child.pid)
        except psutil.Error:
            continue
    return found


async def _children_after(wait_s: float = 1.0) -> list[int]:
    """Live descendants, after up to ``wait_s`` for exiting ones to go (a shut-down pool's workers exit at once)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = live_children()
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.05)


class PoolProbe:
    """Counts the children when the shutdown is asked for (still serving) and once the lifespan shutdown ends."""

    def __init__(self, app: Any) -> None:
        self.app, self.before_shutdown = app, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def listen() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message.get("type") == "lifespan.shutdown":  # the app's shutdown code has not run yet
                self.before_shutdown = len(live_children())
            return message

        async def spy(message: dict[str, Any]) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                left = await _children_after()
                report = {"serving": self.before_shutdown, "after_shutdown": len(left), "shutdown": message["type"]}
                print(MARKER + json.dumps(report), flush=True)
            await send(message)

        if scope["type"] == "lifespan":
            await self.app(scope, listen, spy)
        else:
            await self.app(scope, receive, send)


def __getattr__(name: str) -> Any:
    if name == "probe_app":  # built only when a server process asks for it
        return PoolProbe(import_app(os.environ[TARGET_ENV]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
