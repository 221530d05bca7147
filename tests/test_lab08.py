"""Lab 08: every criterion and advice branch on hand-built measurements (milliseconds), then the
live contract: each step fails on the starter (and on the timeout that covers the query too) and
passes on the solution and on learner-style variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.apps import ledger
from asgilab.checks import Criterion, lab08
from asgilab.checks.lab08 import Deadline, Overload
from asgilab.results import Record, Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab08_threadpool_and_backpressure.ipynb"
APP, DEADLINE_APP, SLO_APP = "lab08_app:app", "lab08_deadline_app:app", "lab08_slo_app:app"
FIXES = ("Semaphore", "asyncio.timeout(", "HTTPException", "acquire", "release", "wait_for", "size the", "(10)")


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[str]:
    return [c.what for c in criteria if not c.passed]


def run(*groups: tuple[int, float, int | None, str | None], rate: float | None = 300.0) -> Run:
    """A run of (count, latency_s, status, error) groups, every request due at 0."""
    records = [
        Record(0.0, latency, status, error, 0.0) for count, latency, status, error in groups for _ in range(count)
    ]
    return Run("http://test/report", len(records), 1000, "made", records, rate=rate, wall_s=1.6)


def served(count: int, latency: float = 0.15) -> tuple[int, float, int, None]:
    return (count, latency, 200, None)


def refused(count: int, latency: float = 0.06, status: int = 503) -> tuple[int, float, int, None]:
    return (count, latency, status, None)


# -- step 1, on hand-built runs of 450 requests at 300 requests/s --------------------------------
def test_judge_step1_passes_a_bulkhead() -> None:
    criteria = lab08.judge_step1(Overload(run(served(150), refused(300)), ""))
    assert not failed(criteria)
    assert "p99 150 ms of the 150 served" in criteria[0].measured and "150/450 served (33%)" in criteria[1].measured


def test_judge_step1_the_starter_queues_everything() -> None:
    criteria = lab08.judge_step1(Overload(run(served(450, 2.4)), ""))
    assert failed(criteria) == [lab08.WHAT["p99"], lab08.WHAT["503"], "refusals are fast: p99 within 250 ms"]
    assert "arrivals minus departures" in criteria[0].advice and "nothing was refused" in criteria[2].advice
    assert "no steady state" in criteria[0].advice
    no_fix_given(criteria)


def test_judge_step1_a_timeout_around_the_query_too_says_so() -> None:
    """`async with asyncio.timeout(0.05): async with bulkhead: return await db.query(ms)`: every
    request times out during its 100 ms query and is answered 503, even with the database idle."""
    criteria = lab08.judge_step1(Overload(run(refused(450, 0.052)), ""))
    assert failed(criteria) == [lab08.WHAT["p99"], lab08.WHAT["fifth"]]
    assert "also covers the query itself" in criteria[1].advice and "timeout's block" in criteria[1].advice
    assert "52 ms after they were due, less than one 100 ms query" in criteria[1].advice
    assert "lets through" not in criteria[1].advice and "see the next line" in criteria[0].advice
    no_fix_given(criteria)


def test_judge_step1_recorded_the_blocking_call_on_the_event_loop() -> None:
    """Recorded live (December 2026, 2 shared cores): lesson 08's bulkhead in an async def around
    blocking_db.query: 29 served (p99 2885 ms), 421 timed out, none refused, over 4.5 s."""
    overload = Overload(run(served(29, 2.885), (421, 3.0, None, "timeout")), "")
    overload.run.wall_s = 4.5
    criteria = lab08.judge_step1(overload)
    assert failed(criteria) == [
        lab08.WHAT["p99"],
        lab08.WHAT["fifth"],
        lab08.WHAT["503"],
        "refusals are fast: p99 within 250 ms",
    ]
    assert "6 requests/s, no more than one 100 ms query at a time" in criteria[1].advice
    assert "which thread runs the blocking query" in criteria[0].advice
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("groups", "what", "says"),
    [
        ((served(50), refused(400)), lab08.WHAT["fifth"], "lets through at once"),  # a guard of 3
        ((served(150), refused(200), (100, 3.0, None, "timeout")), lab08.WHAT["503"], "no answer within 3 s"),
        ((served(150), refused(250), refused(50, 0.06, 500)), lab08.WHAT["503"], "must be 503"),
        ((served(150), refused(300, 0.4)), "refusals are fast: p99 within 250 ms", "before it is refused"),
    ],
)
def test_judge_step1_branches(groups, what: str, says: str) -> None:
    criteria = lab08.judge_step1(Overload(run(*groups), ""))
    assert failed(criteria) == [what]
    assert says in next(c for c in criteria if c.what == what).advice
    no_fix_given(criteria)


# -- step 2 ----------------------------------------------------------------------------------------
def deadline(slow: tuple, after: tuple = served(30, 0.1)) -> Deadline:
    return Deadline(run(slow, rate=None), run(after, rate=None))


def test_judge_step2_passes_a_deadline_that_frees_the_slot() -> None:
    criteria = lab08.judge_step2(deadline(refused(10, 1.0, 504)))
    assert not failed(criteria) and "10/10 answered, slowest 1000 ms" in criteria[0].measured


def test_judge_step2_the_starter_holds_the_request_and_the_slot() -> None:
    criteria = lab08.judge_step2(deadline((10, 2.5, None, "timeout"), served(30, 2.9)))
    assert failed(criteria) == [lab08.WHAT["in time"], lab08.WHAT["504"], lab08.WHAT["after"]]
    assert "gave up after 2.5 s" in criteria[0].advice and "lesson 08, section 6" in criteria[2].advice
    no_fix_given(criteria)


def test_judge_step2_recorded_a_deadline_that_stops_waiting_but_not_the_query() -> None:
    """Recorded live (November 2026): `asyncio.wait([task], timeout=1.0)` then 504, the task left
    running: 10/10 answered 504, slowest 1009 ms; afterwards 10/30 ok, p99 296 ms."""
    criteria = lab08.judge_step2(
        Deadline(run(refused(10, 1.009, 504), rate=None), run(served(10, 0.296), refused(20, 1.0, 504), rate=None))
    )
    assert failed(criteria) == [lab08.WHAT["after"]] and "10/30 ok, p99 296 ms" in criteria[2].measured
    assert "stops the query itself or only stops waiting for it" in criteria[2].advice
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("slow", "what", "says"),
    [
        (refused(10, 1.8, 504), lab08.WHAT["in time"], "later than 1.5 s"),
        (refused(10, 1.0, 500), lab08.WHAT["504"], "504 Gateway Timeout"),
    ],
)
def test_judge_step2_branches(slow: tuple, what: str, says: str) -> None:
    criteria = lab08.judge_step2(deadline(slow))
    assert what in failed(criteria) and says in next(c for c in criteria if c.what == what).advice
    no_fix_given(criteria)


# -- step 3, on runs of 160 requests at 80 requests/s (3x the ledger's 26.7/s) ---------------------
def test_judge_step3_passes_a_guard_sized_from_the_measurement() -> None:
    criteria = lab08.judge_step3(Overload(run(served(56, 0.2), refused(104, 0.055), rate=80), ""))
    assert not failed(criteria)
    assert "56 served in 2 s: 105% of the ledger's capacity" in criteria[1].measured


def test_judge_step3_recorded_a_guard_copied_from_step_1() -> None:
    """Recorded live (November 2026): `asyncio.Semaphore(10)` with a 50 ms wait, on the ledger:
    62 served, p99 476 ms; 98 refused, p99 53 ms."""
    criteria = lab08.judge_step3(Overload(run(served(62, 0.476), refused(98, 0.053), rate=80), ""))
    assert failed(criteria) == [lab08.WHAT["slo p99"]]
    assert "in your guard or in the ledger's own queue" in criteria[0].advice
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("groups", "what", "says"),
    [
        ((served(43, 0.2), refused(117)), lab08.WHAT["slo share"], "lets through at once"),  # a guard of 3
        ((served(56, 0.25), refused(104, 0.2)), "refusals are fast: p99 within 150 ms", "before it is refused"),
        ((served(60, 2.9), (100, 3.0, None, "timeout")), lab08.WHAT["503"], "no answer within 3 s"),  # no guard
    ],
)
def test_judge_step3_branches(groups, what: str, says: str) -> None:
    criteria = lab08.judge_step3(Overload(run(*groups, rate=80), ""))
    assert what in failed(criteria) and says in next(c for c in criteria if c.what == what).advice
    no_fix_given(criteria)


def test_hints_climb_a_ladder_and_solutions_come_from_the_solution_notebook() -> None:
    assert "queue" in lab08.hint(1) and "Semaphore" not in lab08.hint(1)
    assert "Semaphore" in lab08.hint(1, level=2) and "asyncio.timeout(1.0)" in lab08.hint(2, level=2)
    assert "Little's law" in lab08.hint(3) and "Semaphore(4)" in lab08.hint(3, level=3)
    assert "bulkhead.acquire(timeout=0.05)" in lab08.solution(1) and "504" not in lab08.solution(1)
    assert "BoundedSemaphore" in lab08.hint(1, level=2) and "worker threads" in lab08.hint(1)
    assert "asyncio.timeout(1.0)" in lab08.solution(2) and "bulkhead" not in lab08.solution(2)
    assert "ledger.query()" in lab08.solution(3)
    with pytest.raises(ValueError):
        lab08.hint(4)


# -- live: the contract on the generated starter, near misses, the solution and variants ------
# Step 1: lesson 08's bulkhead pasted into an async def endpoint, the blocking call left in it; and a
# correct shape unlike the solution: an async def endpoint that sends the call to AnyIO's threads.
LESSON_BULKHEAD = """
import asyncio

