"""Lab 02: every criterion and advice branch on hand-built measurements (milliseconds), then the live
contract: each step fails on the generated starter and passes on the solution, and learner-style
variants (two right, two wrong) are judged as they should be."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asgilab.checks import CheckFailed, Criterion, Feedback, lab02, verdict
from asgilab.checks.lab02 import Lint, Measured
from asgilab.checks.testing import made_run
from asgilab.results import Record, Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab02_blocking_pitfalls.ipynb"
APP = "lab02_app:app"
FILES = {"lab02_helpers.py", "lab02_app.py", "lab02_orders.py", "lab02_rates.py", "lab02_login.py", "lab02_export.py"}
FIXES = ("to_thread", "run_sync", "AsyncClient", "partial(", "plain `def`", "lifespan")
STARTED = "INFO:     Started server process\n"


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[Criterion]:
    return [c for c in criteria if not c.passed]


def with_pings(run: Run, *pings_ms: float) -> Run:
    run.probe_records = [Record(0.0, ping / 1000, 200) for ping in pings_ms]
    return run


def burst(step: int, wall_s: float, ping_ms: float, ok: int = 20, logs: str = STARTED, peak: int = 0) -> Measured:
    run = with_pings(made_run(ok, {"status 500": 20 - ok} if ok < 20 else None, wall_s=wall_s), ping_ms, ping_ms)
    return Measured(step, {1: "/orders", 2: "/rates"}[step], run, logs, peak=peak)


def alone(path: str, call_ms: float, ping_ms: float, ok: int = 4, logs: str = STARTED, **kw) -> Measured:
    timed = made_run(2, latency_s=call_ms / 1000)
    run = with_pings(made_run(ok, {"status 500": 4 - ok} if ok < 4 else None, wall_s=0.5), ping_ms, ping_ms, ping_ms)
    return Measured({"/login": 3, "/export": 5}[path], path, run, logs, timed, **kw)


CSV = b"order_id,customer,amount,date\n0,0,0.00,2026-01-01\n"


# -- judging, on hand-built measurements --------------------------------------------------
def test_judge_step1_passes_overlapped_orders_and_a_fast_canary() -> None:
    criteria = lab02.judge_step1(burst(1, wall_s=0.15, ping_ms=3))
    assert all(c.passed for c in criteria) and len(criteria) == 4
    assert criteria[1].measured == "median latency 100 ms"
    assert "about 13.3 at once: 2.0 s of waiting done in 0.15 s" in criteria[2].measured
    assert "/ping median 3 ms" in criteria[3].measured and "under 30 ms" in criteria[3].what


def test_judge_step1_orders_served_one_at_a_time() -> None:
    criteria = lab02.judge_step1(burst(1, wall_s=2.05, ping_ms=95))
    assert [c.what.split(" (")[0] for c in failed(criteria)] == [
        "20 concurrent requests are served together",
        "/ping stays fast while /orders runs",
    ]
    assert "one at a time" in criteria[2].advice and "load_order_history()" in criteria[2].advice
    assert "holds the event loop" in criteria[3].advice and "/ping median 95 ms" in criteria[3].measured
    no_fix_given(criteria)


def test_judge_step1_a_helper_that_no_longer_waits() -> None:
    m = burst(1, wall_s=0.01, ping_ms=1)
    m.run = with_pings(made_run(20, wall_s=0.01, latency_s=0.002), 1)  # load_order_history() edited away
    criteria = lab02.judge_step1(m)
    failed = [c.what for c in criteria if not c.passed]  # and no impossible "at once" figure for 20 requests
    assert failed[0] == "each request really waits 100 ms" and all("served together" in w for w in failed[1:])
    assert "keep load_order_history() as it is" in criteria[1].advice


def test_judge_step1_recognises_a_call_made_before_the_thread_starts() -> None:
    logs = STARTED + "TypeError: 'list' object is not callable"  # run_sync(load_order_history(customer))
    answered = lab02.judge_step1(burst(1, wall_s=2.0, ping_ms=95, ok=0, logs=logs))[0]
    assert not answered.passed and "0/20 answered" in answered.measured
    assert "handed the result of a call, not a function" in answered.advice
    no_fix_given([answered])


def test_judge_step2_passes_overlapped_rates_seen_together_upstream() -> None:
    criteria = lab02.judge_step2(burst(2, wall_s=0.2, ping_ms=2, peak=20))
    assert all(c.passed for c in criteria) and len(criteria) == 4
    assert criteria[2].measured == "at most 20 upstream call(s) in flight at once"


def test_judge_step2_a_client_built_for_every_call() -> None:
    # A new httpx.AsyncClient per request frees the loop while it waits, but builds an SSL context on the
    # loop every time: the calls overlap only partly (about 3 at once seen in a learner's try).
    criteria = lab02.judge_step2(burst(2, wall_s=0.65, ping_ms=20, peak=12))
    failed = [c for c in criteria if not c.passed]
    assert [c.what for c in failed] == [criteria[1].what] and "builds for every call" in failed[0].advice


def test_judge_step2_a_sync_client_on_the_loop() -> None:
    criteria = lab02.judge_step2(burst(2, wall_s=2.1, ping_ms=100, peak=1))
    assert len(failed(criteria)) == 3 and not criteria[2].passed
    assert "one after another" in criteria[2].advice and "requests.get" in criteria[2].advice
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("AttributeError: 'coroutine' object has no attribute 'json'", "nothing awaited"),
        ("AttributeError: 'State' object has no attribute 'client'", "only what the app's lifespan yields"),
        ("httpx.ConnectError: All connection attempts failed", "UPSTREAM_URL"),
    ],
)
def test_judge_step2_failed_requests_name_what_went_wrong(error: str, advice: str) -> None:
    answered = lab02.judge_step2(burst(2, wall_s=0.2, ping_ms=2, ok=0, logs=STARTED + error, peak=0))[0]
    assert not answered.passed and advice in answered.advice and error in answered.measured


def test_judge_step3_measures_ping_against_one_login_alone() -> None:
    good = lab02.judge_step3(alone("/login", call_ms=300, ping_ms=4))
    assert all(c.passed for c in good) and "one /login alone, which took 300 ms" in good[1].what
    bad = lab02.judge_step3(alone("/login", call_ms=300, ping_ms=280))
    assert failed(bad) == [bad[1]] and "hash_password()" in bad[1].advice
    no_fix_given(bad)


def test_judge_step3_when_login_fails_alone_there_is_no_burst() -> None:
    m = alone("/login", call_ms=300, ping_ms=4, logs=STARTED + "NameError: name 'anyio' is not defined")
    m.alone = m.run = made_run(0, {"status 500": 2})  # failed alone: the measurement holds no burst
    criteria = lab02.judge_step3(m)
    assert len(criteria) == 1 and not criteria[0].passed and "NameError" in criteria[0].measured


def test_judge_step5_passes_a_gzipped_csv_compressed_off_the_loop() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=3, unzipped=CSV))
    assert all(c.passed for c in criteria) and len(criteria) == 3
    assert "b'order_id,customer" in criteria[2].measured


def test_judge_step5_compression_on_the_loop() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=170, unzipped=CSV))
    assert failed(criteria) == [criteria[1]] and "gzip.compress" in criteria[1].advice
    assert "median under 54 ms: 30% of one /export alone, which took 180 ms" in criteria[1].what
    no_fix_given(criteria)


def test_judge_step5_an_export_that_is_no_longer_gzip() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=20, ping_ms=1, unzipped=None))
    assert failed(criteria) == [criteria[2]] and criteria[2].measured == "not gzip data"
    plain = lab02.judge_step5(alone("/export", call_ms=20, ping_ms=1, unzipped=b"<html>"))
    assert not plain[2].passed


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (
            "TypeError: run_sync() got an unexpected keyword argument 'compresslevel'",
            "went to the function that starts",
        ),
        ("TypeError: 'bytes' object is not callable", "handed the result of a call"),
    ],
)
def test_judge_step5_recognises_likely_wrong_shapes(error: str, advice: str) -> None:
    answered = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=3, ok=0, logs=STARTED + error))[0]
    assert not answered.passed and advice in answered.advice
    no_fix_given([answered])


def test_judge_step4_branches() -> None:
    clean = lab02.judge_step4(Lint(Path("/x/lab02_app.py"), "lab02_*.py", 0, []))
    assert clean[0].passed and clean[0].measured == "no finding"
    finding = "/tmp/x/lab02_rates.py:14:16: ASYNC210 Async functions should not call blocking HTTP methods"
    found = lab02.judge_step4(Lint(Path("/x/lab02_app.py"), "lab02_*.py", 1, [finding]))[0]
    assert not found.passed and found.measured.startswith("1 finding(s): lab02_rates.py:14: ASYNC210")
    assert found.what == "`ruff check --select ASYNC lab02_*.py` finds nothing"
    crashed = lab02.judge_step4(Lint(Path("/x/lab02_app.py"), "lab02_*.py", 2, []))[0]
    assert not crashed.passed and crashed.measured == "ruff exited with code 2"
    missing = lab02.judge_step4(Lint(Path("/x/lab02_app.py"), "lab02_*.py", None, []))[0]
    assert not missing.passed and "no file /x/lab02_app.py" in missing.measured
    no_fix_given([found, crashed, missing])


def test_a_failed_step_ends_with_the_hint_ladder() -> None:
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback(lab02.TITLES[5], lab02.judge_step5(alone("/export", 180, 170, unzipped=CSV)), step=5))
    assert str(failure.value.feedback).splitlines()[-1].startswith("Stuck? check.hint(5)")


def test_hints_climb_a_ladder_and_solutions_come_per_step() -> None:
    for step in (1, 2, 3, 4, 5):
        assert f"check.hint({step}, level=2)" in lab02.hint(step)
        assert not any(fix in lab02.hint(step) for fix in FIXES), lab02.hint(step)
    assert "run_sync" in lab02.hint(1, level=2) and "partial" in lab02.hint(5, level=2)
    assert "request.state.client.get" in lab02.hint(2, level=3)
    assert "run_sync(load_order_history, customer)" in lab02.solution(1)
    assert "request.state.client.get" not in lab02.solution(1) and "gzip.compress" not in lab02.solution(1)
    assert "lifespan=lifespan" in lab02.solution(2) and "request.state.client.get" in lab02.solution(2)
    assert "functools.partial(gzip.compress, csv, compresslevel=6)" in lab02.solution(5)
    with pytest.raises(ValueError):
        lab02.hint(6)


# -- live: the contract on the generated starter and the solution ------------------------------
starter, solution = lab_app_dirs(NOTEBOOK, FILES)

STARTER_ADVICE = {
    1: ["[FAIL] 20 concurrent requests are served together", "[FAIL] /ping stays fast while /orders runs"],
    2: ["[FAIL] 20 concurrent requests", "[FAIL] the upstream sees the calls together", "at most 1 upstream call(s)"],
    3: ["[PASS] every /login request succeeds", "[FAIL] /ping stays fast while /login runs", "hash_password()"],
    4: ["[FAIL] `ruff check --select ASYNC lab02_*.py` finds nothing", "lab02_rates.py:", "ASYNC210"],
    5: ["[PASS] every /export request succeeds", "[FAIL] /ping stays fast while /export runs", "[PASS] GET /export"],
}


@pytest.mark.parametrize("step", sorted(STARTER_ADVICE))
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    print(check_fails(getattr(lab02, f"step{step}"), APP, starter, *STARTER_ADVICE[step]))


@pytest.mark.parametrize("step", sorted(STARTER_ADVICE))
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    print(check_passes(getattr(lab02, f"step{step}"), APP, solution))


@pytest.mark.parametrize("step", (1, 2, 3))
def test_a_server_that_cannot_start_gives_feedback(step: int, tmp_path: Path) -> None:
    (tmp_path / "lab02_broken_app.py").write_text("import no_such_module_for_lab02\n")
    app = "lab02_broken_app:app"
    check_fails(getattr(lab02, f"step{step}"), app, tmp_path, f"[FAIL] the app {app!r} starts", "no_such_module")


def test_step4_without_the_module_gives_feedback(tmp_path: Path) -> None:
    check_fails(lab02.step4, "lab02_missing_app:app", tmp_path, "lab02_missing_app.py")


# -- live: learner-style variants that differ from solutions/ -----------------------------------
SOLVED_ORDERS = "    history = await anyio.to_thread.run_sync(load_order_history, customer)\n"
SOLVED_EXPORT = "    body = await anyio.to_thread.run_sync(functools.partial(gzip.compress, csv, compresslevel=6))"


def variant(solution: Path, folder: Path, orders: tuple[str, str], export: str) -> Path:
    """The solution with /orders' and /export's fixes written another way."""
    shutil.copytree(solution, folder)
    source = (folder / "lab02_orders.py").read_text()
    assert SOLVED_ORDERS in source
    (folder / "lab02_orders.py").write_text(
        source.replace("async def orders", orders[0]).replace(SOLVED_ORDERS, orders[1])
    )
    source = (folder / "lab02_export.py").read_text()
    assert SOLVED_EXPORT in source
    source = source.replace(SOLVED_EXPORT, export).replace("import functools\n", "import asyncio\nimport functools\n")
    (folder / "lab02_export.py").write_text(source)
    return folder


def test_a_def_handler_and_asyncio_to_thread_pass(solution: Path, tmp_path: Path) -> None:
    # Right, another way: /orders as a plain `def` (FastAPI's thread pool), /export with asyncio.to_thread
    # (which passes keyword arguments on).
    orders = ("def orders", "    history = load_order_history(customer)\n")
    export = "    body = await asyncio.to_thread(gzip.compress, csv, compresslevel=6)"
    folder = variant(solution, tmp_path / "right", orders, export)
    print(check_passes(lab02.step1, APP, folder))
    print(check_passes(lab02.step5, APP, folder))


def test_a_call_before_the_thread_and_a_keyword_to_run_sync_are_explained(solution: Path, tmp_path: Path) -> None:
    # Wrong, as learners write it: the helper called first and its result handed to run_sync, and a
    # keyword argument given to run_sync itself.
    orders = ("async def orders", "    history = await anyio.to_thread.run_sync(load_order_history(customer))\n")
    export = "    body = await anyio.to_thread.run_sync(gzip.compress, csv, compresslevel=6)"
    folder = variant(solution, tmp_path / "wrong", orders, export)
    text = check_fails(lab02.step1, APP, folder, "handed the result of a call", failed_only=True)
    assert "'list' object is not callable" in text
    text = check_fails(lab02.step5, APP, folder, "went to the function that starts the thread", failed_only=True)
    assert "unexpected keyword argument 'compresslevel'" in text
