"""Lab 07's words: each step's title, the hint ladder, and the failure advice its checks give (the
symptom and where to look, never the fix), kept apart from the measuring and judging in
`asgilab.checks.lab07`. Prose is marked with ``N_`` for the translation catalog and translated where it
is shown (`title`, `look`, `Hints`); code in the hints stays as it is."""

from __future__ import annotations

from asgilab.checks.hints import Hints
from asgilab.i18n import N_, _, _f

__all__ = ["ANSWERED", "HINTS", "LOOK", "TITLES", "WHAT", "look", "title"]

ANSWERED = N_("all {requests} predictions succeed")  # steps 2-3
# fmt: off
TITLES = {1: N_("Step 1: /ping stays fast under a burst of predictions, and a prediction past its deadline is answered 504 and not computed"),
          2: N_("Step 2: the ranker in worker processes, its table built before the first prediction"),
          3: N_("Step 3: a page of 32 NumPy predictions off the loop, its weights held once and built at startup")}
HINTS = Hints("lab07_cpu_bound_and_inference.ipynb", {  # per step: where to look, which tool or API, the key lines
    1: (N_("Look at where model.predict runs: on the event loop's thread, /ping waits for it; in a thread of this process it still holds the GIL. Then at what bounds how long /predict waits for its prediction, and what becomes of a prediction nobody waits for any more."),
        N_("a ProcessPoolExecutor with mp_context=multiprocessing.get_context('spawn'), made in lifespan; `await loop.run_in_executor(pool, model.predict, item)` inside asyncio.timeout(DEADLINE_S), HTTPException(504) on TimeoutError: cancelling the await cancels a prediction still queued in the pool."),
        "try:\n    async with asyncio.timeout(DEADLINE_S):\n        return await loop.run_in_executor(request.state.pool, model.predict, item)\nexcept TimeoutError:\n    raise HTTPException(504, 'prediction past its deadline') from None"),
    2: (N_("Look at which process holds the ranker's table when a worker takes its first call: the starter builds it in the server's own process."),
        N_("each worker process is a fresh interpreter: give every worker its own table before serving, by running lab07_ranker.build in each worker from lifespan (one call per worker, awaited), or ProcessPoolExecutor(initializer=...) plus a warm-up call per worker."),
        "with ProcessPoolExecutor(max_workers=WORKERS, mp_context=spawn) as pool:\n    await asyncio.gather(*(loop.run_in_executor(pool, lab07_ranker.build) for _ in range(WORKERS)))\n    yield {'pool': pool}"),
    3: (N_("Look at what model.predict_batch spends its time in (lesson 07, section 2): does it hold the GIL? Then at when its 64 MB of weights are built: at import, at startup, or in the first request."),
        N_("a thread (asyncio.to_thread, or a ThreadPoolExecutor made in lifespan) shares the weights; model.load(True) builds them, best in lifespan via asyncio.to_thread."),
        "await asyncio.to_thread(model.load, True)  # in lifespan, before yield\nreturn await asyncio.to_thread(model.predict_batch, range(first, first + 32))  # in /page"),
})
WHAT = {"200 or 504": N_("every request is answered 200 or 504, none fails otherwise"),
        "some 200": N_("the predictions that can finish in time are answered 200 (at least one per worker)")}
LOOK = {  # where each failed criterion sends the learner: the symptom and where to look, never the fix
    "answered": N_("a 500 means the endpoint raised: the server's last lines above name the exception; look at what lifespan yields and how the endpoint reaches it."),
    "threads": N_("no worker process, but the server's threads grew from {before} to {after}: the model runs in threads of its one process. The loop is free of the call, not of the GIL: pure-Python code holds it, and the loop's thread must win it back each time. Look at what kind of worker runs the model."),
    "inline": N_("/ping waited as long as {calls:.0f} model calls, and the server started no worker: the model still runs on the event loop, and while a prediction runs the loop answers nothing. Look at what the endpoint does with the model."),
    "leftover": N_("your server has {workers} worker process(es), yet /ping waited {calls:.1f} model calls: look for model work still done in the endpoint itself, before or after the pool call."),
    "late": N_("the slowest prediction took {slowest}, {calls:.1f} model calls, past its {deadline} deadline: requests waited for a worker for as long as the queue took. Look at what bounds how long /predict waits for its prediction."),
    "all 504": N_("every prediction was answered 504, even the first ones, which found a worker idle: look at how long your deadline is (the check sets {env}={deadline:.3f}) and at what its block contains."),
    "after": N_("a prediction sent once the burst was answered waited {calls:.1f} model calls: the workers were still computing predictions whose requests had already been answered. Look at whether your deadline stops a queued prediction or only stops waiting for it."),
    "first": N_("the first predictions took up to {first}, while building the ranker's table takes {build}: each worker process that took one had no table yet. Look at which process holds the table when a worker takes its first call (a worker process starts as a fresh interpreter)."),
    "copies": N_("each worker process holds its own copy of the 64 MB of weights, and every call pickles its arguments across: this model is NumPy, which lets go of the GIL inside its matrix products (lesson 07, section 2). Look at whether it needs another interpreter at all."),
    "np inline": N_("/ping waited while the NumPy model ran: look at where /page calls model.predict_batch, and at what else it does on the event loop."),
    "np first": N_("the first request paid for building the weights: look at what your app does at startup, before it serves."),
}
# fmt: on


def title(step: int) -> str:
    """Step ``step``'s title, in the learner's language."""
    return _(TITLES[step])


def look(key: str, **figures: object) -> str:
    """Where a failed criterion sends the learner to look, in the learner's language, with its figures."""
    return _f(LOOK[key], **figures)
