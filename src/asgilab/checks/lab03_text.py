"""Lab 03's words: each step's title, the hint ladder, the longer texts of what the checks measured, and
the failure advice they give (the symptom and where to look, never the fix), kept apart from the measuring
and judging in `asgilab.checks.lab03`. Prose is marked with ``N_`` for the translation catalog and
translated where it is shown (`title`, `said`, `look`, `Hints`). Code in the hints stays as it is, comments
too (as in the solution's `%%writefile` cells). The ladder's prose writes its figures out, as `Hints`
translates each text as it stands: step 3's are `SLO_S`, `QUOTES` and `VENDOR_CAP` (change them together)."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _, _f

__all__ = ["HINTS", "LOOK", "SAID", "TITLES", "WITHIN", "look", "said", "title"]

FORECASTS, FORECAST_SLO_S = 150, 0.75  # step 1: a burst and its SLO (one call takes what the learner measures)
QUOTE_S, QUOTES, SLO_S, VENDOR_CAP = 0.4, 120, 1.1, 70  # step 3: one call, a burst, its SLO, the SDK's limit
TITLES = {
    1: N_("Step 1: a blocking SDK, 150 at once"),
    2: N_("Step 2: CPU-bound reports"),
    3: N_("Step 3: a limiter for an SLO"),
}
WITHIN = {  # steps 1, 3: the burst answered within the SLO
    1: N_("{count} forecasts at once answered within the SLO of {slo:g} s"),
    3: N_("{count} quotes at once answered within the SLO of {slo:g} s"),
}
SAID = {  # what a check measured, with its figures
    "took": N_("{wall_s:.2f} s = {rounds:.1f} calls of {call} (one alone), so about {at_once:.0f} ran at once"),
    "refused": N_("{failed} of the {quotes} quotes failed in the kept burst; the server logged {refused}"),
    "none": N_("no {refused} in the server's output"),
    "counts": N_("one at a time {serial_ok}/3 ok, at once {burst_ok}/{requests} ok"),
    "pinged": N_("/ping answered in {mean} on average (worst {worst}, limit {limit}) while one report takes {one}"),
    "on cores": N_("8 reports at once run on several cores (at least {least} of {cores} busy on average)"),
    "cores": N_(
        "the server's processes kept {used:.2f} cores busy for the {wall_s:.2f} s 8 reports took"
        " (one after another: {serial_s:.2f} s, so x{speedup:.2f}; other programs used {others:.2f} cores)"
    ),
    "children": N_(
        "{serving} child process(es) of the server when its shutdown began, {left} still running after the lifespan ended"
    ),
}
# fmt: off
HINTS = Hints("lab03_def_vs_async_def.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("Two figures and a third to measure: the SLO (150 at once within 0.75 s) and one forecast's time (the SDK does not say: time one call). With N tokens, 150 requests take ceil(150 / N) rounds of one call: how many rounds fit? And where does the limit go? Three moments run your code: import time, the lifespan (before `yield`) and each request: which one runs on the event loop that serves the requests?"),
        N_("AnyIO's default thread limiter, `anyio.to_thread.current_default_thread_limiter()`, is a `CapacityLimiter` with a settable `total_tokens`; it belongs to the running event loop. Set it in the lifespan, before `yield`. Not at import time: from uvicorn 0.50 on, a single-process `uvicorn` imports your module before the loop starts (no loop, no limiter), while with `--workers N` each worker imports it inside its own loop. N: ceil(150 / N) x one call, plus the server's own time, within 0.75 s."),
        "# one call: 0.4 s, so 2 rounds (0.8 s) miss the 0.75 s SLO: all 150 in one round, N >= 150\n@asynccontextmanager\nasync def lifespan(app: FastAPI):\n    anyio.to_thread.current_default_thread_limiter().total_tokens = 150  # this loop's limiter\n    yield\n\napp = FastAPI(lifespan=lifespan)"),
    2: (N_("Look at where `burn_cpu` runs. Inline in `async def` it runs on the event loop; in a `def` endpoint or a thread pool it runs in this process, whose threads share one GIL. Which process could run it, one per core, while the event loop only waits for the result?"),
        N_("`concurrent.futures.ProcessPoolExecutor`, created once in the lifespan around `yield` (leaving its `with` block shuts it down when the server stops), kept on `app.state`, awaited from the endpoint with `asyncio.get_running_loop().run_in_executor(pool, burn_cpu, ms)`. Give it `mp_context=multiprocessing.get_context(\"spawn\")`: fork, Linux's default, copies a server that already runs threads, which can deadlock a worker. The function you send is pickled by name: `burn_cpu` is; a lambda or a nested function is not."),
        "@asynccontextmanager\nasync def lifespan(app: FastAPI):\n    spawn = multiprocessing.get_context(\"spawn\")\n    with ProcessPoolExecutor(max_workers=usable_cores(), mp_context=spawn) as pool:\n        app.state.pool = pool\n        yield\n\n"
        "# and in the endpoint:\nloops = await asyncio.get_running_loop().run_in_executor(app.state.pool, burn_cpu, ms)"),
    3: (N_("Look at three figures: one quote's time (measure it), the SLO (1.1 s for 120 at once) and the vendor's limit (the SDK's docstring). With N tokens, 120 requests take ceil(120 / N) rounds of one call: how many rounds fit in the SLO?"),
        N_("The same limiter as step 1, `current_default_thread_limiter().total_tokens`, set in the lifespan: N with ceil(120 / N) x one call <= 1.1 s, and N <= 70. (Another way: an `async def` endpoint that runs the SDK with `anyio.to_thread.run_sync(..., limiter=...)` and its own `anyio.CapacityLimiter`.)"),
        f"# {SLO_S:g} s / {QUOTE_S:g} s per call: at most 2 rounds, so N >= {QUOTES} / 2 = {QUOTES // 2}; the vendor allows {VENDOR_CAP}\n"
        "anyio.to_thread.current_default_thread_limiter().total_tokens = 64  # in the lifespan, before `yield`"),
})
# fmt: on


LOOK = {  # failure advice: the symptom and where to look, never the fix ({fields} take the figures measured)
    "import": N_(
        "Something asked for the running event loop while the module was imported, and none runs then (the thread limiter belongs to an event loop). Look at your module's top-level lines, and at which part of the app runs on the loop that serves the requests."
    ),
    "no loop": N_(
        "the thread limiter was asked for where no event loop runs (in a worker thread, which runs every `def` endpoint): look at which of your code touches it, and on which thread."
    ),
    "forecast": N_(
        "keep the endpoint and let it return the SDK's answer: the server's last lines above name the exception."
    ),
    "sdk": N_("keep the SDK call as it is: the task is to serve a blocking SDK well, not to remove it."),
    "40": N_(
        "About {at_once:.0f} at once is the thread pool's default: each `def` request holds one of the AnyIO default limiter's 40 tokens, and the others wait a round for one. Look at where your app sets the limiter, and on which event loop: the lifespan runs on the serving one."
    ),
    "slo": N_(
        "{rounds:.1f} rounds of one call, more than the SLO holds. With N tokens, {count} requests at once take ceil({count} / N) rounds of one call (the default N is 40): work out what the SLO asks of N. If your N gives fewer rounds than that, the machine was busy: run the check again."
    ),
    "slo refused": N_("the refused calls failed at once, so this time says little yet: see the vendor's limit below."),
    "vendor": N_(
        "the SDK refused calls: more than {cap} were in flight at once, its documented limit. Look at how many threads may call it at once."
    ),
    "report": N_(
        "The endpoint failed: read the server log above. A pool used before the lifespan created it, or a function the pool cannot pickle (a lambda, a nested function), fails here."
    ),
    "ping": N_(
        "/ping waited behind the reports: look at where `burn_cpu` runs. Inline in `async def` it runs on the event loop and freezes it; in a thread (`def`, run_in_threadpool) it still holds the GIL most of the time, so the loop waits for its turn."
    ),
    "busy": N_(
        "Other programs kept {others:.1f} of the {cores} cores busy meanwhile, so there was no free core to spread the reports over: close them and run the check again."
    ),
    "one core": N_(
        "The reports ran one at a time, on about one core (the figure above). Look at which process runs `burn_cpu`: threads of the server's process share one GIL, so a `def` endpoint (or a thread pool) gains nothing on pure-Python work."
    ),
    "left": N_(
        "the pool's worker processes were still running after the app's shutdown ended: the shutdown neither stopped them nor waited for the reports in progress. Look at what your lifespan does with the pool once `yield` returns."
    ),
}


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])


def said(key: str, **figures: object) -> str:
    """What a check measured, in the learner's language, with its figures."""
    return _f(SAID[key], **figures)


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures
    (the vendor's limit, ``cap``, is always given)."""
    return _f(LOOK[key], cap=VENDOR_CAP, **figures)