from fastapi import FastAPI, HTTPException, Query
from lab08_helpers import blocking_db

app = FastAPI()
bulkhead = asyncio.Semaphore(10)


@app.get("/report")
async def report(ms: int = Query(100, ge=0, le=10_000)):
    try:
        async with asyncio.timeout(0.05):
            await bulkhead.acquire()
    except TimeoutError:
        raise HTTPException(503, "busy") from None
    try:
        return {CALL}
    finally:
        bulkhead.release()
"""
INLINE, IN_A_THREAD = "blocking_db.query(ms)", "await anyio.to_thread.run_sync(blocking_db.query, ms)"


# Step 3, two guards that differ from the solution: refuse at once when every slot is taken; wait
# for a slot with asyncio.wait_for and a counted guard.
SLO_NO_WAIT = """
import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from lab08_helpers import ledger

app = FastAPI()
guard = asyncio.Semaphore(4)


@app.get("/balance")
async def balance():
    if guard.locked():  # all 4 slots taken: refuse now
        return JSONResponse({"error": "busy"}, status_code=503)
    async with guard:
        return await ledger.query()
"""

SLO_WAIT_FOR = """
import asyncio

from fastapi import FastAPI, HTTPException
from lab08_helpers import ledger

app = FastAPI()
slots = asyncio.BoundedSemaphore(4)


