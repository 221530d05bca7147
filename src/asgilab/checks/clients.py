"""Client-side measurements a step takes of a served app: one GET, a streamed body line by line,
WebSocket echoes. Each returns plain data (errors as text), for a pure ``judge_stepN``."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "Streamed", "Echo", "get", "stream_lines", "ws_echo", "ws_many"]

TIMEOUT_S = 5.0


@dataclass
class Reply:
    """One HTTP exchange: status None and ``error`` set when no complete response came."""

    status: int | None
    content_type: str = "(none)"
    text: str = ""
    error: str = ""

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@dataclass
class Streamed(Reply):
    """A streamed response: its lines and when each arrived (seconds after the request was sent)."""

    lines: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)


@dataclass
class Echo:
    """A WebSocket session: ``refused`` is "" when the handshake was accepted."""

    refused: str
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    error: str = ""


def _client() -> Any:
    import httpx

    return httpx.Client(timeout=TIMEOUT_S, trust_env=False)


def get(url: str) -> Reply:
    """GET ``url`` once."""
    import httpx

    try:
        with _client() as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return Reply(None, error=f"{type(exc).__name__}: {exc}")
    return Reply(response.status_code, response.headers.get("content-type", "(none)"), response.text)


def stream_lines(url: str) -> Streamed:
    """GET ``url`` and read its body line by line as it arrives."""
    import httpx

    got = Streamed(None)
    start = time.perf_counter()
    try:
        with _client() as client, client.stream("GET", url) as response:
            got.status, got.content_type = response.status_code, response.headers.get("content-type", "(none)")
            for line in response.iter_lines():
                got.lines.append(line)
                got.arrivals.append(time.perf_counter() - start)
    except httpx.HTTPError as exc:
        got.error = f"{type(exc).__name__}: {exc}"
    got.text = "\n".join(got.lines)
    return got


def ws_echo(url: str, messages: list[str]) -> Echo:
    """Open one WebSocket to ``url``, send ``messages`` one by one, and note each reply."""
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    echo = Echo("", list(messages))
    try:
        with connect(url, open_timeout=TIMEOUT_S, close_timeout=2, proxy=None) as ws:
            try:
                for text in messages:
                    ws.send(text)
                    echo.received.append(str(ws.recv(timeout=TIMEOUT_S)))
            except (TimeoutError, WebSocketException) as exc:
                echo.error = f"{type(exc).__name__}: {exc}"
    except InvalidStatus as exc:
        echo.refused = f"HTTP {exc.response.status_code}"
    except (OSError, TimeoutError, WebSocketException) as exc:
        echo.refused = f"{type(exc).__name__}: {exc}"
    return echo


def ws_many(url: str, clients: int) -> tuple[list[str], str]:
    """Open ``clients`` WebSockets at once, send "client i" on each, then read one reply from each;
    return the replies and an error ("" if none)."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    replies: list[str] = []
    opened = 0
    try:
        with contextlib.ExitStack() as stack:  # closes every connection it opened, whatever happens
            sockets = []
            for _ in range(clients):
                sockets.append(stack.enter_context(connect(url, open_timeout=TIMEOUT_S, close_timeout=2, proxy=None)))
                opened += 1
            for i, ws in enumerate(sockets):
                ws.send(f"client {i}")
            for ws in sockets:  # one by one, so a failure keeps the replies already read
                replies.append(str(ws.recv(timeout=TIMEOUT_S)))
    except (OSError, TimeoutError, WebSocketException) as exc:
        return replies, f"{opened} opened, {len(replies)} echoed, then {type(exc).__name__}"
    return replies, ""
