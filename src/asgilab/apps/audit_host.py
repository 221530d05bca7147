"""The server side of ``python -m asgilab audit``: the learner's app, untouched, behind a thin ASGI host.

``uvicorn asgilab.apps.audit_host:app`` with ``ASGILAB_AUDIT_APP=module:attribute`` serves that app and
answers four paths of its own under ``/__audit__/`` (every other request goes to the app as it came):

- ``canary``: answered at once on the event loop, so its wait is how long the loop was busy elsewhere;
- ``call/N``: request N of ``ASGILAB_AUDIT_CALLS`` (a JSON list of method, path, query, headers and
  body), sent to the app as that request, so a plain GET load generator can drive any route;
- ``blockbuster/on`` and ``blockbuster/off``: blockbuster raises at the first blocking call made on
  the loop from the app's own modules (``ASGILAB_AUDIT_SCAN``); the host keeps that call's stack;
- ``report``: what the host saw since the last report, as JSON (blocking calls, the app's errors,
  the most AnyIO thread tokens in use at once, the longest single step of the event loop), then it
  starts counting afresh.

The longest step is timed around each callback the loop runs (``asyncio.Handle._run``, Python code
in CPython's asyncio, so the audit serves with ``--loop asyncio``): a blocking call or CPU work on
the loop makes one long step, many cooperative requests make many short ones, however busy.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
PREFIX = "/__audit__/"
SAMPLE_INTERVAL_S = 0.002


class _Steps:
    longest_s = 0.0
    long_count = 0  # steps of at least LONG_S: one per blocked request, a stray pause only once
    LONG_S = float(os.environ.get("ASGILAB_AUDIT_LONG_STEP_S", "0.02"))


def _timed(run: Callable[[asyncio.Handle], None]) -> Callable[[asyncio.Handle], None]:
    def timed_run(handle: asyncio.Handle) -> None:
        start = time.perf_counter()
        try:
            run(handle)
        finally:
            took = time.perf_counter() - start
            _Steps.longest_s = max(_Steps.longest_s, took)
            _Steps.long_count += took >= _Steps.LONG_S

    return timed_run


asyncio.Handle._run = _timed(asyncio.Handle._run)  # type: ignore[method-assign, assignment]  # the audit's one patch


def _load_target() -> Any:
    module_name, _, attribute = os.environ["ASGILAB_AUDIT_APP"].partition(":")
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


class AuditHost:
    def __init__(self) -> None:
        self.app = _load_target()
        self.calls: list[dict[str, Any]] = json.loads(os.environ.get("ASGILAB_AUDIT_CALLS", "[]"))
        self.scan = [name for name in os.environ.get("ASGILAB_AUDIT_SCAN", "").split(",") if name]
        self.blockbuster: Any = None
        self.blocking: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.tokens_max = 0
        self.tokens_total = 0
        self.sampler: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._start_sampler()
        path: str = scope["path"]
        if path.startswith(PREFIX):
            await self._own(path[len(PREFIX) :], scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _own(self, what: str, scope: Scope, receive: Receive, send: Send) -> None:
        if what.startswith("call/") and what[5:].isdigit() and int(what[5:]) < len(self.calls):
            await self._call(self.calls[int(what[5:])], scope, send)
        elif what == "canary":
            await _reply(send, 200, b"ok")
        elif what in ("blockbuster/on", "blockbuster/off"):
            self._blockbuster(what.endswith("on"))
            await _reply(send, 200, b"ok")
        elif what == "report":
            await _reply(send, 200, json.dumps(self._report()).encode(), b"application/json")
        else:
            await _reply(send, 404, b"unknown audit path")

    async def _call(self, call: dict[str, Any], scope: Scope, send: Send) -> None:
        body = call.get("body", "").encode()
        headers = [(k.lower().encode(), v.encode()) for k, v in call.get("headers", {}).items()]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        inner = dict(scope, method=call["method"], path=call["path"], raw_path=call["path"].encode())
        inner.update(query_string=call.get("query", "").encode(), headers=headers)
        sent = False

        async def body_once() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # as a server does: no more body, wait for a disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(inner, body_once, tracking_send)
        except Exception as exc:
            self._record_error(exc)
            if not started:
                await _reply(send, 500, f"{type(exc).__name__}: {exc}".encode())

    def _record_error(self, exc: BaseException) -> None:
        blocking = _blocking_error(exc)
        if blocking is not None:  # raised, or wrapped by a library (httpx's sync client makes it a ConnectError)
            outer = traceback.extract_tb(exc.__traceback__) if blocking is not exc else []
            frames = [*outer, *traceback.extract_tb(blocking.__traceback__)]
            stack = [{"function": f.name, "file": f.filename, "line": f.lineno} for f in frames]
            self.blocking.append({"call": str(blocking).removeprefix("Blocking call to "), "stack": stack})
        else:
            first = (str(exc).splitlines() or [""])[0]
            self.errors.append(f"{type(exc).__name__}: {first}".rstrip(": "))

    def _blockbuster(self, on: bool) -> None:
        if on and self.blockbuster is None:
            from blockbuster import BlockBuster

            self.blockbuster = BlockBuster(scanned_modules=self.scan or None)
            self.blockbuster.activate()
        elif not on and self.blockbuster is not None:
            self.blockbuster.deactivate()
            self.blockbuster = None

    def _start_sampler(self) -> None:
        if self.sampler is None or self.sampler.done():
            self.sampler = asyncio.get_running_loop().create_task(self._sample_tokens())

    async def _sample_tokens(self) -> None:
        limiter = anyio.to_thread.current_default_thread_limiter()
        while True:
            self.tokens_total = int(limiter.total_tokens)
            self.tokens_max = max(self.tokens_max, limiter.borrowed_tokens)
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    def _report(self) -> dict[str, Any]:
        report = {
            "blocking": self.blocking,
            "errors": self.errors,
            "tokens_max": self.tokens_max,
            "tokens_total": self.tokens_total,
            "longest_step_s": _Steps.longest_s,
            "long_steps": _Steps.long_count,
        }
        self.blocking, self.errors, self.tokens_max = [], [], 0
        _Steps.longest_s, _Steps.long_count = 0.0, 0
        return report


async def _reply(send: Send, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = AuditHost()


def _blocking_error(exc: BaseException) -> BaseException | None:
    """blockbuster's error: ``exc`` itself, or the one it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if type(current).__name__ == "BlockingError":
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
