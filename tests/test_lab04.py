"""Lab 04: every criterion and advice branch on hand-built measurements (milliseconds), then the
live contract: each step fails on the starter (and on near misses) and passes on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import CheckFailed, Criterion, Feedback, lab04, verdict
from asgilab.checks.lab04 import Lifespan, Pooling
from asgilab.checks.testing import made_run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab04_connection_pooling.ipynb"
APP, AIO_APP = "lab04_app:app", "lab04_aio_app:app"
LOGS = "INFO:     Started server process\nRuntimeError: upstream said no"
FIXES = ("Limits(", "max_connections=", "TCPConnector", "aclose", "async with", "yield {")


def by_what(criteria: list[Criterion]) -> dict[str, Criterion]:
    return {c.what: c for c in criteria}


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


# -- judging, on hand-built measurements --------------------------------------------------
def pooling(opened: int = 10, rps: float = 100.0, ref_rps: float = 30.0, ok: int = 60) -> Pooling:
    run = made_run(ok, {"status 500": 60 - ok} if ok < 60 else None, wall_s=ok / rps)
    stats = {"requests": ok, "connections_opened": opened, "connections_open": opened, "max_in_flight": 10}
    return Pooling(run, made_run(60, wall_s=60 / ref_rps), stats, LOGS)


def test_judge_step1_passes_a_pooled_fast_gateway() -> None:
    criteria = lab04.judge_step1(pooling())
    assert all(c.passed for c in criteria) and len(criteria) == 3
    assert "10 new TCP connections for 60 upstream requests" in criteria[1].measured
    assert "(3.3x)" in criteria[2].measured


def test_judge_step1_a_connection_per_request() -> None:
    criteria = lab04.judge_step1(pooling(opened=60, rps=25.0))
    failed = [c for c in criteria if not c.passed]
    assert [c.what for c in failed] == [
        "the upstream sees at most 10 new connections",
        "throughput at least 1.5x a gateway that makes a client per request",
    ]
    assert "one new connection per request" in failed[0].advice
    assert "50 ms handshake" in failed[1].advice and "(0.8x)" in failed[1].measured
    no_fix_given(criteria)


def test_judge_step1_reused_but_unlimited() -> None:
    criteria = lab04.judge_step1(pooling(opened=50))
    assert not criteria[1].passed and "opened more than 10" in criteria[1].advice
    assert criteria[2].passed
    no_fix_given(criteria)


def test_judge_connections_when_the_upstream_got_nothing() -> None:
    criteria = lab04.judge_step3(
        Lifespan(made_run(0, {"status 500": 60}), {"requests": 0, "connections_opened": 0}, report(), LOGS)
    )
    assert not criteria[1].passed and "no request at all" in criteria[1].advice


def test_judge_step1_shared_but_slow_points_at_the_pool_size() -> None:
    criteria = lab04.judge_step1(pooling(opened=2, rps=35.0))
    assert criteria[1].passed and not criteria[2].passed
    assert "pool much smaller than 10" in criteria[2].advice


def test_judge_step1_failed_requests_show_kinds_and_the_servers_last_lines() -> None:
    answered = lab04.judge_step1(pooling(ok=55))[0]
    assert not answered.passed
    assert "55/60 answered" in answered.measured and "status 500: 5" in answered.measured
    assert "RuntimeError: upstream said no" in answered.measured
    assert "{UPSTREAM_URL}/delay" in answered.advice


def test_judge_step1_without_a_reference_figure_fails_safely() -> None:
    m = pooling()
    m.reference = made_run(0, {"timeout": 60}, wall_s=0.0)
    assert not lab04.judge_step1(m)[2].passed


def report(*clients: tuple[str, bool], at_import: int = 0) -> dict:
    made = [{"type": kind, "closed": closed} for kind, closed in clients]
    return {"at_import": at_import, "created_at_startup": made, "shutdown": "lifespan.shutdown.complete"}


def lifespan(rep: dict | None, opened: int = 10) -> Lifespan:
    return Lifespan(made_run(20), {"requests": 20, "connections_opened": opened}, rep, LOGS)


STARTUP, CLOSED = (
    "a client is created while the app starts, in its lifespan",
    "every client made at startup is closed when shutdown completes",
)


def test_judge_step2_passes_a_client_made_and_closed() -> None:
    criteria = lab04.judge_step2(lifespan(report(("httpx.AsyncClient", True))))
    assert all(c.passed for c in criteria)
    assert "1 client(s) created during startup (httpx.AsyncClient); 0 created at import" in criteria[1].measured


@pytest.mark.parametrize(
    ("rep", "failed", "advice"),
    [
        (report(), {STARTUP, CLOSED}, "no HTTP client existed once startup was over"),
        (report(at_import=1), {STARTUP, CLOSED}, "made at import"),
        (report(("httpx.AsyncClient", False)), {CLOSED}, "after `yield`"),
        (report(("httpx.AsyncClient", True), ("httpx.AsyncClient", False)), {CLOSED}, "1 of 2 closed"),
    ],
)
def test_judge_step2_branches(rep: dict, failed: set[str], advice: str) -> None:
    criteria = lab04.judge_step2(lifespan(rep))
    assert {c.what for c in criteria if not c.passed} == failed
    assert advice in "\n".join(c.line() for c in criteria)
    no_fix_given(criteria)


def test_judge_step2_a_shutdown_that_never_completed() -> None:
    criteria = lab04.judge_step2(lifespan(None))
    assert [c.what for c in criteria if not c.passed] == ["the app's lifespan shutdown completes"]
    assert "RuntimeError: upstream said no" in criteria[1].measured


def test_judge_step3_wants_an_aiohttp_session_within_the_bound() -> None:
    good = lab04.judge_step3(lifespan(report(("aiohttp.ClientSession", True))))
    assert all(c.passed for c in good) and len(good) == 5
    httpx_one = by_what(lab04.judge_step3(lifespan(report(("httpx.AsyncClient", True)))))
    library = httpx_one["the client made at startup is an aiohttp.ClientSession"]
    assert not library.passed and "httpx.AsyncClient" in library.measured and "aiohttp" in library.advice
    unlimited = lab04.judge_step3(lifespan(report(("aiohttp.ClientSession", True)), opened=50))
    assert [c.what for c in unlimited if not c.passed] == ["the upstream sees at most 10 new connections"]
    assert len(lab04.judge_step3(lifespan(None))) == 3  # no report: no library line, the shutdown line


def test_a_failed_step_ends_with_the_hint_ladder() -> None:
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback(lab04.TITLES[1], lab04.judge_step1(pooling(opened=60)), step=1))
    last = str(failure.value.feedback).splitlines()[-1]
    assert "check.hint(1)" in last and "level=2" in last and "level=3" in last and "check.solution(1)" in last


def test_hints_climb_a_ladder_and_solutions_come_from_the_solution_notebook() -> None:
    assert "proxy()" in lab04.hint(1) and "check.hint(1, level=2)" in lab04.hint(1)
    assert "Limits" in lab04.hint(1, level=2) and "Limits" not in lab04.hint(1)
    assert "yield" in lab04.hint(2, level=3) and "check.solution(2)" in lab04.hint(2, level=3)
    assert "TCPConnector" in lab04.hint(3, level=2)
    assert repr(lab04.hint(1)) == str(lab04.hint(1))
    assert "request.state.client.get" in lab04.solution(1) and "aiohttp" not in lab04.solution(1)
    assert "TCPConnector(limit=MAX_CONNECTIONS)" in lab04.solution(3) and "httpx" not in lab04.solution(3)
    with pytest.raises(ValueError):
        lab04.hint(4)
    with pytest.raises(ValueError):
        lab04.hint(1, level=4)


# -- live: the contract on the generated starter, near misses, and the solution ----------------
UNLIMITED_UNCLOSED = """
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

