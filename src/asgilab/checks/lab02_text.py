"""Lab 02's words: each step's title, the hint ladder, and the advice for the likely wrong shapes of
code the server's exception names (the symptom and where to look, never the fix), kept apart from the
measuring and judging in `asgilab.checks.lab02`. Prose is marked with ``N_`` for the translation catalog
and translated where it is shown (`title`, `Hints`, the judges); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _, _f

__all__ = ["HINTS", "KEEP", "SHAPES", "SLOWLY", "STEPS", "TITLES", "title"]

KEEP = N_("keep load_order_history() as it is: it stands for a database driver you cannot change.")
SLOWLY = N_(
    "the calls overlap, but each request first works on the loop: look at what /rates builds for every call. {look}"
)
# i18n: what each step checks, in its title "Step {n}: {what}"
STEPS = (N_("/orders"), N_("/rates"), N_("/login under a login storm"), N_("a guard with blockbuster"), N_("/export"))
TITLES = {n: f"Step {n}: {what}" for n, what in enumerate(STEPS, 1)}  # in English; title(n): the learner's language
# fmt: off
SHAPES = {  # an exception the server logged -> what is wrong with the code a learner likely wrote
    "object is not callable": N_("the worker thread was handed the result of a call, not a function: the call ran on the event loop first, then its result went to the thread."),
    "got an unexpected keyword argument": N_("a keyword argument went to the function that starts the thread, not to the function it runs: read the exception above."),
    "'coroutine' object has no attribute": N_("a coroutine was used as if it were its result: an async call that nothing awaited."),
    "'State' object has no attribute": N_("request.state has no such attribute: only what the app's lifespan yields (a dict) appears there."),
}
HINTS = Hints("lab02_blocking_pitfalls.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("orders() calls load_order_history(). Read that helper: what does it do for 100 ms, and does it `await`?"),
        N_("`anyio.to_thread.run_sync(function, *args)` runs a sync function in a worker thread and awaits it; a plain `def` handler runs in FastAPI's thread pool."),
        "history = await anyio.to_thread.run_sync(load_order_history, customer)"),
    2: (N_("rates() calls the upstream with requests.get: is that client synchronous, and what does the loop do while it waits?"),
        N_("httpx.AsyncClient, opened once in the app's lifespan (`yield {'client': client}`) and read in the handler as request.state.client."),
        "async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=10) as client:\n    yield {'client': client}  # lab02_app.py's lifespan\nresponse = await request.state.client.get('/delay?ms=100')  # in rates(request: Request)"),
    # i18n: 4 is the service's thread tokens (lab02_storm.TOKENS); a hint is shown as it is written, figures too
    3: (N_("login() calls hash_password() on the event loop. A worker thread frees the loop, but look at whose tokens it takes: /orders draws on the same 4, and a storm has more logins than that. Then count the hashes this machine's cores can do at once in full."),
        N_("`anyio.CapacityLimiter(n)`, made once at module level, is a limiter of your own: `anyio.to_thread.run_sync(func, *args, limiter=...)` takes its tokens from it, not from the default one (https://anyio.readthedocs.io/en/stable/threads.html). Size it from the cores this process may use: `asgilab.machine.usable_cores()` (CPU affinity and a container's CPU limit, as the check counts)."),
        "HASHERS = anyio.CapacityLimiter(usable_cores())  # module level; from asgilab.machine import usable_cores\ndigest = await anyio.to_thread.run_sync(hash_password, password, limiter=HASHERS)"),
    4: (N_("Your guard needs a client that calls the app in-process, its startup included, blockbuster active while each request runs, and a note of which request raised. Appendix A4, section 2, says what blockbuster raises and where."),
        N_("`with TestClient(app) as client:` (fastapi.testclient) runs the lifespan and re-raises a handler's exception in your call; `with blockbuster_ctx():` (from blockbuster) activates it for a block; catch `BlockingError` around `client.get(path)`."),
        "with TestClient(app) as client:\n    for path in PATHS:\n        with blockbuster_ctx():\n            try:\n                client.get(path)\n            except BlockingError:\n                found.append(path)"),
    5: (N_("export() builds a CSV, then compresses it: time gzip.compress on that CSV in a cell. ruff has no rule for it."),
        N_("zlib (under gzip) releases the GIL while it compresses: a worker thread frees the loop. `anyio.to_thread.run_sync` takes positional arguments only: `functools.partial` carries the keyword."),
        "body = await anyio.to_thread.run_sync(functools.partial(gzip.compress, csv, compresslevel=6))"),
})
# fmt: on


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _f("Step {n}: {what}", n=step, what=_(STEPS[step - 1]))
