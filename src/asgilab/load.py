"""A load generator that is not the bottleneck.

    run = await load(server.url + "/async-sleep?ms=100", requests=100, concurrency=100)

Closed loop by default: ``concurrency`` workers each send their next request as soon as the last
one answered, until ``requests`` were sent. With ``rate=`` it is an open loop instead: request *i* is
due at ``i / rate`` seconds whether or not earlier ones answered, and latency counts from when it was
due (see `Record`). Every request has a ``timeout``, the whole run a ``deadline``; failures are
counted in the `Run`, never raised from the middle of it.

The default engine is aiohttp: on the course's 2-core machine it adds the least of its own time
(see the README and ``benchmarks/accuracy.py``). ``engine="httpx2"`` and ``engine="httpx"`` use one
shared ``AsyncClient`` each, so the course can show what the tool itself costs.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urljoin

from asgilab.i18n import _, _f
from asgilab.loopback import check_loopback
from asgilab.machine import server_cpu
from asgilab.results import Record, Run
from asgilab.streams import NOT_A_STREAM, StreamAnswer, aiohttp_streams

T = TypeVar("T")
__all__ = ["ENGINES", "load", "load_sync", "bursts", "check_loopback"]

MAX_REQUESTS = 1_000_000
PROBE_INTERVAL_S = 0.01

Send = Callable[[str], Awaitable[int | StreamAnswer]]  # url -> status code, or a stream's timings


@asynccontextmanager
async def _aiohttp(connections: int, ssl: Any, keepalive: bool = True) -> AsyncIterator[Send]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, ssl=ssl, force_close=not keepalive)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def send(url: str) -> int:
            async with session.get(url, allow_redirects=False) as response:
                await response.read()
                return response.status

        yield send


Engine = Callable[[int, Any, bool], AbstractAsyncContextManager[Send]]  # (connections, ssl, keepalive)


def _httpx_engine(module_name: str) -> Engine:
    @asynccontextmanager
    async def engine(connections: int, ssl: Any, keepalive: bool = True) -> AsyncIterator[Send]:
        httpx = __import__(module_name)
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections if keepalive else 0)
        verify = True if ssl is None else ssl
        # Timeouts are enforced by the load loop for every engine alike, not by the client.
        async with httpx.AsyncClient(limits=limits, timeout=None, verify=verify, trust_env=False) as client:

            async def send(url: str) -> int:
                response = await client.get(url)
                return int(response.status_code)

            yield send

    return engine


ENGINES: dict[str, Engine] = {
    "aiohttp": _aiohttp,
    "httpx2": _httpx_engine("httpx2"),
    "httpx": _httpx_engine("httpx"),
}


async def load(
    url: str,
    requests: int = 100,
    concurrency: int = 10,
    *,
    timeout: float = 10.0,
    deadline: float = 60.0,
    rate: float | None = None,
    probe: str | None = None,
    probe_interval: float = PROBE_INTERVAL_S,
    warmup: int = 0,
    engine: str = "aiohttp",
    keepalive: bool = True,
    label: str | None = None,
    ssl: Any = None,
    allow_remote: bool = False,
    cpu_of: Iterable[Any] = (),
    stream: bool = False,
    body: dict[str, Any] | None = None,
    leave_after: float | int | None = None,
    stall_timeout: float | None = None,
) -> Run:
    """Send ``requests`` GET requests to ``url``, at most ``concurrency`` at a time; return a `Run`.

    - ``timeout``: seconds for each request; a slower one is recorded as error ``"timeout"``.
    - ``deadline``: seconds for the whole run; requests unfinished then are ``"deadline"`` errors.
    - ``rate``: requests per second for an open loop (``concurrency`` then caps requests in flight).
    - ``probe``: a path such as ``"/ping"`` polled one at a time on its own connection while the run
      lasts; its latencies land in ``run.probe_records``. A blocked event loop shows here.
    - ``warmup``: requests sent (and not recorded) before the run, to open connections and warm caches.
    - ``engine``: ``"aiohttp"`` (default), ``"httpx2"`` or ``"httpx"``.
    - ``keepalive=False``: a new connection per request (``hey -disable-keepalive``): any free worker accepts it.
    - ``ssl``: an ``ssl.SSLContext`` for HTTPS to a server with a private CA (see `asgilab.upstream`).
    - ``cpu_of``: servers whose CPU time over the run (all their processes) is ``run.server_cpu_s``, with
      ``run.cores_used``, ``run.cpu_per_request_s`` and ``run.others_cores`` (see `asgilab.speedup`).
    - ``stream=True``, ``body``, ``leave_after``, ``stall_timeout``: event streams, timed token by token
      (TTFT, ITL, TPOT); see `asgilab.streams`.
    """
    _check(url, requests, concurrency, timeout, deadline, rate, engine, allow_remote)
    _check_stream(stream, engine, body, leave_after, stall_timeout)
    client = _client(
        engine, min(concurrency, requests), ssl, keepalive, stream, body, leave_after, stall_timeout or timeout
    )
    runs = await _runs_on(client, 1, url, requests, concurrency, timeout, deadline, rate, probe, probe_interval,
                          warmup, engine, label, ssl, cpu_of, stream)  # fmt: skip
    return runs[0]


async def _runs_on(
    client: AbstractAsyncContextManager[Send],
    times: int,
    url: str,
    requests: int,
    concurrency: int,
    timeout: float,
    deadline: float,
    rate: float | None,
    probe: str | None,
    probe_interval: float,
    warmup: int,
    engine: str,
    label: str | None,
    ssl: Any,
    cpu_of: Iterable[Any],
    stream: bool,
) -> list[Run]:
    """``times`` runs of `load` one after another on one client: its warm-up opens the connections once."""
    runs = []
    async with client as send:
        await _warm_up(send, url, timeout, warmup, min(concurrency, requests))
        for _run in range(times):
            run = Run(url, requests, concurrency, engine, probe_path=probe, rate=rate, label=label, stream=stream)
            with server_cpu(cpu_of) as cpu:
                await _measure(send, run, timeout=timeout, deadline=deadline, probe_interval=probe_interval, ssl=ssl)
            cpu.record(run)
            _refuse_non_stream(run)
            runs.append(run)
    return runs


def _client(
    engine: str,
    connections: int,
    ssl: Any,
    keepalive: bool,
    stream: bool,
    body: dict[str, Any] | None,
    leave_after: float | int | None,
    stall_timeout: float,
) -> AbstractAsyncContextManager[Send]:
    """The client ``load`` sends with: an engine's, or aiohttp's for streams and JSON bodies."""
    if stream:
        return aiohttp_streams(connections, ssl, body, leave_after, stall_timeout)
    if body is not None:
        return _aiohttp_post(connections, ssl, body)
    return ENGINES[engine](connections, ssl, keepalive)


def _refuse_non_stream(run: Run) -> None:
    """``stream=True`` against an endpoint that never streamed is a mistake to say, not a run to plot."""
    answered = [r for r in run.records if r.status is not None]
    if run.stream and answered and all((r.error or "").startswith(NOT_A_STREAM) for r in answered):
        kind = answered[0].error[len(NOT_A_STREAM) :].strip(" ()")  # type: ignore[index]  # all have errors
        raise ValueError(
            _f(
                "{url} answered {kind}, not text/event-stream: it does not stream (drop stream=True?)",
                url=run.url,
                kind=kind,
            )
        )


def _check_stream(
    stream: bool, engine: str, body: dict[str, Any] | None, leave_after: float | int | None, stall: float | None
) -> None:
    if (stream or body is not None) and engine != "aiohttp":
        raise ValueError(_f("stream= and body= are measured with the aiohttp engine, not {engine!r}", engine=engine))
    if body is not None and not isinstance(body, dict):
        raise ValueError(_("body must be a dict, sent as JSON"))
    if leave_after is not None:
        if not stream:
            raise ValueError(_("leave_after needs stream=True"))
        if isinstance(leave_after, bool) or not isinstance(leave_after, int | float) or not leave_after > 0:
            raise ValueError(
                _("leave_after must be a number of tokens (an int, 1 or more) or of seconds (a float > 0)")
            )
    if stall is not None and not (stall > 0 and math.isfinite(stall)):
        raise ValueError(_("stall_timeout must be positive, finite seconds"))


@asynccontextmanager
async def _aiohttp_post(connections: int, ssl: Any, body: dict[str, Any]) -> AsyncIterator[Send]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, ssl=ssl)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def send(url: str) -> int:
            async with session.post(url, json=body, allow_redirects=False) as response:
                await response.read()
                return response.status

        yield send


async def _measure(send: Send, run: Run, *, timeout: float, deadline: float, probe_interval: float, ssl: Any) -> None:
    """`load`'s measured part: ``run``'s requests (the probe beside them) until done or ``deadline``."""
    slots: list[Record | None] = [None] * run.requests
    done = asyncio.Event()
    t0 = time.perf_counter()
    probe_task = None
    if run.probe_path is not None:
        probe_url = urljoin(run.url, run.probe_path)
        args = (probe_url, run.engine, ssl, timeout, probe_interval, t0, done, run.probe_records)
        probe_task = asyncio.create_task(_probe(*args))
    if run.rate:
        loop = _open_loop(send, run.url, slots, run.concurrency, run.rate, timeout, t0)
    else:
        loop = _closed_loop(send, run.url, slots, run.concurrency, timeout, t0)
    try:
        await asyncio.wait_for(loop, deadline)
    except TimeoutError:
        run.stopped_by_deadline = True
    end = time.perf_counter() - t0
    done.set()
    if probe_task is not None:
        await probe_task
    run.records = [slot or Record(start=end, end=end, error="deadline") for slot in slots]
    finished = [r.end for r in run.records if r.error != "deadline"]
    run.wall_s = end if run.stopped_by_deadline or not finished else max(finished)


def _check(
    url: str,
    requests: int,
    concurrency: int,
    timeout: float,
    deadline: float,
    rate: float | None,
    engine: str,
    allow_remote: bool,
) -> None:
    """`load`'s arguments, or a clear `ValueError`: every run is bounded in count and time."""
    check_loopback(url, allow_remote)
    if engine not in ENGINES:
        raise ValueError(_f("engine must be one of {engines}, got {engine!r}", engines=sorted(ENGINES), engine=engine))
    if not 1 <= requests <= MAX_REQUESTS:
        raise ValueError(_f("requests must be between 1 and {most}", most=MAX_REQUESTS))
    if concurrency < 1:
        raise ValueError(_("concurrency must be at least 1"))
    if not (timeout > 0 and deadline > 0 and math.isfinite(deadline)):
        raise ValueError(_("timeout and deadline must be positive, finite seconds"))
    if rate is not None and not rate > 0:
        raise ValueError(_("rate must be a positive number of requests per second"))


