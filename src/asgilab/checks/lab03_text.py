"""Lab 03's words: the hint ladder of each step, and the failure advice its checks give (the symptom and
where to look, never the fix), kept apart from the measuring and judging in `asgilab.checks.lab03`."""

from __future__ import annotations

from asgilab.checks.hints import Hints

__all__ = ["HINTS", "LOOK"]

FORECASTS, FORECAST_SLO_S = 150, 0.75  # step 1: a burst and its SLO (one call takes what the learner measures)
QUOTE_S, QUOTES, SLO_S, VENDOR_CAP = 0.4, 120, 1.1, 70  # step 3: one call, a burst, its SLO, the SDK's limit
# fmt: off
HINTS = Hints("lab03_def_vs_async_def.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: ("Two figures and a third to measure: the SLO (150 at once within 0.75 s) and one forecast's time (the SDK does not say: time one call). With N tokens, 150 requests take ceil(150 / N) rounds of one call: how many rounds fit? And where does the limit go? Three moments run your code: import time, the lifespan (before `yield`) and each request: which one runs on the event loop that serves the requests?",
        "AnyIO's default thread limiter, `anyio.to_thread.current_default_thread_limiter()`, is a `CapacityLimiter` with a settable `total_tokens`; it belongs to the running event loop. Set it in the lifespan, before `yield`. Not at import time: from uvicorn 0.50 on, a single-process `uvicorn` imports your module before the loop starts (no loop, no limiter), while with `--workers N` each worker imports it inside its own loop. N: ceil(150 / N) x one call, plus the server's own time, within 0.75 s.",
        "# one call: 0.4 s, so 2 rounds (0.8 s) miss the 0.75 s SLO: all 150 in one round, N >= 150\n@asynccontextmanager\nasync def lifespan(app: FastAPI):\n    anyio.to_thread.current_default_thread_limiter().total_tokens = 150  # this loop's limiter\n    yield\n\napp = FastAPI(lifespan=lifespan)"),
    2: ("Look at where `burn_cpu` runs. Inline in `async def` it runs on the event loop; in a `def` endpoint or a thread pool it runs in this process, whose threads share one GIL. Which process could run it, one per core, while the event loop only waits for the result?",
        "`concurrent.futures.ProcessPoolExecutor`, created once in the lifespan around `yield` (leaving its `with` block shuts it down when the server stops), kept on `app.state`, awaited from the endpoint with `asyncio.get_running_loop().run_in_executor(pool, burn_cpu, ms)`. Give it `mp_context=multiprocessing.get_context(\"spawn\")`: fork, Linux's default, copies a server that already runs threads, which can deadlock a worker. The function you send is pickled by name: `burn_cpu` is; a lambda or a nested function is not.",
        "@asynccontextmanager\nasync def lifespan(app: FastAPI):\n    spawn = multiprocessing.get_context(\"spawn\")\n    with ProcessPoolExecutor(max_workers=usable_cores(), mp_context=spawn) as pool:\n        app.state.pool = pool\n        yield\n\n"
        "# and in the endpoint:\nloops = await asyncio.get_running_loop().run_in_executor(app.state.pool, burn_cpu, ms)"),
    3: (f"Look at three figures: one quote's time (measure it), the SLO ({SLO_S:g} s for {QUOTES} at once) and the vendor's limit (the SDK's docstring). With N tokens, {QUOTES} requests take ceil({QUOTES} / N) rounds of one call: how many rounds fit in the SLO?",
        f"The same limiter as step 1, `current_default_thread_limiter().total_tokens`, set in the lifespan: N with ceil({QUOTES} / N) x one call <= {SLO_S:g} s, and N <= {VENDOR_CAP}. (Another way: an `async def` endpoint that runs the SDK with `anyio.to_thread.run_sync(..., limiter=...)` and its own `anyio.CapacityLimiter`.)",
        f"# {SLO_S:g} s / {QUOTE_S:g} s per call: at most 2 rounds, so N >= {QUOTES} / 2 = {QUOTES // 2}; the vendor allows {VENDOR_CAP}\n"
        "anyio.to_thread.current_default_thread_limiter().total_tokens = 64  # in the lifespan, before `yield`"),
})
# fmt: on


LOOK = {  # failure advice: the symptom and where to look, never the fix ({} takes the figure measured)
    "import": "Something asked for the running event loop while the module was imported, and none runs then (the thread limiter belongs to an event loop). Look at your module's top-level lines, and at which part of the app runs on the loop that serves the requests.",
    "no loop": "the thread limiter was asked for where no event loop runs (in a worker thread, which runs every `def` endpoint): look at which of your code touches it, and on which thread.",
    "forecast": "keep the endpoint and let it return the SDK's answer: the server's last lines above name the exception.",
    "sdk": "keep the SDK call as it is: the task is to serve a blocking SDK well, not to remove it.",
    "40": "About {:.0f} at once is the thread pool's default: each `def` request holds one of the AnyIO default limiter's 40 tokens, and the others wait a round for one. Look at where your app sets the limiter, and on which event loop: the lifespan runs on the serving one.",
    "slo": "{:.1f} rounds of one call, more than the SLO holds. With N tokens, {} requests at once take ceil({} / N) rounds of one call (the default N is 40): work out what the SLO asks of N. If your N gives fewer rounds than that, the machine was busy: run the check again.",
    "slo refused": "the refused calls failed at once, so this time says little yet: see the vendor's limit below.",
    "vendor": f"the SDK refused calls: more than {VENDOR_CAP} were in flight at once, its documented limit. Look at how many threads may call it at once.",
    "report": "The endpoint failed: read the server log above. A pool used before the lifespan created it, or a function the pool cannot pickle (a lambda, a nested function), fails here.",
    "ping": "/ping waited behind the reports: look at where `burn_cpu` runs. Inline in `async def` it runs on the event loop and freezes it; in a thread (`def`, run_in_threadpool) it still holds the GIL most of the time, so the loop waits for its turn.",
    "busy": "Other programs kept {:.1f} of the {} cores busy meanwhile, so there was no free core to spread the reports over: close them and run the check again.",
    "one core": "The reports ran one at a time, on about one core (the figure above). Look at which process runs `burn_cpu`: threads of the server's process share one GIL, so a `def` endpoint (or a thread pool) gains nothing on pure-Python work.",
    "left": "the pool's worker processes were still running after the app's shutdown ended: the shutdown neither stopped them nor waited for the reports in progress. Look at what your lifespan does with the pool once `yield` returns.",
}
