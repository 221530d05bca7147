"""The client side of ``load(..., stream=True)``: one server-sent-event stream per request, timed event by event.

    run = await load(url, 50, 50, stream=True, body=chat_body(32), leave_after=3)
    run.ttft_p50_s, run.itl_p99_s, run.tpot_mean_s, run.left

- ``body`` is POSTed as JSON (`chat_body` makes a chat-completion one; without it, a GET).
- ``leave_after=3`` leaves each stream after 3 tokens, ``leave_after=0.5`` after 0.5 s: the client
  closes its connection, as a user who closes the tab; the record says ``left``. After 0.5 s it
  leaves even an answer that has not begun (no headers yet): that record has no status and the
  error ``"left before the answer began"``, so it counts as failed.
- A stream with no event for ``stall_timeout`` seconds (default: ``timeout``) is ended and counted as
  ``"stalled"``; an answer that is not ``text/event-stream`` as ``"not an event stream"``, and a run
  where every answer was one raises a `ValueError` that says so.

A *token event* is a ``data:`` line that carries something: not ``[DONE]``, and for an OpenAI-style
chunk one whose ``delta`` (or ``text``) has content, so the role-only chunk a server sends before
its prefill does not count as the first token. Times are ``time.perf_counter()`` values; `load`
makes them relative to its run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["StreamAnswer", "aiohttp_streams", "is_token_event", "chat_body", "NOT_A_STREAM"]

NOT_A_STREAM = "not an event stream"
LEFT_BEFORE_ANSWER = "left before the answer began"


@dataclass(frozen=True)
class StreamAnswer:
    status: int | None
    first_byte: float | None = None
    token_times: tuple[float, ...] = ()
    left: bool = False  # the client left on purpose (``leave_after``)
    error: str | None = None  # "stalled", LEFT_BEFORE_ANSWER, or NOT_A_STREAM plus the content type


StreamSend = Callable[[str], Awaitable[StreamAnswer]]


def chat_body(max_tokens: int = 16, prompt: str = "Hello") -> dict[str, Any]:
    """A streaming chat-completion request body, as the OpenAI SDK sends it."""
    return {
        "model": "course-model",
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "max_tokens": max_tokens,
    }


def is_token_event(data: str) -> bool:
    if data == "[DONE]":
        return False
    try:
        chunk = json.loads(data)
    except ValueError:
        return bool(data)  # any other non-empty event counts
    if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
        return True
    for choice in chunk["choices"]:
        if isinstance(choice, dict) and ((choice.get("delta") or {}).get("content") or choice.get("text")):
            return True
    return False


def _should_leave(leave_after: float | int | None, started: float, tokens: int) -> bool:
    if leave_after is None:
        return False
    if isinstance(leave_after, int):
        return tokens >= leave_after  # an int counts token events
    return time.perf_counter() - started >= leave_after  # a float counts seconds


@asynccontextmanager
async def aiohttp_streams(
    connections: int,
    ssl: Any,
    body: dict[str, Any] | None,
    leave_after: float | int | None,
    stall_timeout: float,
) -> AsyncIterator[StreamSend]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, ssl=ssl)
    headers = {"Accept": "text/event-stream"}
    async with aiohttp.ClientSession(connector=connector, trust_env=False, headers=headers) as session:

        async def send(url: str) -> StreamAnswer:
            started = time.perf_counter()
            request = session.post(url, json=body) if body is not None else session.get(url)
            # A client that leaves after some seconds leaves even if the answer has not begun (a gateway
            # that buffers sends its headers only with the whole answer).
            try:
                async with asyncio.timeout(leave_after if isinstance(leave_after, float) else None) as before_answer:
                    response = await request
            except TimeoutError:
                if not before_answer.expired():
                    raise
                return StreamAnswer(None, left=True, error=LEFT_BEFORE_ANSWER)
            async with response:
                kind = response.headers.get("Content-Type", "")
                if response.status >= 400:  # a refusal (503, 429...) is counted by its status
                    await response.read()
                    return StreamAnswer(response.status)
                if not kind.startswith("text/event-stream"):
                    await response.read()
                    return StreamAnswer(response.status, error=f"{NOT_A_STREAM} ({kind or 'no content type'})")
                return await _read(response, started, leave_after, stall_timeout)

        yield send


async def _read(response: Any, started: float, leave_after: float | int | None, stall_timeout: float) -> StreamAnswer:
    """Read one event stream to its end, a stall, or the moment ``leave_after`` says to leave."""
    first_byte: float | None = None
    token_times: list[float] = []
    while True:
        if _should_leave(leave_after, started, len(token_times)):
            response.close()  # drops the connection: the server sees its client leave
            return StreamAnswer(response.status, first_byte, tuple(token_times), left=True)
        wait, leaving = stall_timeout, False
        if isinstance(leave_after, float):
            remaining = started + leave_after - time.perf_counter()
            wait, leaving = min(wait, max(remaining, 0.0)), remaining < wait
        try:
            line = await asyncio.wait_for(response.content.readline(), wait)
        except TimeoutError:
            if leaving:  # the time to leave came first (the loop's timers may fire a hair early)
                response.close()
                return StreamAnswer(response.status, first_byte, tuple(token_times), left=True)
            response.close()
            return StreamAnswer(response.status, first_byte, tuple(token_times), error="stalled")
        now = time.perf_counter()
        if not line:
            return StreamAnswer(response.status, first_byte, tuple(token_times))
        first_byte = first_byte or now
        if line.startswith(b"data:") and is_token_event(line[5:].strip().decode("utf-8", "replace")):
            token_times.append(now)
