"""Lab 12's own stream client, for what ``load`` does not keep: each token's text, when the status
line came, ``Retry-After``, ``[DONE]``; and the model's counters once it has settled.

    with_streams(url, [chat_body(20)] * 10, gap_s=0.025)  # ten streams, 25 ms apart -> list[Stream]
    with_streams(url, [chat_body(30), chat_body(5), chat_body(5)], after_first_token=1)
    settle(model, 0.5)                              # the model's stats once nothing runs (or after 0.5 s)
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from asgilab.apps.llm import token_text
from asgilab.i18n import _f
from asgilab.llm import ModelServer, serve_model
from asgilab.load import run_sync

__all__ = [
    "PREFILL_S",
    "SETTLE_S",
    "STREAM_TIMEOUT_S",
    "TOKEN_S",
    "Stream",
    "expected",
    "model",
    "settle",
    "with_streams",
]

PREFILL_S, TOKEN_S = 0.1, 0.02  # every step's model: 100 ms to the first token, 20 ms a token after
STREAM_TIMEOUT_S, SETTLE_S = 5.0, 0.5  # one stream at most; the model stops what nobody reads within SETTLE_S


def expected(n: int) -> list[str]:
    """The tokens of a whole answer of ``n`` tokens, in order."""
    return [token_text(i) for i in range(n)]


@dataclass
class Stream:
    """One request, as its client saw it; times in seconds from sending it."""

    status: int | None = None
    headers_s: float = math.nan  # when the status line came
    retry_after: str | None = None
    tokens: list[str] = field(default_factory=list)
    token_s: list[float] = field(default_factory=list)
    done: bool = False  # ended with ``data: [DONE]``
    end_s: float = math.nan
    left: bool = False  # the client left on purpose
    error: str = ""
    odd: list[str] = field(default_factory=list)  # ``data:`` payloads that were not an event of the API

    @property
    def ttft(self) -> float:
        return self.token_s[0] if self.token_s else math.nan

    def whole(self, n: int) -> bool:
        """Answered 200 with the ``n`` tokens in order and ``[DONE]``."""
        return self.status == 200 and self.done and self.tokens == expected(n)


def _token(data: str, stream: Stream) -> str | None:
    try:
        choice = json.loads(data)["choices"][0]
        return (choice.get("delta") or {}).get("content") or choice.get("text") or None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        stream.odd.append(data[:120])
        return None


async def _read(response: Any, s: Stream, start: float, leave_after: int | None, first: asyncio.Event) -> None:
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            s.done = True
        elif (text := _token(data, s)) is not None:
            s.tokens.append(text)
            s.token_s.append(time.perf_counter() - start)
            first.set()
            if leave_after is not None and len(s.tokens) >= leave_after:
                s.left = True
                return  # leaving the block closes the connection: the gateway sees its client leave


async def _one(client: Any, url: str, body: dict[str, Any], leave_after: int | None, first: asyncio.Event) -> Stream:
    import httpx

    s, start = Stream(), time.perf_counter()
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S), client.stream("POST", url, json=body) as response:
            s.status, s.headers_s = response.status_code, time.perf_counter() - start
            s.retry_after = response.headers.get("retry-after")
            if response.status_code == 200:
                await _read(response, s, start, leave_after, first)
            else:
                await response.aread()
    except TimeoutError:
        s.error = _f("no end within {seconds:g} s", seconds=STREAM_TIMEOUT_S)
    except httpx.HTTPError as exc:
        s.error = type(exc).__name__
    finally:
        first.set()
        s.end_s = time.perf_counter() - start
    return s


async def _streams(
    url: str, bodies: list[dict[str, Any]], leave_after: int | None, after_first: int, gap_s: float
) -> list[Stream]:
    import httpx

    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=STREAM_TIMEOUT_S, trust_env=False) as client:

        async def one(i: int, first: asyncio.Event) -> Stream:
            await asyncio.sleep(i * gap_s)
            return await _one(client, url, bodies[i], leave_after, first)

        firsts = [asyncio.Event() for _ in bodies]
        early = [asyncio.create_task(one(i, firsts[i])) for i in range(after_first)]
        await asyncio.gather(*(e.wait() for e in firsts[:after_first]))  # their first token (or their end)
        later = [one(i, asyncio.Event()) for i in range(after_first, len(bodies))]
        return list(await asyncio.gather(*early, *later))


def with_streams(
    url: str,
    bodies: list[dict[str, Any]],
    leave_after: int | None = None,
    after_first_token: int = 0,
    gap_s: float = 0.0,
) -> list[Stream]:
    """POST each body to ``url`` as a stream, all at once (with ``gap_s``, the i-th i x gap_s seconds
    later); with ``after_first_token=k`` the first k go first and the others once each of those has
    its first token. Each stream is bounded by `STREAM_TIMEOUT_S`; ``leave_after=n`` leaves each
    stream after n tokens."""
    return run_sync(_streams(url, bodies, leave_after, after_first_token, gap_s))


def model(max_seqs: int, max_queue: int = 1000) -> ModelServer:
    """A step's model server (start it with ``with``): its slots are the step's, its delays every step's."""
    return serve_model(max_seqs, PREFILL_S * 1000, TOKEN_S * 1000, batch_slowdown=0, max_queue=max_queue)


def settle(model: ModelServer, seconds: float) -> tuple[dict[str, Any], float]:
    """The model's stats once no sequence runs or waits, or after ``seconds``; and how long that took."""
    start = time.perf_counter()
    while True:
        stats = model.stats()
        waited = time.perf_counter() - start
        if (stats["running"] == 0 and stats["waiting"] == 0) or waited >= seconds:
            return stats, waited
        time.sleep(0.02)
