"""Lab 03's checks fail on the starter, pass on the solution, and explain a server that cannot start."""

from __future__ import annotations

import pytest
from conftest import LABS, SOLUTIONS, write_app_cells

from asgilab.checks import CheckFailed
from asgilab.checks import lab03 as check

NAME = "lab03_def_vs_async_def.ipynb"


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab03_starter")
    names = {p.name for p in write_app_cells(LABS / NAME, folder)}
    assert names == {"lab03_sdk_app.py", "lab03_cpu_app.py"}
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab03_solution")
    write_app_cells(SOLUTIONS / NAME, folder)
    return folder


def test_step1_fails_on_the_starter_with_the_40_tokens(starter):
    with pytest.raises(CheckFailed) as failed:
        check.step1("lab03_sdk_app:app", app_dir=starter)
    text = str(failed.value)
    assert "[FAIL] at least 50" in text and "40 tokens" in text and "lifespan" in text


def test_step1_passes_on_the_solution(solution):
    feedback = check.step1("lab03_sdk_app:app", app_dir=solution)
    assert feedback.passed


def test_step2_fails_on_the_starter(starter):
    with pytest.raises(CheckFailed) as failed:
        check.step2("lab03_cpu_app:app", app_dir=starter)
    assert "[FAIL] GET /ping stays responsive" in str(failed.value)


def test_step2_passes_on_the_solution(solution):
    feedback = check.step2("lab03_cpu_app:app", app_dir=solution)
    assert feedback.passed


def test_limiter_at_import_time_is_explained(tmp_path):
    (tmp_path / "lab03_sdk_app.py").write_text(
        "import anyio.to_thread\n"
        "from fastapi import FastAPI\n"
        "anyio.to_thread.current_default_thread_limiter().total_tokens = 100\n"
        "app = FastAPI()\n"
    )
    with pytest.raises(CheckFailed) as failed:
        check.step1("lab03_sdk_app:app", app_dir=tmp_path)
    text = str(failed.value)
    assert "[FAIL] the app starts" in text and "NoEventLoopError" in text and "lifespan" in text


def test_hints():
    assert "lifespan" in check.hint(1) and "total_tokens" in check.hint(1)
    assert "ProcessPoolExecutor" in check.hint(2)
    with pytest.raises(ValueError):
        check.hint(3)
