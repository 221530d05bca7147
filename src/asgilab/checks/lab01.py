"""Checks for lab 01, from WSGI to ASGI.

from asgilab.checks import lab01 as check
check.step1("lab01_hello_app:app")   # a raw ASGI callable reads POST /words's body, in one piece and in parts
check.step2("lab01_wait_app:app")    # /wait?ms= waits without blocking: 50 requests overlap
check.step3("lab01_ws_app:app")      # /ws/echo echoes WebSocket messages
check.step4("lab01_stream_app:app")  # a raw ASGI app streams /count?n= line by line (transfer)
check.hint(2), check.hint(2, level=2), check.solution(2)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from asgilab.checks import AppDir, Criterion, Hints, logged, make_step, ms, served
from asgilab.checks.clients import Echo, Reply, Streamed, stream_lines, ws_echo, ws_many
from asgilab.checks.criteria import all_answered, served_together, waits_at_least
from asgilab.checks.uploads import body_in_parts, counts, miscount, post_parts
from asgilab.load import load_sync
from asgilab.results import Run

__all__ = ["hint", "solution", "step1", "step2", "step3", "step4"]

WAIT_MS, WAIT_REQUESTS, GAP_S = 100, 50, 0.1  # GAP_S: step 4's pause between lines
PART_GAP_S = 0.03  # step 1: between two parts of a body
WS_MESSAGES, WS_CLIENTS = ["hello", "ASGI", "你好 👋"], 20
TITLES = {
    1: "Step 1: a raw ASGI app counts a request body, sent in one piece or in parts",
    2: f"Step 2: {WAIT_REQUESTS} concurrent requests to /wait?ms={WAIT_MS} overlap",
    3: "Step 3: a WebSocket endpoint /ws/echo echoes messages",
    4: "Step 4: a raw ASGI app streams /count line by line",
}
# fmt: off
HINTS = Hints("lab01_wsgi_to_asgi.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: ("Look at what `receive()` returns during an HTTP request: one `http.request` message holds one piece of the body, and one of its keys says whether more follow.",
        "`message = await receive()`; `message.get('body', b'')` and `message.get('more_body', False)` (the ASGI spec's HTTP request message); `body.split()` counts the words once the body is whole.",
        "body = b''\nwhile True:\n    message = await receive()\n    body += message.get('body', b'')\n    if not message.get('more_body'):\n        break\nreply = json.dumps({'bytes': len(body), 'words': len(body.split())}).encode()"),
    2: ("Look at the wait inside `async def wait`: while one request waits, can the event loop serve any other?",
        "`asyncio.sleep`, awaited, hands the loop back while it waits; `time.sleep` holds it.",
        "await asyncio.sleep(ms / 1000)"),
    3: ("Look at the route and at the handler's first and last lines: a WebSocket is accepted first, then kept open until the client leaves.",
        "`@app.websocket('/ws/echo')`, `await websocket.accept()`, `receive_text()`, `send_text()`, `WebSocketDisconnect`.",
        "await websocket.accept()\ntry:\n    while True:\n        await websocket.send_text(await websocket.receive_text())\nexcept WebSocketDisconnect:\n    pass"),
    4: ("Look at how many `http.response.body` messages one response may take, and where `scope` keeps the query string (bytes).",
        "`'more_body': True` on every body message but the last; `urllib.parse.parse_qs(scope['query_string'].decode())`; `await asyncio.sleep(0.1)` between lines.",
        "for i in range(1, n + 1):\n    await send({'type': 'http.response.body', 'body': f'{i}\\n'.encode(), 'more_body': i < n})\n    if i < n:\n        await asyncio.sleep(0.1)"),
})
# fmt: on
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)

LOOK = {  # where each failed criterion sends the learner to look: the symptom, never the fix
    "status": "a 500 or no response means your app raised (see what the server logged); look at the messages it sends for POST /words.",
    "type": "look at the headers of your http.response.start message (names and values are bytes).",
    "one": "look at what your app counts: the bytes of the body, and its words split on whitespace, as JSON.",
    "first part": "your app counted the first part only: the body came in {n} `http.request` messages. Look at how many your app reads.",
    "per part": "the bytes are right, the words are not: {extra} more, one per place a word was cut between two parts. Look at when your app counts the words.",
    "parts": "the body came in {n} `http.request` messages, {gap:g} s apart: look at how your app puts them together.",
    "route": "look at the route (@app.get('/wait') with a parameter `ms: int`) and at what the server logged.",
    "wait": "look at how long the handler waits: the check sends ms=100.",
    "overlap": "the requests were served (nearly) one after another: look for a blocking call such as time.sleep inside the `async def` handler.",
    "refused": "403 or 404: no WebSocket route answered /ws/echo; 500: the handler raised before accepting. Look at the route's path and at what the handler does first.",
    "echo": "the connection ended or fell silent: look at whether the handler keeps answering until the client leaves.",
    "many": "look for anything in the handler that blocks, or that connections share.",
    "lines": "look at how your app reads n from the query string (bytes), and at the text of each line.",
    "gap": "the lines came faster than one per 100 ms: look at what your app does between two lines.",
    "ready": "the lines arrived all together at the end: look at how many body messages your app sends, and when.",
    "untimed": "not the lines asked for, so their timing says nothing yet: see the line above.",
}


@dataclass
class Counted:  # step 1: POST /words with a body in one piece, then one in parts (each with the reply)
    one: tuple[list[bytes], Reply]
    parts: tuple[list[bytes], Reply]
    logs: str


def measure_step1(app: str, app_dir: AppDir = None) -> Counted:
    """POST /words twice: a body in one piece, then one in 3 to 5 parts cut inside words."""
    one, parts = [b"".join(body_in_parts(2))], body_in_parts(random.randint(3, 5))
    with served(TITLES[1], app, app_dir, step=1) as server:
        sent = [(body, post_parts(server.url + "/words", body, PART_GAP_S)) for body in (one, parts)]
    return Counted(sent[0], sent[1], server.logs())


def _counted(sent: tuple[list[bytes], Reply]) -> tuple[bool, str, str]:
    """Whether the reply counted the body, what it said, and the advice on the shape of a wrong count."""
    (parts, reply), n = sent, len(sent[0])
    got, wrong = reply.json(), miscount(parts, reply.json())
    said = f"sent {counts(b''.join(parts))} in {n} part(s); {f'got {got}' if isinstance(got, dict) else 'no JSON back'}"
    look = LOOK[wrong if wrong in ("first part", "per part") else "parts" if n > 1 else "one"]
    return not wrong, said, look.format(n=n, gap=PART_GAP_S, extra=n - 1)


def judge_step1(m: Counted) -> list[Criterion]:
    """Status 200 and JSON; both bodies counted (bytes and words)."""
    r = m.one[1]
    status = f"status {r.status}" if r.status else f"no complete response: {r.error}"
    is_json = r.content_type.split(";")[0].strip().lower() == "application/json"
    (one_ok, one, one_look), (parts_ok, parts, parts_look) = _counted(m.one), _counted(m.parts)
    return [
        Criterion(r.status == 200, "POST /words answers status 200", logged(status, m.logs), LOOK["status"]),
        Criterion(is_json, "its content-type is application/json", f"content-type: {r.content_type}", LOOK["type"]),
        Criterion(one_ok, "a body sent in one piece is counted: its bytes and words", one, one_look),
        Criterion(parts_ok, "a body sent in parts, cut inside words, is counted whole", parts, parts_look),
    ]


@dataclass
class Waits:  # Step 2: 50 requests to /wait?ms=100, all at once.
    run: Run
    logs: str


def measure_step2(app: str, app_dir: AppDir = None) -> Waits:
    """50 concurrent requests to /wait?ms=100."""
    with served(TITLES[2], app, app_dir, step=2) as server:
        url = server.url + f"/wait?ms={WAIT_MS}"
        run = load_sync(url, WAIT_REQUESTS, WAIT_REQUESTS, timeout=15, deadline=30, label="/wait")
    return Waits(run, server.logs())


def judge_step2(m: Waits) -> list[Criterion]:
    """Every request answered, each waits 100 ms, and at least 10 are served at once."""
    return [
        all_answered(m.run, f"all {WAIT_REQUESTS} requests answered with status 200", m.logs, LOOK["route"]),
        waits_at_least(m.run, WAIT_MS / 1000, LOOK["wait"]),
        served_together(m.run, WAIT_MS / 1000, WAIT_REQUESTS / 5, LOOK["overlap"]),
    ]


@dataclass
class Echoes:  # Step 3: three messages on one WebSocket; the replies on 20 opened at once.
    echo: Echo
    many: tuple[list[str], str]  # the replies, and an error ("" if none)
    logs: str


def measure_step3(app: str, app_dir: AppDir = None) -> Echoes:
    """Three messages on one WebSocket, then 20 WebSockets at once."""
    with served(TITLES[3], app, app_dir, step=3) as server:
        url = server.url.replace("http://", "ws://") + "/ws/echo"
        echo = ws_echo(url, WS_MESSAGES)
        many = ws_many(url, WS_CLIENTS) if not echo.refused else ([], "not tried")
    return Echoes(echo, many, server.logs())


def judge_step3(m: Echoes) -> list[Criterion]:
    """The handshake is accepted; messages come back in order; 20 connections each get theirs."""
    e = m.echo
    accepted = logged(f"refused: {e.refused}", m.logs) if e.refused else "accepted (HTTP 101)"
    echoed = f"sent {e.sent}, received {e.received}" + (logged(f" then {e.error}", m.logs) if e.error else "")
    got = sum(reply == f"client {i}" for i, reply in enumerate(m.many[0]))
    many = f"{got}/{WS_CLIENTS} echoed" + (f" ({m.many[1]})" if m.many[1] else "")
    in_order, at_once = f"{len(WS_MESSAGES)} messages echoed in order", f"{WS_CLIENTS} connections at once each echoed"
    return [
        Criterion(not e.refused, "the WebSocket handshake to /ws/echo is accepted", accepted, LOOK["refused"]),
        Criterion(e.received == WS_MESSAGES, in_order, echoed, LOOK["echo"]),
        Criterion(got == WS_CLIENTS, at_once, many, LOOK["many"]),
    ]


@dataclass
class Counting:  # Step 4: GET /count?n=N (N from 4 to 6, so that n is read), each line timed as it arrived.
    n: int
    stream: Streamed
    logs: str


def measure_step4(app: str, app_dir: AppDir = None) -> Counting:
    """One /count?n=N, read line by line."""
    n = random.randint(4, 6)
    with served(TITLES[4], app, app_dir, step=4) as server:
        return Counting(n, stream_lines(server.url + f"/count?n={n}"), server.logs())


def judge_step4(m: Counting) -> list[Criterion]:
    """The lines 1..n, 100 ms apart, each sent as it is ready."""
    s, want, slowest = m.stream, [str(i) for i in range(1, m.n + 1)], 0.9 * (m.n - 1) * GAP_S
    first, last = (s.arrivals[0], s.arrivals[-1]) if len(s.arrivals) == m.n else (float("nan"),) * 2
    timing = f"{len(s.arrivals)} lines; the first after {ms(first)}, the last after {ms(last)}"
    logs = "" if s.status == 200 and s.lines == want else m.logs  # what the server logged, when it went wrong
    answer = logged(f"{f'status {s.status}' if s.status else s.error}, lines {s.lines[:8]}", logs)
    lines_ok = f"GET /count?n={m.n} answers 200 with the lines 1 to {m.n}"
    look = (LOOK["gap"], LOOK["ready"]) if len(s.arrivals) == m.n else (LOOK["untimed"],) * 2
    return [
        Criterion(s.status == 200 and s.lines == want, lines_ok, answer, LOOK["lines"]),
        Criterion(last >= slowest, f"about {ms(GAP_S)} between lines (at least {ms(slowest)} in all)", timing, look[0]),
        Criterion(first < 0.5 * last, "lines sent when ready: the first arrives in the first half", timing, look[1]),
    ]


step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab01_hello_app:app")
step2 = make_step(2, TITLES[2], measure_step2, judge_step2, "lab01_wait_app:app")
step3 = make_step(3, TITLES[3], measure_step3, judge_step3, "lab01_ws_app:app")
step4 = make_step(4, TITLES[4], measure_step4, judge_step4, "lab01_stream_app:app")
