"""Serves lab 02's app as its container is configured, and counts what step 3 judges (the login storm).

AnyIO's default thread limiter gets the tokens ``TOKENS_ENV`` names before the app's first request.
``lab02_helpers.hash_password`` is wrapped, before the app is imported, to count the hashes in flight
(the most at once, and hash-seconds: hashes in flight times time); it still runs unchanged. Each
/orders request notes the default tokens in use as it arrives. ``GET /__lab02__/report`` answers them.

    serve("asgilab.checks.lab02_host:app", env={TARGET_ENV: "lab02_app:app", TOKENS_ENV: "4"})
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import threading
import time
from typing import Any

import anyio.to_thread

from asgilab.apps.lifespan_probe import import_app
from asgilab.checks.lab02_storm import REPORT, TARGET_ENV, TOKENS_ENV

__all__ = ["app"]

seen: dict[str, Any] = {"tokens": 0, "at_orders": [], "hashes_max": 0, "hashes_now": 0, "hash_s": 0.0, "since": 0.0}
_lock = threading.Lock()


def _hashes(change: int) -> None:
    """Count a hash in (+1) or out (-1), adding the hashes in flight times the time since the last change."""
    with _lock:
        now = time.perf_counter()
        seen["hash_s"] += seen["hashes_now"] * (now - seen["since"])
        seen["hashes_now"] += change
        seen["since"] = now
        seen["hashes_max"] = max(seen["hashes_max"], seen["hashes_now"])


def _count_hashes(helpers: Any) -> None:
    hash_password = helpers.hash_password

    @functools.wraps(hash_password)
    def counted(*args: Any, **kwargs: Any) -> Any:
        _hashes(+1)
        try:
            return hash_password(*args, **kwargs)
        finally:
            _hashes(-1)

    helpers.hash_password = counted


try:
    _count_hashes(importlib.import_module("lab02_helpers"))  # before the app's modules import it
except ModuleNotFoundError as missing:
    if missing.name != "lab02_helpers":
        raise  # the helpers' own import failed: the server's output names it
target = import_app(os.environ[TARGET_ENV])


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    limiter = anyio.to_thread.current_default_thread_limiter()
    if not seen["tokens"]:  # the first call runs in the server's event loop, whose limiter this is
        limiter.total_tokens = seen["tokens"] = int(os.environ[TOKENS_ENV])
    if scope["type"] == "http":
        if scope["path"] == "/orders":  # the default tokens in use as it arrives: the logins' share, if any
            seen["at_orders"].append(int(limiter.borrowed_tokens))
        if scope["path"] == REPORT:
            body = json.dumps({**seen, "tokens_now": limiter.total_tokens}).encode()  # an app may have changed them
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
    await target(scope, receive, send)