@app.get("/balance")
async def balance():
    try:
        await asyncio.wait_for(slots.acquire(), timeout=0.08)
    except TimeoutError:
        raise HTTPException(503, "busy", headers={"Retry-After": "1"}) from None
    try:
        return await ledger.query()
    finally:
        slots.release()
"""

starter, solution = lab_app_dirs(
    NOTEBOOK, {"lab08_helpers.py", "lab08_app.py", "lab08_deadline_app.py", "lab08_slo_app.py"}
)


def test_step1_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab08.step1, APP, starter, "arrivals minus departures", "[FAIL] the served requests' p99")


def test_step1_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab08.step1, APP, solution))


def test_step1_the_lesson_bulkhead_around_a_blocking_call(solution: Path, tmp_path: Path) -> None:
    (tmp_path / "lab08_helpers.py").write_text((solution / "lab08_helpers.py").read_text())
    (tmp_path / "lab08_app.py").write_text(LESSON_BULKHEAD.replace("{CALL}", INLINE))
    check_fails(lab08.step1, APP, tmp_path, "one 100 ms query at a time", "which thread runs", failed_only=True)


def test_step1_passes_an_async_bulkhead_that_sends_the_call_to_a_thread(solution: Path, tmp_path: Path) -> None:
    (tmp_path / "lab08_helpers.py").write_text((solution / "lab08_helpers.py").read_text())
    source = LESSON_BULKHEAD.replace("{CALL}", IN_A_THREAD).replace(
        "import asyncio\n", "import asyncio\n\nimport anyio.to_thread\n"
    )
    (tmp_path / "lab08_app.py").write_text(source)
    print(check_passes(lab08.step1, APP, tmp_path))


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab08.step2, DEADLINE_APP, starter, "gave up after 2.5 s", failed_only=True)


def test_step2_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab08.step2, DEADLINE_APP, solution))


def test_step3_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab08.step3, SLO_APP, starter, "SLO: the served requests' p99 within 300 ms", failed_only=True)


def test_step3_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab08.step3, SLO_APP, solution))


@pytest.mark.parametrize("source", [SLO_NO_WAIT, SLO_WAIT_FOR], ids=["refuse-at-once", "wait-for"])
def test_step3_passes_on_other_correct_guards(solution: Path, tmp_path: Path, source: str) -> None:
    (tmp_path / "lab08_helpers.py").write_text((solution / "lab08_helpers.py").read_text())
    (tmp_path / "lab08_slo_app.py").write_text(source)
    print(check_passes(lab08.step3, SLO_APP, tmp_path))


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab08_app.py").write_text("import no_such_module_for_lab08\n")
    text = check_fails(lab08.step1, APP, tmp_path, f"[FAIL] the app {APP!r} starts", "no_such_module_for_lab08")
    assert text.splitlines()[-1].startswith("Stuck? check.hint(1)")


def test_the_ledger_source_shows_no_figure_to_copy() -> None:
    """Step 3's figures are measured, not read: ledger.py draws them from a seed; the solution's guard
    and the recorded runs above are for the figures it draws."""
    source = Path(ledger.__file__).read_text()
    assert "0.15" not in source and "150" not in source
    assert (ledger.LEDGER_SLOTS, ledger.LEDGER_QUERY_S) == (4, 0.15)