async def _warm_up(send: Send, url: str, timeout: float, warmup: int, connections: int) -> None:
    """``warmup`` requests, not recorded: the first ``connections`` of them at once, to open them."""
    together = min(warmup, connections)
    if together:
        await asyncio.gather(*(_timed(send, url, timeout, 0.0) for _conn in range(together)))
    for _request in range(warmup - together):
        await _timed(send, url, timeout, 0.0)


async def bursts(url: str, sizes: Iterable[int], *, label: str = "", repeat: int = 1, **options: Any) -> list[Run]:
    """One burst per size n: n requests sent together (``concurrency=n``) after ``warmup=n``
    opened the n connections, so each wall time is the server's, not the connection set-up's.
    With ``repeat=k`` each size is sent k times on the same n connections (warmed up once) and the
    fastest burst is kept: other programs on the machine can only slow a burst down. The runs are
    labelled ``"{label} x{n}"``; plot them with `asgilab.plots.scaling`."""
    if repeat < 1:
        raise ValueError(_("repeat must be at least 1"))
    unknown = set(options) - set(BURST_OPTIONS)
    if unknown:
        raise TypeError(f"bursts() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    o = {name: options.get(name, LOAD_DEFAULTS[name]) for name in BURST_OPTIONS}
    runs = []
    for n in sizes:
        _check(url, n, n, o["timeout"], o["deadline"], None, o["engine"], o["allow_remote"])
        client = _client(o["engine"], n, o["ssl"], o["keepalive"], False, None, None, o["timeout"])
        name = f"{label} x{n}".strip()
        tries = await _runs_on(client, repeat, url, n, n, o["timeout"], o["deadline"], None, o["probe"],
                               o["probe_interval"], n, o["engine"], name, o["ssl"], o["cpu_of"], False)  # fmt: skip
        runs.append(min(tries, key=lambda run: (run.errors, run.wall_s)))
    return runs


# What `bursts` passes on to each burst, with `load`'s defaults; the rest of `load`'s options do not apply.
BURST_OPTIONS = (
    "timeout",
    "deadline",
    "probe",
    "probe_interval",
    "engine",
    "keepalive",
    "ssl",
    "allow_remote",
    "cpu_of",
)
LOAD_DEFAULTS = {name: p.default for name, p in inspect.signature(load).parameters.items() if p.default is not p.empty}


async def _timed(send: Send, url: str, timeout: float, t0: float, scheduled: float | None = None) -> Record:
    start = time.perf_counter() - t0
    error: str | None = None
    answer: int | StreamAnswer | None = None
    try:
        answer = await asyncio.wait_for(send(url), timeout)
    except TimeoutError:
        error = "timeout"
    except Exception as exc:
        error = type(exc).__name__
    end = time.perf_counter() - t0
    if not isinstance(answer, StreamAnswer):
        return Record(start=start, end=end, status=answer, error=error, scheduled=scheduled)
    return Record(
        start=start,
        end=end,
        status=answer.status,
        error=answer.error,
        scheduled=scheduled,
        first_byte=None if answer.first_byte is None else answer.first_byte - t0,
        token_times=tuple(t - t0 for t in answer.token_times),
        left=answer.left,
    )


async def _closed_loop(
    send: Send, url: str, slots: list[Record | None], concurrency: int, timeout: float, t0: float
) -> None:
    indices = iter(range(len(slots)))

    async def worker() -> None:
        for i in indices:  # workers share one iterator: each takes the next unsent request
            try:
                slots[i] = await _timed(send, url, timeout, t0)
            except asyncio.CancelledError:
                now = time.perf_counter() - t0
                slots[i] = Record(start=now, end=now, error="deadline")
                raise

    await asyncio.gather(*(worker() for _worker in range(min(concurrency, len(slots)))))


async def _open_loop(
    send: Send, url: str, slots: list[Record | None], concurrency: int, rate: float, timeout: float, t0: float
) -> None:
    in_flight = asyncio.Semaphore(concurrency)
    tasks = []

    async def one(i: int, due: float) -> None:
        try:
            async with in_flight:
                slots[i] = await _timed(send, url, timeout, t0, scheduled=due)
        except asyncio.CancelledError:
            now = time.perf_counter() - t0
            slots[i] = Record(start=now, end=now, error="deadline", scheduled=due)
            raise

    try:
        for i in range(len(slots)):
            due = i / rate
            delay = due - (time.perf_counter() - t0)
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _probe(
    url: str,
    engine: str,
    ssl: Any,
    timeout: float,
    interval: float,
    t0: float,
    done: asyncio.Event,
    records: list[Record],
) -> None:
    # Its own client and connection: the canary must not queue behind the load's connection pool.
    async with ENGINES[engine](1, ssl, True) as send:
        while not done.is_set():
            records.append(await _timed(send, url, timeout, t0))
            try:
                await asyncio.wait_for(done.wait(), interval)
            except TimeoutError:
                pass


def load_sync(url: str, requests: int = 100, concurrency: int = 10, **options: Any) -> Run:
    """`load` for scripts and plain functions (the CLI and lab checks use it).

    It runs on a uvloop event loop (uvicorn[standard] brings uvloop): the client then spends less CPU per
    request, which matters when it shares a 2-core machine with the server it measures. Inside a
    running event loop (a notebook cell) it runs in a thread of its own.
    """
    return run_sync(load(url, requests, concurrency, **options))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a uvloop event loop; inside a running event loop (a notebook cell),
    in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro)
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(_run(coro))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="asgilab-load")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import uvloop  # uvicorn[standard] brings it on every platform the course runs on

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
