"""Lab 01's words: each step's title, the hint ladder, and the failure advice its checks give (the
symptom and where to look, never the fix), kept apart from the measuring and judging in
`asgilab.checks.lab01`. Prose is marked with ``N_`` for the translation catalog and translated where it
is shown (`title`, `look`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _f

__all__ = ["GAP_S", "HINTS", "LOOK", "PART_GAP_S", "TITLES", "WAIT_MS", "WAIT_REQUESTS", "look", "title"]

WAIT_MS, WAIT_REQUESTS, GAP_S = 100, 50, 0.1  # GAP_S: step 4's pause between lines
PART_GAP_S = 0.03  # step 1: between two parts of a body
TITLES = {
    1: N_("Step 1: a raw ASGI app counts a request body, sent in one piece or in parts"),
    2: N_("Step 2: {requests} concurrent requests to /wait?ms={ms} overlap"),
    3: N_("Step 3: a WebSocket endpoint /ws/echo echoes messages"),
    4: N_("Step 4: a raw ASGI app streams /count line by line"),
}
# fmt: off
HINTS = Hints("lab01_wsgi_to_asgi.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("Look at what `receive()` returns during an HTTP request: one `http.request` message holds one piece of the body, and one of its keys says whether more follow."),
        N_("`message = await receive()`; `message.get('body', b'')` and `message.get('more_body', False)` (the ASGI spec's HTTP request message); `body.split()` counts the words once the body is whole."),
        "body = b''\nwhile True:\n    message = await receive()\n    body += message.get('body', b'')\n    if not message.get('more_body'):\n        break\nreply = json.dumps({'bytes': len(body), 'words': len(body.split())}).encode()"),
    2: (N_("Look at the wait inside `async def wait`: while one request waits, can the event loop serve any other?"),
        N_("`asyncio.sleep`, awaited, hands the loop back while it waits; `time.sleep` holds it."),
        "await asyncio.sleep(ms / 1000)"),
    3: (N_("Look at the route and at the handler's first and last lines: a WebSocket is accepted first, then kept open until the client leaves."),
        N_("`@app.websocket('/ws/echo')`, `await websocket.accept()`, `receive_text()`, `send_text()`, `WebSocketDisconnect`."),
        "await websocket.accept()\ntry:\n    while True:\n        await websocket.send_text(await websocket.receive_text())\nexcept WebSocketDisconnect:\n    pass"),
    4: (N_("Look at how many `http.response.body` messages one response may take, and where `scope` keeps the query string (bytes)."),
        N_("`'more_body': True` on every body message but the last; `urllib.parse.parse_qs(scope['query_string'].decode())`; `await asyncio.sleep(0.1)` between lines."),
        "for i in range(1, n + 1):\n    await send({'type': 'http.response.body', 'body': f'{i}\\n'.encode(), 'more_body': i < n})\n    if i < n:\n        await asyncio.sleep(0.1)"),
})
# fmt: on

LOOK = {  # where each failed criterion sends the learner to look: the symptom, never the fix
    "status": N_(
        "a 500 or no response means your app raised (see what the server logged); look at the messages it sends for POST /words."
    ),
    "type": N_("look at the headers of your http.response.start message (names and values are bytes)."),
    "one": N_("look at what your app counts: the bytes of the body, and its words split on whitespace, as JSON."),
    "first part": N_(
        "your app counted the first part only: the body came in {n} `http.request` messages. Look at how many your app reads."
    ),
    "per part": N_(
        "the bytes are right, the words are not: {extra} more, one per place a word was cut between two parts. Look at when your app counts the words."
    ),
    "parts": N_(
        "the body came in {n} `http.request` messages, {gap:g} s apart: look at how your app puts them together."
    ),
    "route": N_("look at the route (@app.get('/wait') with a parameter `ms: int`) and at what the server logged."),
    "wait": N_("look at how long the handler waits: the check sends ms=100."),
    "overlap": N_(
        "the requests were served (nearly) one after another: look for a blocking call such as time.sleep inside the `async def` handler."
    ),
    "refused": N_(
        "403 or 404: no WebSocket route answered /ws/echo; 500: the handler raised before accepting. Look at the route's path and at what the handler does first."
    ),
    "echo": N_(
        "the connection ended or fell silent: look at whether the handler keeps answering until the client leaves."
    ),
    "many": N_("look for anything in the handler that blocks, or that connections share."),
    "lines": N_("look at how your app reads n from the query string (bytes), and at the text of each line."),
    "gap": N_("the lines came faster than one per 100 ms: look at what your app does between two lines."),
    "ready": N_("the lines arrived all together at the end: look at how many body messages your app sends, and when."),
    "untimed": N_("not the lines asked for, so their timing says nothing yet: see the line above."),
}


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _f(TITLES[step], requests=WAIT_REQUESTS, ms=WAIT_MS)


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], **figures)
