"""Lab 04's words: each step's title and the hint ladder, kept apart from the measuring and judging in
`asgilab.checks.lab04`. Prose is marked with ``N_`` for the translation catalog and translated where it
is shown (`title`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _

__all__ = ["HINTS", "TITLES", "title"]

TITLES = {
    1: N_("Step 1: one pooled, limited client"),
    2: N_("Step 2: a client that lives and dies with the app"),
    3: N_("Step 3: the same gateway with aiohttp"),
}
HINTS = Hints(
    "lab04_connection_pooling.ipynb",
    {
        1: (
            N_(
                "Look at proxy(): what does every request create before it calls the upstream? It lives for one request, and so does its pool."
            ),
            N_(
                "FastAPI(lifespan=...): an @asynccontextmanager that yields a dict, read back as request.state.<key>; httpx.Limits(max_connections=...) as the client's limits=."
            ),
            "async with httpx.AsyncClient(limits=httpx.Limits(max_connections=MAX_CONNECTIONS)) as client:\n"
            '    yield {"client": client}  # in lifespan\nresponse = await request.state.client.get(...)  # in proxy()',
        ),
        2: (
            N_("Look at what your lifespan does after its `yield`: that part runs when the server shuts down."),
            N_(
                "`async with httpx.AsyncClient(...) as client:` around the `yield`, or `await client.aclose()` after it."
            ),
            'async with httpx.AsyncClient(limits=limits) as client:\n    yield {"client": client}\n# leaving the block closes it',
        ),
        3: (
            N_(
                "Steps 1-2's duties (one client, at most 10 connections, closed at shutdown) with aiohttp: which object holds the pool, which sets its size?"
            ),
            N_(
                "aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=...)); `async with session.get(url, params=...) as r:` then `await r.json()`."
            ),
            "async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS)) as session:\n"
            '    yield {"session": session}  # in lifespan\nasync with request.state.session.get(...) as response:  # in proxy()\n    return await response.json()',
        ),
    },
)


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])