UPSTREAM = os.environ["UPSTREAM_URL"]


@asynccontextmanager
async def lifespan(app: FastAPI):
    client = httpx.AsyncClient()  # default limits: up to 100 connections; never closed
    yield {"client": client}


app = FastAPI(lifespan=lifespan)


@app.get("/proxy")
async def proxy(request: Request, ms: int = 10):
    response = await request.state.client.get(f"{UPSTREAM}/delay", params={"ms": ms})
    return response.json()
"""

starter, solution = lab_app_dirs(NOTEBOOK, {"lab04_app.py", "lab04_client.py", "lab04_aio_app.py"})


@pytest.fixture(scope="module")
def near_miss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab04_near_miss")
    (folder / "lab04_app.py").write_text(UNLIMITED_UNCLOSED)
    (folder / "lab04_aio_app.py").write_text(UNLIMITED_UNCLOSED)  # right shape, wrong library
    return folder


def test_starter_is_a_client_per_request(starter: Path) -> None:
    source = (starter / "lab04_app.py").read_text()
    assert "async with httpx.AsyncClient() as client" in source
    assert "request.state.client" not in source


def test_step1_fails_on_the_starter(starter: Path) -> None:
    check_fails(
        lab04.step1,
        APP,
        starter,
        "new TCP connections",
        "one new connection per request",
        "throughput",
        failed_only=True,
    )


def test_step1_fails_without_a_pool_limit(near_miss: Path) -> None:
    text = check_fails(lab04.step1, APP, near_miss, "at most 10 new connections", failed_only=True)
    assert "throughput" not in text


def test_step1_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab04.step1, APP, solution))


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab04.step2, APP, starter, "0 client(s) created during startup", failed_only=True)


def test_step2_fails_when_the_client_is_never_closed(near_miss: Path) -> None:
    text = check_fails(lab04.step2, APP, near_miss, "0 of 1 closed", failed_only=True)
    assert "created during startup" not in text  # that part was right


def test_step2_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab04.step2, APP, solution))


def test_step3_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab04.step3, AIO_APP, starter, "answers every request", "NotImplementedError", failed_only=True)


def test_step3_fails_on_an_httpx_gateway(near_miss: Path) -> None:
    check_fails(
        lab04.step3,
        AIO_APP,
        near_miss,
        "is an aiohttp.ClientSession: made at startup: httpx.AsyncClient",
        failed_only=True,
    )


def test_step3_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab04.step3, AIO_APP, solution))


def test_a_gateway_that_does_not_start_gets_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab04_app.py").write_text("raise RuntimeError('boom at import')\n")
    for step in (lab04.step1, lab04.step2):
        text = check_fails(step, APP, tmp_path, f"the app {APP!r} starts", "boom at import")
        assert text.splitlines()[-1].startswith("Stuck? check.hint(")
