"""Lab 12's words: step titles, the hint ladder and the failure advice (symptom, figure, where to
look; never the fix). Prose is marked with ``N_`` for the translation catalog and translated where it
is shown (`title`, `look`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.i18n import N_, _, _f

__all__ = ["LADDER", "LOOK", "TITLES", "look", "title"]

TITLES = {
    1: N_("Step 1: the gateway streams the model's answer through, over one shared client"),
    2: N_("Step 2: a client that leaves stops the model"),
    3: N_("Step 3: the gateway admits only the streams the model can run, and refuses the rest at once"),
    4: N_("Step 4: no first token within 300 ms is a 504, and the model stops"),
}
# fmt: off
LADDER = {
    1: (N_("Look at chat(): it waits for the model's whole answer (`client.post` returns once the last token is in) before it returns anything, and it opens a client, with new connections, for every request."),
        N_("A StreamingResponse over an async generator that reads the model with `client.stream(\"POST\", ...)` and yields each line of `aiter_lines()` as it comes (with the newline it drops); the client opened once, in a `lifespan` (lesson 04), read back as `request.state.client`."),
        "async def events():\n    async with client.stream(\"POST\", CHAT_URL, json=body) as upstream:\n        async for line in upstream.aiter_lines():\n            yield line + \"\\n\"\n\nreturn StreamingResponse(events(), media_type=\"text/event-stream\")"),
    2: (N_("Measure what the model does, not what your clients see: the model counts the tokens it generated; your clients count the tokens they read. The difference went to nobody."),
        N_("`await load(url, requests=6, concurrency=6, stream=True, body=chat_body(max_tokens=60), leave_after=3)` leaves each stream after 3 tokens; `model.stats()` gives tokens_generated, cancelled and running; `run.tokens` what your clients read. Read the stats once `running` is 0 (poll it, bounded)."),
        "run = await load(gateway.url + CHAT_PATH, requests=6, concurrency=6, stream=True,\n                 body=chat_body(max_tokens=60), leave_after=3)\nfor _ in range(25):  # up to 0.5 s\n    counts = model.stats()\n    if counts[\"running\"] == 0:\n        break\n    await asyncio.sleep(0.02)\nnobody = counts[\"tokens_generated\"] - run.tokens"),
    3: (N_("Look at how long one stream lasts: from the request until its last byte, long after your route has returned its StreamingResponse. Whatever counts the streams in progress must count them for all of that time, and also let go when a client leaves."),
        N_("An ASGI app around the gateway (lesson 01's `async def __call__(self, scope, receive, send)`): `await self.app(scope, receive, send)` returns once the response has sent its last byte, or its client left. A counter checked before it and decremented in `finally`; a full gateway sends `JSONResponse(..., 503, headers={\"Retry-After\": \"1\"})` with `await response(scope, receive, send)`. Let the lifespan scope through."),
        "if scope[\"type\"] != \"http\":\n    return await self.app(scope, receive, send)\nif self.active >= self.limit:\n    return await JSONResponse({...}, 503, headers={\"Retry-After\": \"1\"})(scope, receive, send)\nself.active += 1\ntry:\n    await self.app(scope, receive, send)\nfinally:\n    self.active -= 1"),
    4: (N_("Look at when your gateway sends its status line: once a 200 is out, no 504 can follow. So the gateway must hold its response back until the first token, and the model's first event comes at once and carries no token (only the role)."),
        N_("`await client.send(client.build_request(\"POST\", CHAT_URL, json=body), stream=True)` opens the model's stream inside the handler; read its lines under `asyncio.timeout(FIRST_TOKEN_S)` until `is_token(line)`; on TimeoutError close it (`await upstream.aclose()`) and answer 504; otherwise return a StreamingResponse whose generator yields the lines read ahead, then the rest, and closes the upstream in `finally`."),
        "try:\n    async with asyncio.timeout(FIRST_TOKEN_S):\n        async for line in lines:\n            head.append(line + \"\\n\")\n            if is_token(line):\n                break\nexcept TimeoutError:\n    await upstream.aclose()\n    return JSONResponse({...}, 504)"),
}
# fmt: on

LOOK = {
    "none": N_("no stream got through the gateway: see the first line."),
    "buffered": N_(
        "your clients' first token came {ttft} after they asked, as late as a whole answer takes the model"
        " ({whole}): the gateway waits for the model's whole answer, then sends it in one piece. Look at where"
        " your gateway reads the model's answer: all of it (a list it fills, `.content`, `aread()`) before the first byte goes out?"
    ),
    "slow first token": N_(
        "your first tokens came {extra} later than the model's own, though the tokens after them flowed as"
        " the model sent them: the time goes before the first event. Look at what your gateway does for each request before"
        " it asks the model (making an HTTP client loads its TLS certificates, even for http:// URLs; a pool too small waits)."
    ),
    "order": N_(
        "the tokens your client read do not make up the model's answer ({seen}). Look at how your gateway passes"
        " each line on: an event is a `data: ...` line, and a blank line ends it."
    ),
    "per request": N_(
        "the model saw {opened} TCP connections for {n} streams, {at_once} at a time: every request opened its own."
        " Look at how long your HTTP client lives (lesson 04)."
    ),
    "connections": N_(
        "the model saw {opened} TCP connections for {n} streams, {at_once} at a time: connections were not reused."
        " Look at how your HTTP client is made and closed, and whether each stream is read to its end."
    ),
    "buffered 2": N_(
        "your clients' first token came {ttft} after they asked, once the model had generated the whole"
        " answer: nobody can leave a stream that arrives in one piece. Step 1 first."
    ),
    "never closed": N_(
        "the model cancelled {cancelled} of the {left} sequences whose clients left ({running} still generating"
        " {waited} later): it never saw its own client, your gateway, leave. Look at what reads the model's stream in your"
        " gateway, and whether it stops when the response to your client is cancelled."
    ),
    "nobody": N_(
        "the model generated {nobody} tokens that no client read, {each:.0f} a stream: look at what goes on reading"
        " the model after your client has gone."
    ),
    "queued": N_(
        "the model queued up to {waiting} sequences behind its {slots} slots: your gateway let {admitted} of the 10"
        " streams in. Look at what limits the streams your gateway lets in, and for how long each one holds its place: a"
        " route returns its StreamingResponse before the first event is sent, and the stream ends long after."
    ),
    "too strict": N_(
        "only {served} streams were served while the model has {slots} slots: look at how many streams your"
        " gateway lets in at once."
    ),
    "none refused": N_(
        "nothing was refused, yet the model can run only {slots} of these 10 streams at once: the others"
        " waited for a place, in the model's queue or in your gateway. Look at what your gateway does with a stream that"
        " finds no place free."
    ),
    "not a stream": N_(
        "your gateway answered {kind}, not text/event-stream: a client (the openai SDK, a browser's"
        " EventSource, the check) reads a stream only when the response says it is one. Look at the media type your"
        " response declares."
    ),
    "unreadable": N_(
        "your clients could read their first token only {ttft} after they asked: the events did not arrive"
        " as events (see the next line), so nothing could be read before the stream ended."
    ),
    "no refusal": N_("no refusal to look at: see the line above."),
    "no 504": N_("no 504 to look at: see the line above."),
    "other": N_(
        "refusals must be 503 Service Unavailable (or 429 Too Many Requests); the gateway also answered {others}:"
        " its output names any exception."
    ),
    "retry-after": N_(
        "{missing} of the {refused} refusals had no Retry-After header: a client that is told no, and not when"
        " to come back, retries at once. Look at the headers of your refusal."
    ),
    "slow refusal": N_(
        "the slowest refusal took {slowest}: a refusal that keeps the client waiting is a queue by another"
        " name. Look at what your gateway waits for before it refuses."
    ),
    "kept": N_(
        "after {what}, only {admitted} of 4 new streams were let in: the earlier streams kept their places. Look at"
        " where a stream gives its place back, on every way it can end."
    ),
    "cut": N_(
        "the first stream had its first token at {ttft}, in time, yet it stopped after {got} of {asked} tokens, at"
        " {end}: your deadline also cuts a stream that started in time. Look at what your timeout covers."
    ),
    "too eager": N_(
        "the first stream was answered {status} though its first token came from the model in about 100 ms:"
        " look at how long your deadline is, and what it waits for."
    ),
    "headers early": N_(
        "the gateway answered {status} {headers} after the request, before any token came ({ttft}):"
        " once a status line is out, no 504 can follow. Look at what your handler waits for before it returns its"
        " response (the model's first event carries no token, only the role)."
    ),
    "no deadline": N_(
        "the gateway answered {status} only {headers} after the request, when the first token came: nothing"
        " cut the wait off at 300 ms. Look at what bounds the wait for the first token."
    ),
    "504": N_(
        "streams without a first token in time must be answered 504 Gateway Timeout; they got {statuses}: its output"
        " names any exception."
    ),
    "late 504": N_("the 504 came {slowest} after the request: look at how long your deadline is (300 ms)."),
    "never reached": N_("the model started no sequence at all: the gateway never reached it (see the first line)."),
    "not cut": N_("the model ran the queued sequences: nothing cut them off (see the lines above)."),
    "model kept": N_(
        "the model went on to run {started} of the {late} sequences it had queued, after your gateway had"
        " answered 504 ({tokens} tokens for nobody): look at what happens to the model's stream when the deadline passes."
    ),
    "ran nothing": N_("the model ran no sequence at all: see the next line."),
}


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], **figures)
