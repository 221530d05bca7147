"""Lab 12: every criterion and advice branch on hand-built measurements (milliseconds), then the live
contract: each step fails on the starter and passes on the solution, and learner-style variants
(the openai SDK, a semaphore, a task that reads the model, a semaphore released too soon, a deadline
inside the stream) get the verdict and the advice they should."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from asgilab.checks import Criterion, lab12
from asgilab.checks.lab12 import Leaving, Streamed
from asgilab.checks.lab12_guard import Capacity, Deadline
from asgilab.checks.lab12_reader import Stream, expected
from asgilab.results import Record, Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab12_streaming_gateway.ipynb"
FILES = {"lab12_client.py", "lab12_gateway.py", "lab12_capacity.py", "lab12_deadline.py"}
GATEWAY, CAPACITY, DEADLINE = "lab12_gateway:app", "lab12_capacity:app", "lab12_deadline:app"
FIXES = ("client.stream", "StreamingResponse(", "Semaphore", "asyncio.timeout", "aclose", "finally", "lifespan")


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom, the figure and where to look, never the fix (hints 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[str]:
    return [c.what for c in criteria if not c.passed]


def advice(criteria: list[Criterion], what: str) -> str:
    return next(c.advice for c in criteria if c.what == what)


def streams(n: int, ttft: float, itl: float, tokens: int = 16, left: bool = False, status: int = 200) -> Run:
    """A streamed run of ``n`` streams, each ``tokens`` token events ``itl`` apart after ``ttft``."""
    times = tuple(ttft + i * itl for i in range(tokens))
    records = [Record(0.0, times[-1], status, None, 0.0, 0.01, times, left) for _ in range(n)]
    return Run("http://test/v1/chat/completions", n, n, "made", records, wall_s=1.0, stream=True)


def whole(n: int = 16, ttft: float = 0.12, status: int = 200) -> Stream:
    return Stream(status, 0.01, None, expected(n), [ttft + 0.02 * i for i in range(n)], True, ttft + 0.02 * n)


def refusal(after: float = 0.02, retry: str | None = "1", status: int = 503) -> Stream:
    return Stream(status, after, retry, end_s=after)


# -- step 1 -----------------------------------------------------------------------------------------
MODEL_RUN = streams(8, 0.10, 0.02)  # the model alone: TTFT 100 ms, 20 ms a token, 16 tokens (400 ms)


def streamed(gateway: Run, probe: list[Stream] | None = None, opened: int = 8) -> Streamed:
    return Streamed(MODEL_RUN, gateway, probe if probe is not None else [whole(20), whole(20)], opened, "")


def test_judge_step1_passes_a_streaming_gateway() -> None:
    criteria = lab12.judge_step1(streamed(streams(16, 0.12, 0.02)))
    assert not failed(criteria)
    assert "TTFT p50 120 ms through your gateway, 100 ms from the model itself (limit 250 ms)" in criteria[1].measured


def test_judge_step1_a_buffered_gateway_sends_the_answer_in_one_piece() -> None:
    """A shared client, the tokens collected in a list (or `await upstream.aread()`), then sent."""
    criteria = lab12.judge_step1(streamed(streams(16, 0.45, 0.0001)))
    assert failed(criteria) == [lab12.WHAT["ttft"]]
    says = advice(criteria, lab12.WHAT["ttft"])
    assert "came 450 ms after they asked" in says and "takes the model (400 ms)" in says and "aread()" in says
    no_fix_given(criteria)


def test_judge_step1_recorded_a_client_per_request_that_streams() -> None:
    """Recorded live (lab 12's tests, 2 shared cores): `async with httpx.AsyncClient() as client,
    client.stream(...)` inside the generator: TTFT p50 607 ms (each new client loads its TLS
    certificates), the tokens after it 20 ms apart; 16 connections for 16 streams."""
    criteria = lab12.judge_step1(streamed(streams(16, 0.607, 0.02), opened=16))
    assert failed(criteria) == [lab12.WHAT["ttft"], lab12.WHAT["pool"]]
    assert "TLS certificates" in advice(criteria, lab12.WHAT["ttft"])
    assert "16 TCP connections for 16 streams, 8 at a time: every request" in advice(criteria, lab12.WHAT["pool"])
    no_fix_given(criteria)


def test_judge_step1_lines_passed_on_without_their_newline() -> None:
    """`yield line` from aiter_lines: the events run together into one line the client cannot parse."""
    merged = Stream(200, 0.01, tokens=[], done=False, odd=['{"id":"x","choices":[...]}data: {"id":"x"'])
    criteria = lab12.judge_step1(streamed(streams(16, 0.40, 0.0), probe=[merged, merged]))
    assert lab12.WHAT["order"] in failed(criteria)
    says = advice(criteria, lab12.WHAT["order"])
    assert "0 token events" in says and "no [DONE]" in says and "a blank line ends it" in says
    assert "did not arrive as events" in advice(criteria, lab12.WHAT["ttft"])  # not "waits for the whole answer"
    no_fix_given(criteria)


def test_judge_step1_answers_that_are_not_an_event_stream() -> None:
    """`StreamingResponse(events())` with no media type: load() cannot read it as a stream (recorded live)."""
    criteria = lab12.judge_step1(Streamed(MODEL_RUN, None, [], 0, "", not_a_stream="no content type"))
    assert failed(criteria) == [lab12.WHAT["event stream"]]
    says = advice(criteria, lab12.WHAT["event stream"])
    assert "answered no content type, not text/event-stream" in says and "media type" in says
    no_fix_given(criteria)


def test_judge_step1_a_gateway_that_fails_shows_the_server_output() -> None:
    broken = Streamed(MODEL_RUN, streams(16, math.nan, 0.0, tokens=1, status=500), [Stream(500)], 0, "KeyError: 'x'")
    criteria = lab12.judge_step1(broken)
    assert failed(criteria) == [c.what for c in criteria] and "KeyError" in criteria[0].measured
    assert "status 500" in criteria[2].measured
    assert advice(criteria, lab12.WHAT["ttft"]) == advice(criteria, lab12.WHAT["pool"]) == lab12.LOOK["none"]


# -- step 2 -----------------------------------------------------------------------------------------
STOPPED = {"cancelled": 6, "finished": 0, "running": 0, "tokens_generated": 18, "tokens_after_client_left": 0}


def leaving(stats: dict, ttft: float = 0.12, waited: float = 0.05) -> Leaving:
    return Leaving(streams(6, ttft, 0.02, tokens=3, left=True), STOPPED | stats, waited, "")


def test_judge_step2_passes_when_the_model_stops() -> None:
    criteria = lab12.judge_step2(leaving({}))
    assert not failed(criteria) and "18 generated, 18 read: 0 for nobody" in criteria[2].measured


def test_judge_step2_recorded_a_task_that_reads_the_model_into_a_queue() -> None:
    """Recorded live: a pump task reads the model into an asyncio.Queue, the response reads the queue;
    0.54 s after the 6 clients left, none cancelled, 6 still running, 171 tokens generated, 18 read."""
    stats = {"cancelled": 0, "running": 6, "tokens_generated": 171}
    criteria = lab12.judge_step2(leaving(stats, waited=0.54))
    assert failed(criteria) == [lab12.WHAT["cancelled"], lab12.WHAT["nobody"]]
    assert "never saw its own client, your gateway, leave" in advice(criteria, lab12.WHAT["cancelled"])
    assert "153 tokens that no client read, 26 a stream" in advice(criteria, lab12.WHAT["nobody"])
    no_fix_given(criteria)


def test_judge_step2_the_starter_buffers_so_nobody_can_leave() -> None:
    stats = {"cancelled": 0, "finished": 6, "tokens_generated": 360}
    criteria = lab12.judge_step2(leaving(stats, ttft=1.5))
    assert failed(criteria) == [lab12.WHAT["cancelled"], lab12.WHAT["nobody"]]
    assert "arrives in one piece. Step 1 first" in advice(criteria, lab12.WHAT["cancelled"])


def test_judge_step2_a_model_that_stops_late() -> None:
    criteria = lab12.judge_step2(leaving({"tokens_generated": 18 + 6 * 5}))
    assert failed(criteria) == [lab12.WHAT["nobody"]] and "5 a stream" in criteria[2].advice


def test_judge_step2_streams_that_fail() -> None:
    run = streams(6, math.nan, 0.0, tokens=1, status=500)
    criteria = lab12.judge_step2(Leaving(run, STOPPED | {"cancelled": 0}, 0.0, "RuntimeError: boom"))
    assert failed(criteria) == [c.what for c in criteria] and "RuntimeError: boom" in criteria[0].measured
    assert advice(criteria, lab12.WHAT["cancelled"]) == lab12.LOOK["none"]


# -- step 3 -----------------------------------------------------------------------------------------
GUARD = {"max_running": 4, "max_waiting": 0}


def capacity(burst: list[Stream], stats: dict = GUARD, leaving: int = 4, later: int = 4) -> Capacity:
    left = [Stream(200, 0.01, tokens=expected(2), left=True)] * leaving + [refusal()] * (4 - leaving)
    return Capacity(burst, stats, left, [whole(5)] * later + [refusal()] * (4 - later), "")


def what(key: str) -> str:
    from asgilab.checks import lab12_guard

    return lab12_guard.WHAT[key]


def test_judge_step3_passes_a_guard() -> None:
    criteria = lab12.judge_step3(capacity([whole(20)] * 4 + [refusal()] * 6))
    assert not failed(criteria) and "slowest refusal 20 ms" in criteria[4].measured


def test_judge_step3_a_guard_released_before_the_stream_ends() -> None:
    """A semaphore held while the route runs, released when it returns its StreamingResponse: all 10
    let in (recorded live: the model ran 4 and queued 6)."""
    criteria = lab12.judge_step3(capacity([whole(20)] * 10, {"max_running": 4, "max_waiting": 6}))
    assert failed(criteria) == [what("queue"), what("refused"), what("retry"), what("fast")]
    says = advice(criteria, what("queue"))
    assert "queued up to 6 sequences behind its 4 slots" in says and "let 10 of the 10 streams in" in says
    assert "returns its StreamingResponse before the first event is sent" in says
    assert "the others waited for a place" in advice(criteria, what("refused"))
    assert "max_running 4, max_waiting 6" in criteria[0].measured
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("burst", "key", "says"),
    [
        ([whole(20)] * 4 + [refusal(retry=None)] * 6, "retry", "6 of the 6 refusals had no Retry-After"),
        ([whole(20)] * 4 + [refusal(0.315)] * 6, "fast", "the slowest refusal took 315 ms"),
        ([whole(20)] * 2 + [refusal()] * 8, "served", "only 2 streams were served while the model has 4 slots"),
        ([whole(20)] * 4 + [refusal()] * 3 + [refusal(status=500)] * 3, "refused", "the gateway also answered"),
    ],
    ids=["no-retry-after", "slow-refusal", "too-strict", "500s"],
)
def test_judge_step3_branches(burst: list[Stream], key: str, says: str) -> None:
    criteria = lab12.judge_step3(capacity(burst))
    assert failed(criteria) == [what(key)] and says in advice(criteria, what(key))
    no_fix_given(criteria)


def test_judge_step3_a_place_kept_by_a_client_that_left() -> None:
    """Recorded live: the count goes down after the stream's loop, not in `finally`: after 4 clients
    left, none of 4 new streams was let in."""
    criteria = lab12.judge_step3(capacity([whole(20)] * 4 + [refusal()] * 6, later=0))
    assert failed(criteria) == [what("back")]
    assert "after their clients left, only 0 of 4" in advice(criteria, what("back"))
    kept = lab12.judge_step3(capacity([whole(20)] * 4 + [refusal()] * 6, leaving=1))
    assert "after the streams ended, only 1 of 4" in advice(kept, what("back"))


def test_judge_step3_a_gateway_that_fails_says_so_first() -> None:
    criteria = lab12.judge_step3(capacity([refusal(0.01, None, 500)] * 10, {"max_running": 0, "max_waiting": 0}, 0, 0))
    assert failed(criteria) == [c.what for c in criteria]
    assert "see the next line" in criteria[0].advice and "the gateway also answered" in criteria[2].advice


# -- step 4 -----------------------------------------------------------------------------------------
ONE = {"started": 1, "cancelled": 2, "running": 0, "waiting": 0, "tokens_generated": 30}


def deadline(late: list[Stream], first: Stream | None = None, stats: dict = ONE) -> Deadline:
    return Deadline(first or whole(30), late, stats, 0.05, "")


def test_judge_step4_passes_a_first_token_deadline() -> None:
    criteria = lab12.judge_step4(deadline([refusal(0.31, None, 504)] * 2))
    assert not failed(criteria) and "the slowest after 310 ms" in criteria[2].measured


def test_judge_step4_recorded_a_deadline_inside_the_stream() -> None:
    """Recorded live: the timeout inside the generator, an error event on TimeoutError: 200 after 7 ms."""
    late = [Stream(200, 0.007, odd=['{"error": ...}'], end_s=0.3)] * 2
    criteria = lab12.judge_step4(deadline(late))
    assert failed(criteria) == [what("504"), what("in time")]
    says = advice(criteria, what("504"))
    assert "answered 200 7 ms after the request, before any token came (none came at all)" in says
    assert "once a status line is out, no 504 can follow" in says
    no_fix_given(criteria)


def test_judge_step4_recorded_a_timeout_over_the_whole_stream() -> None:
    """Recorded live: `async with asyncio.timeout(0.3), client.stream(...)` in the generator."""
    cut = Stream(
        200, 0.006, None, expected(10), [0.166 + 0.02 * i for i in range(10)], False, 0.366, error="RemoteProtocolError"
    )
    late = [Stream(200, 0.006, None, [], [], False, 0.3)] * 2
    criteria = lab12.judge_step4(
        deadline(late, cut, {"started": 3, "cancelled": 3, "running": 0, "waiting": 0, "tokens_generated": 11})
    )
    assert failed(criteria) == [what("first"), what("504"), what("in time"), what("stopped")]
    assert "stopped after 10 of 30 tokens, at 366 ms" in advice(criteria, what("first"))
    no_fix_given(criteria)


def test_judge_step4_recorded_a_wait_that_cancels_nothing() -> None:
    """Recorded live: `asyncio.wait({peek}, timeout=0.3)` then 504, the peeking task left running: the
    model started all 3 sequences."""
    stats = {"started": 3, "cancelled": 2, "running": 0, "waiting": 0, "tokens_generated": 32}
    criteria = lab12.judge_step4(deadline([refusal(0.31, None, 504)] * 2, stats=stats))
    assert failed(criteria) == [what("stopped")]
    assert "went on to run 2 of the 2 sequences it had queued" in advice(criteria, what("stopped"))
    assert "(2 tokens for nobody)" in advice(criteria, what("stopped"))
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("late", "first", "key", "says"),
    [
        ([Stream(200, 0.78, None, expected(5), [0.78], True)] * 2, None, "504", "nothing cut the wait off at 300 ms"),
        ([refusal(0.81, None, 504)] * 2, None, "in time", "the 504 came 810 ms after the request"),
        ([refusal(0.31, None, 504)] * 2, refusal(0.31, None, 504), "first", "look at how long your deadline is"),
    ],
    ids=["no-deadline", "late-504", "too-eager"],
)
def test_judge_step4_branches(late: list[Stream], first: Stream | None, key: str, says: str) -> None:
    criteria = lab12.judge_step4(deadline(late, first))
    assert what(key) in failed(criteria) and says in advice(criteria, what(key))
    no_fix_given(criteria)


def test_judge_step4_no_deadline_at_all_lets_the_model_run_what_it_queued() -> None:
    """Step 1's gateway copied as it is: the queued streams are served, late, and the model runs them."""
    late = [Stream(200, 0.78, None, expected(5), [0.78 + 0.02 * i for i in range(5)], True, 0.9)] * 2
    stats = {"started": 3, "cancelled": 0, "running": 0, "waiting": 0, "tokens_generated": 40}
    criteria = lab12.judge_step4(deadline(late, stats=stats))
    assert failed(criteria) == [what("504"), what("in time"), what("stopped")]
    assert "nothing cut them off" in advice(criteria, what("stopped"))


def test_hints_climb_a_ladder_and_solutions_come_from_the_solution_notebook() -> None:
    assert "whole answer" in lab12.hint(1) and "StreamingResponse" not in lab12.hint(1)
    assert "client.stream" in lab12.hint(1, level=2) and "aiter_lines" in lab12.hint(1, level=3)
    assert "leave_after=3" in lab12.hint(2, level=2) and "ASGI" in lab12.hint(3, level=2)
    assert "Retry-After" in lab12.hint(3, level=3) and "is_token" in lab12.hint(4, level=2)
    assert "client.stream(" in lab12.solution(1) and 'yield {"client": client}' in lab12.solution(1)
    assert "leave_after=3" in lab12.solution(2) and "class Admission" in lab12.solution(3)
    assert "asyncio.timeout(FIRST_TOKEN_S)" in lab12.solution(4) and "Admission" not in lab12.solution(4)
    with pytest.raises(ValueError):
        lab12.hint(5)


# -- live: the contract on the generated starter and the solution, and learner-style variants --------
starter, solution = lab_app_dirs(NOTEBOOK, FILES)

SDK_GATEWAY = """
import os

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

client = AsyncOpenAI(base_url=os.environ["MODEL_URL"] + "/v1", api_key="course", max_retries=0)  # once
app = FastAPI()


@app.post("/v1/chat/completions")
async def chat(request: Request):
    stream = await client.chat.completions.create(**await request.json())

    async def events():  # the SDK parses the model's events; the gateway writes them again
        async for chunk in stream:
            yield f"data: {chunk.model_dump_json(exclude_none=True)}\\n\\n"
        yield "data: [DONE]\\n\\n"

    return StreamingResponse(events(), media_type="text/event-stream")
"""

PUMP_GATEWAY = """
import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from lab12_client import CHAT_URL, lifespan

app = FastAPI(lifespan=lifespan)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body, client, lines = await request.json(), request.state.client, asyncio.Queue()

    async def pump():  # reads the model as fast as it writes, whatever the client's pace
        async with client.stream("POST", CHAT_URL, json=body) as upstream:
            async for line in upstream.aiter_lines():
                await lines.put(line + "\\n")
        await lines.put(None)

    request.state.pump = asyncio.create_task(pump())

    async def events():
        while (line := await lines.get()) is not None:
            yield line

    return StreamingResponse(events(), media_type="text/event-stream")
"""

SEMAPHORE_IN_THE_STREAM = """
import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from lab12_client import CHAT_URL, lifespan

app = FastAPI(lifespan=lifespan)
streams = asyncio.Semaphore(4)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    if streams.locked():
        return JSONResponse({"error": "busy"}, 429, headers={"Retry-After": "2"})
    await streams.acquire()
    body, client = await request.json(), request.state.client

    async def events():
        try:
            async with client.stream("POST", CHAT_URL, json=body) as upstream:
                async for line in upstream.aiter_lines():
                    yield line + "\\n"
        finally:
            streams.release()  # at the stream's end, or when its client left

    return StreamingResponse(events(), media_type="text/event-stream")
"""

SEMAPHORE_WHILE_THE_ROUTE_RUNS = """
import asyncio

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from lab12_client import CHAT_URL, lifespan

app = FastAPI(lifespan=lifespan)
streams = asyncio.Semaphore(4)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    if streams.locked():
        raise HTTPException(503, "busy", headers={"Retry-After": "1"})
    async with streams:  # held while the route runs: until it returns the StreamingResponse
        body, client = await request.json(), request.state.client

        async def events():
            async with client.stream("POST", CHAT_URL, json=body) as upstream:
                async for line in upstream.aiter_lines():
                    yield line + "\\n"

        return StreamingResponse(events(), media_type="text/event-stream")
"""

DEADLINE_IN_THE_STREAM = """
import asyncio
import json

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from lab12_client import CHAT_URL, FIRST_TOKEN_S, is_token, lifespan

app = FastAPI(lifespan=lifespan)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body, client = await request.json(), request.state.client

    async def events():  # the deadline inside the stream: its 200 is already out
        async with client.stream("POST", CHAT_URL, json=body) as upstream:
            lines = upstream.aiter_lines()
            try:
                async with asyncio.timeout(FIRST_TOKEN_S):
                    async for line in lines:
                        yield line + "\\n"
                        if is_token(line):
                            break
            except TimeoutError:
                yield "data: " + json.dumps({"error": {"message": "no first token in time"}}) + "\\n\\n"
                return
            async for line in lines:
                yield line + "\\n"

    return StreamingResponse(events(), media_type="text/event-stream")
"""


def variant(solution: Path, folder: Path, **modules: str) -> Path:
    """The solution's modules in ``folder``, with ``modules`` (name -> source) in place of some."""
    for name in FILES:
        (folder / name).write_text(modules.get(name.removesuffix(".py"), (solution / name).read_text()))
    return folder


@pytest.mark.parametrize(
    ("step", "app", "says"),
    [
        (1, GATEWAY, ("as late as a whole answer takes the model", "16 TCP connections for 16 streams")),
        (2, GATEWAY, ("arrives in one piece", "for nobody")),
        (3, CAPACITY, ("the model queued up to", "max_waiting")),
        (4, DEADLINE, ("NotImplementedError", "[FAIL] a stream whose first token comes in time")),
    ],
)
def test_step_fails_on_the_starter(starter: Path, step: int, app: str, says: tuple[str, ...]) -> None:
    text = check_fails(getattr(lab12, f"step{step}"), app, starter, *says)
    assert text.splitlines()[-1].startswith(f"Stuck? check.hint({step})")


@pytest.mark.parametrize(("step", "app"), [(1, GATEWAY), (2, GATEWAY), (3, CAPACITY), (4, DEADLINE)])
def test_step_passes_on_the_solution(solution: Path, step: int, app: str) -> None:
    print(check_passes(getattr(lab12, f"step{step}"), app, solution))


def test_steps_1_and_2_pass_the_openai_sdk_created_once(solution: Path, tmp_path: Path) -> None:
    folder = variant(solution, tmp_path, lab12_gateway=SDK_GATEWAY)
    print(check_passes(lab12.step1, GATEWAY, folder))
    print(check_passes(lab12.step2, GATEWAY, folder))


def test_step1_a_stream_with_no_media_type_fails_with_feedback_not_a_traceback(solution: Path, tmp_path: Path) -> None:
    untyped = (solution / "lab12_gateway.py").read_text().replace(', media_type="text/event-stream"', "")
    assert untyped != (solution / "lab12_gateway.py").read_text()
    folder = variant(solution, tmp_path, lab12_gateway=untyped)
    check_fails(lab12.step1, GATEWAY, folder, "not text/event-stream", "media type", failed_only=True)


def test_step2_fails_a_task_that_reads_the_model_apart_from_the_response(solution: Path, tmp_path: Path) -> None:
    folder = variant(solution, tmp_path, lab12_gateway=PUMP_GATEWAY)
    check_fails(lab12.step2, GATEWAY, folder, "never saw its own client", "for nobody", failed_only=True)


def test_step3_passes_a_semaphore_released_when_the_stream_ends(solution: Path, tmp_path: Path) -> None:
    folder = variant(solution, tmp_path, lab12_capacity=SEMAPHORE_IN_THE_STREAM)
    print(check_passes(lab12.step3, CAPACITY, folder))


def test_step3_fails_a_semaphore_released_when_the_route_returns(solution: Path, tmp_path: Path) -> None:
    folder = variant(solution, tmp_path, lab12_capacity=SEMAPHORE_WHILE_THE_ROUTE_RUNS)
    text = check_fails(
        lab12.step3, CAPACITY, folder, "returns its StreamingResponse before the first event", failed_only=True
    )
    assert "max_waiting 0" not in text and "max_waiting" in text


def test_step4_fails_a_deadline_inside_the_stream(solution: Path, tmp_path: Path) -> None:
    folder = variant(solution, tmp_path, lab12_deadline=DEADLINE_IN_THE_STREAM)
    check_fails(lab12.step4, DEADLINE, folder, "once a status line is out, no 504 can follow", failed_only=True)


def test_a_gateway_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab12_gateway.py").write_text("import no_such_module_for_lab12\n")
    text = check_fails(lab12.step1, GATEWAY, tmp_path, f"[FAIL] the app {GATEWAY!r} starts", "no_such_module_for_lab12")
    assert text.splitlines()[-1].startswith("Stuck? check.hint(1)")
