"""Checks for lab 01, from WSGI to ASGI.

    from asgilab.checks import lab01 as check
    check.step1("lab01_hello_app:app")   # a raw ASGI callable answers GET /hello with JSON
    check.step2("lab01_wait_app:app")    # /wait?ms= waits without blocking: 50 requests overlap
    check.step3("lab01_ws_app:app")      # /ws/echo echoes WebSocket messages
    check.hint(2)

Each step serves the learner's module live with uvicorn, measures it, and returns `Feedback`
(or raises `CheckFailed` with what to look at).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from asgilab.checks import (
    CheckFailed,
    Criterion,
    Feedback,
    app_error,
    hints,
    not_started,
    verdict,
)
from asgilab.load import load_sync
from asgilab.server import Server, ServerError, serve

__all__ = ["CheckFailed", "hint", "step1", "step2", "step3"]

HTTP_TIMEOUT_S = 5.0
WAIT_MS, WAIT_REQUESTS = 100, 50
WS_MESSAGES = ["hello", "ASGI", "你好 👋"]
WS_CLIENTS = 20
WS_TIMEOUT_S = 5.0

_HINTS = {
    1: (
        "An ASGI app is `async def app(scope, receive, send)`. For an HTTP request, check\n"
        "`scope['path']`, then await two messages:\n"
        "    await send({'type': 'http.response.start', 'status': 200,\n"
        "                'headers': [(b'content-type', b'application/json')]})\n"
        "    await send({'type': 'http.response.body', 'body': json.dumps({...}).encode()})\n"
        "Headers are (name, value) pairs of *bytes*; the body is bytes too. Any other path: status 404."
    ),
    2: (
        "`time.sleep` inside `async def` freezes the event loop: every other request waits. Use\n"
        "`await asyncio.sleep(ms / 1000)`, which hands the loop back while waiting, so 50 waits overlap."
    ),
    3: (
        "Declare `@app.websocket('/ws/echo')` with a `websocket: WebSocket` parameter. First\n"
        "`await websocket.accept()`, then loop: `text = await websocket.receive_text()` and\n"
        "`await websocket.send_text(text)`. When the client leaves, `receive_text` raises\n"
        "`WebSocketDisconnect`: catch it and return."
    ),
}


def hint(step: int) -> str:
    """A hint for ``step`` (1, 2 or 3)."""
    return hints(_HINTS, step)


# -- helpers ------------------------------------------------------------------------------
def _with_error(measured: str, server: Server) -> str:
    error = app_error(server)
    return f"{measured}; the server logged: {error}" if error else measured


# -- step 1 -------------------------------------------------------------------------------
def step1(app: str = "lab01_hello_app:app", app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """A raw ASGI callable answers GET /hello: status 200, JSON content-type, {"message": "hello"}."""
    import httpx

    title = "Step 1: a raw ASGI app answers GET /hello with JSON"
    try:
        with serve(app, app_dir=app_dir) as server:
            try:
                with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT_S, trust_env=False) as client:
                    hello = client.get("/hello")
                    other = client.get("/no-such-page")
            except httpx.HTTPError as exc:
                return verdict(
                    Feedback(
                        title,
                        [
                            Criterion(
                                False,
                                "GET /hello gets an answer",
                                _with_error(f"{type(exc).__name__}: {exc}", server),
                                "the request got no complete response: does every path send http.response.start and then"
                                " http.response.body?",
                            )
                        ],
                    )
                )
            error_note = app_error(server)
    except ServerError as exc:
        return verdict(Feedback(title, [not_started(app, exc)]))

    content_type = hello.headers.get("content-type", "(none)")
    try:
        body: Any = hello.json()
    except ValueError:
        body = None
    status_measured = f"status {hello.status_code}"
    if hello.status_code >= 500 and error_note:
        status_measured += f"; the server logged: {error_note}"
    criteria = [
        Criterion(
            hello.status_code == 200,
            "GET /hello answers status 200",
            status_measured,
            "a 500 means your app raised an exception (see what the server logged); send"
            " {'type': 'http.response.start', 'status': 200, ...} for the path '/hello'",
        ),
        Criterion(
            content_type.split(";")[0].strip().lower() == "application/json",
            "its content-type is application/json",
            f"content-type: {content_type}",
            "add the header (b'content-type', b'application/json') to http.response.start; names and values are bytes",
        ),
        Criterion(
            body == {"message": "hello"},
            'its body is the JSON {"message": "hello"}',
            f"body: {hello.text[:120]!r}",
            "send json.dumps({'message': 'hello'}).encode() as the body of http.response.body",
        ),
        Criterion(
            other.status_code == 404,
            "any other path answers 404",
            f"GET /no-such-page: status {other.status_code}",
            "look at scope['path']: only '/hello' is found; answer other paths with status 404",
        ),
    ]
    return verdict(Feedback(title, criteria))


# -- step 2 -------------------------------------------------------------------------------
def step2(app: str = "lab01_wait_app:app", app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """/wait?ms=100 waits without blocking: 50 concurrent requests overlap."""
    title = f"Step 2: {WAIT_REQUESTS} concurrent requests to /wait?ms={WAIT_MS} overlap"
    try:
        with serve(app, app_dir=app_dir) as server:
            run = load_sync(
                server.url + f"/wait?ms={WAIT_MS}",
                requests=WAIT_REQUESTS,
                concurrency=WAIT_REQUESTS,
                timeout=15,
                deadline=30,
                label="/wait",
            )
            error_note = app_error(server)
    except ServerError as exc:
        return verdict(Feedback(title, [not_started(app, exc)]))

    serial_s = WAIT_REQUESTS * WAIT_MS / 1000
    at_once = run.served_at_once(WAIT_MS / 1000) if run.ok == WAIT_REQUESTS else 0.0
    ok_measured = f"{run.ok}/{WAIT_REQUESTS} ok" + (f", errors {run.error_kinds}" if run.errors else "")
    if run.errors and error_note:
        ok_measured += f"; the server logged: {error_note}"
    criteria = [
        Criterion(
            run.ok == WAIT_REQUESTS,
            f"all {WAIT_REQUESTS} requests answered with status 200",
            ok_measured,
            "is the route @app.get('/wait') with a parameter `ms: int`? Does the handler raise?",
        ),
        Criterion(
            run.ok > 0 and run.p50_s >= 0.9 * WAIT_MS / 1000,
            f"each request really waits {WAIT_MS} ms",
            f"median latency {run.p50_s * 1000:.0f} ms" if run.ok else "no successful request",
            "the handler must wait `ms` milliseconds before answering (the check sends ms=100)",
        ),
        Criterion(
            run.ok == WAIT_REQUESTS and run.wall_s < 0.5 * serial_s,
            f"the requests overlap: wall time under half of the {serial_s:.1f} s they take one after another",
            f"wall {run.wall_s:.2f} s",
            "the requests were served one after another: look for a blocking call such as time.sleep"
            " inside an `async def` handler, and await asyncio.sleep instead",
        ),
        Criterion(
            at_once >= 0.2 * WAIT_REQUESTS,
            f"at least {WAIT_REQUESTS // 5} of {WAIT_REQUESTS} served at once",
            f"about {at_once:.1f} served at once ({serial_s:.1f} s of waiting done in {run.wall_s:.2f} s)",
            "about 1 at a time means the event loop was blocked while each request waited",
        ),
    ]
    return verdict(Feedback(title, criteria, [run]))


# -- step 3 -------------------------------------------------------------------------------
def _ws_echo(url: str, server: Server) -> list[Criterion]:
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    options = {"open_timeout": WS_TIMEOUT_S, "close_timeout": 2, "proxy": None}
    accepted = Criterion(True, "the WebSocket handshake to /ws/echo is accepted", "accepted (HTTP 101)")
    try:
        with connect(url, **options) as ws:
            received = []
            try:
                for text in WS_MESSAGES:
                    ws.send(text)
                    received.append(ws.recv(timeout=WS_TIMEOUT_S))
                echo_measured = f"sent {WS_MESSAGES}, received {received}"
            except (TimeoutError, WebSocketException) as exc:
                echo_measured = _with_error(
                    f"sent {WS_MESSAGES}, received {received} then {type(exc).__name__}: {exc}", server
                )
    except InvalidStatus as exc:
        return [
            Criterion(
                False,
                accepted.what,
                _with_error(f"refused: HTTP {exc.response.status_code}", server),
                "is the route declared with @app.websocket('/ws/echo')? The handler must"
                " `await websocket.accept()` before anything else (403 or 404: no such WebSocket route;"
                " 500: the handler raised)",
            )
        ]
    except (OSError, TimeoutError, WebSocketException) as exc:
        return [
            Criterion(
                False,
                accepted.what,
                _with_error(f"{type(exc).__name__}: {exc}", server),
                "does the handler call `await websocket.accept()`?",
            )
        ]
    echoed = Criterion(
        received == WS_MESSAGES,
        f"{len(WS_MESSAGES)} messages on one connection are echoed in order",
        echo_measured,
        "keep the connection open and loop: receive_text() then send_text() of the same text;"
        " a handler that answers once and returns closes the connection",
    )

    sockets: list[Any] = []
    replies: list[Any] = []
    try:
        with contextlib.ExitStack() as stack:  # closes every connection it opened, whatever happens
            for _ in range(WS_CLIENTS):
                sockets.append(stack.enter_context(connect(url, **options)))
            for i, ws in enumerate(sockets):
                ws.send(f"client {i}")
            for ws in sockets:
                replies.append(ws.recv(timeout=WS_TIMEOUT_S))
        many_measured = f"{sum(r == f'client {i}' for i, r in enumerate(replies))}/{WS_CLIENTS} echoed"
    except (OSError, TimeoutError, WebSocketException) as exc:
        many_measured = _with_error(f"{len(sockets)} opened, {len(replies)} echoed, then {type(exc).__name__}", server)
    many = Criterion(
        replies == [f"client {i}" for i in range(WS_CLIENTS)],
        f"{WS_CLIENTS} connections open at once each get their own echo",
        many_measured,
        "each connection needs its own handler call; avoid anything blocking or shared between connections",
    )
    return [accepted, echoed, many]


def step3(app: str = "lab01_ws_app:app", app_dir: str | os.PathLike[str] | None = None) -> Feedback:
    """/ws/echo accepts WebSocket connections and echoes every text message."""
    title = "Step 3: a WebSocket endpoint /ws/echo echoes messages"
    try:
        with serve(app, app_dir=app_dir) as server:
            criteria = _ws_echo(server.url.replace("http://", "ws://") + "/ws/echo", server)
    except ServerError as exc:
        return verdict(Feedback(title, [not_started(app, exc)]))
    return verdict(Feedback(title, criteria))
