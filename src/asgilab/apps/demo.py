"""A demo FastAPI app with one endpoint per way of waiting, for lessons, tests and the CLI.

    uvicorn asgilab.apps.demo:app

Every handler does the same job, waiting ``ms`` milliseconds, in a different way; only how the
server can overlap them differs.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time

from fastapi import FastAPI, Query

app = FastAPI(title="asgilab demo")

MAX_MS = 60_000
Ms = Query(100, ge=0, le=MAX_MS, description="how long to wait, in milliseconds")


@app.get("/hello")
async def hello() -> dict[str, str]:
    """No waiting at all: the cost of the framework itself."""
    return {"message": "hello"}


@app.get("/ping")
async def ping() -> dict[str, bool]:
    """The canary: answers at once whenever the event loop is free."""
    return {"pong": True}


@app.get("/async-sleep")
async def async_sleep(ms: int = Ms) -> dict[str, int]:
    """Waits on the event loop: other requests run meanwhile."""
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.get("/blocking-sleep")
async def blocking_sleep(ms: int = Ms) -> dict[str, int]:
    """The classic mistake: a blocking call inside ``async def`` freezes the event loop."""
    time.sleep(ms / 1000)
    return {"slept_ms": ms}


# `def` handlers say `response_model=None`: FastAPI would otherwise validate the returned value against
# the return annotation in the thread pool, a second token per request that blurs the 40-token staircase.
@app.get("/sync-sleep", response_model=None)
def sync_sleep(ms: int = Ms) -> dict[str, int]:
    """A ``def`` handler: runs in AnyIO's thread pool (40 threads by default)."""
    time.sleep(ms / 1000)
    return {"slept_ms": ms}


@functools.cache
def _loops_per_ms() -> float:
    """Calibrated once per process: how many `_work` loops one core does in a millisecond.
    The fastest of several samples, so a busy moment at start-up does not skew it."""
    n = 50_000
    fastest = math.inf
    for _ in range(7):
        start = time.perf_counter()
        _work(n)
        fastest = min(fastest, time.perf_counter() - start)
    return n / (fastest * 1000)


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i
    return total


def burn_cpu(ms: float) -> int:
    """A fixed amount of pure-Python work, about ``ms`` milliseconds of one idle core.

    The amount is fixed, not the time: two threads sharing the GIL then take twice as long,
    which is exactly what the lessons need to show. Returns the number of loops done.
    """
    loops = int(ms * _loops_per_ms())
    _work(loops)
    return loops


@app.get("/cpu")
async def cpu(ms: int = Ms) -> dict[str, int]:
    """CPU-bound work inline in ``async def``: blocks the event loop like a sleep would."""
    return {"ms": ms, "loops": burn_cpu(ms)}


@app.get("/cpu-sync", response_model=None)
def cpu_sync(ms: int = Ms) -> dict[str, int]:
    """CPU-bound work in the thread pool: the loop stays free, but the GIL still serialises it."""
    return {"ms": ms, "loops": burn_cpu(ms)}
