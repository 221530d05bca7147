"""Lab 03's checks fail on the starter, pass on the solution, and explain a server that cannot start."""

from __future__ import annotations

import pytest

from asgilab.checks import lab03 as check
from conftest import check_fails, check_passes, lab_app_dirs, strangers

NAME = "lab03_def_vs_async_def.ipynb"

starter, solution = lab_app_dirs(
    NAME, {"lab03_weather_sdk.py", "lab03_sdk_app.py", "lab03_cpu_lifespan.py", "lab03_cpu_app.py"}
)


def test_step1_fails_on_the_starter_with_the_40_tokens(starter):
    check_fails(check.step1, "lab03_sdk_app:app", starter, "[FAIL] at least 50", "40 tokens", "lifespan")


def test_step1_passes_on_the_solution(solution):
    check_passes(check.step1, "lab03_sdk_app:app", solution)


def test_step2_fails_on_the_starter(starter):
    check_fails(check.step2, "lab03_cpu_app:app", starter, "[FAIL] GET /ping stays responsive")


def test_step2_passes_on_the_solution(solution):
    check_passes(check.step2, "lab03_cpu_app:app", solution)


def test_step2_on_a_busy_machine_blames_the_other_programs(solution):
    # Two programs burning both cores leave no core free: the solution cannot spread its reports,
    # and the feedback must say why instead of blaming the learner's code.
    with strangers(2, seconds=60):
        text = check_fails(check.step2, "lab03_cpu_app:app", solution, "Other programs kept", failed_only=True)
    assert "ProcessPoolExecutor" not in text
    print(text)


def test_limiter_at_import_time_is_explained(tmp_path):
    (tmp_path / "lab03_sdk_app.py").write_text(
        "import anyio.to_thread\n"
        "from fastapi import FastAPI\n"
        "anyio.to_thread.current_default_thread_limiter().total_tokens = 100\n"
        "app = FastAPI()\n"
    )
    check_fails(
        check.step1,
        "lab03_sdk_app:app",
        tmp_path,
        "[FAIL] the app 'lab03_sdk_app:app' starts",
        "NoEventLoopError",
        "Look at your module's top-level lines",
    )


def test_hints_climb_from_where_to_look_to_the_code():
    assert "lifespan" in check.hint(1) and "total_tokens" not in check.hint(1)
    assert "current_default_thread_limiter" in check.hint(1, level=2) and "uvicorn 0.50" in check.hint(1, level=2)
    assert "total_tokens = 100" in check.hint(1, level=3)
    assert "ProcessPoolExecutor" not in check.hint(2) and "ProcessPoolExecutor" in check.hint(2, level=2)
    assert 'get_context("spawn")' in check.hint(2, level=2)
    assert "run_in_executor(app.state.pool, burn_cpu, ms)" in check.hint(2, level=3)
    with pytest.raises(ValueError):
        check.hint(3)
    with pytest.raises(ValueError):
        check.hint(1, level=4)
