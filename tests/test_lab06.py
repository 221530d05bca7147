"""Lab 06's checks fail on the starter, pass on the solution, and explain a server that cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LABS, SOLUTIONS, write_app_cells

from asgilab.checks import CheckFailed, lab06

NOTEBOOK = "lab06_threadpool_and_backpressure.ipynb"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab06_starter")
    write_app_cells(LABS / NOTEBOOK, folder)
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab06_solution")
    write_app_cells(SOLUTIONS / NOTEBOOK, folder)
    return folder


def test_app_cells_written(starter: Path, solution: Path) -> None:
    for folder in (starter, solution):
        assert {p.name for p in folder.iterdir()} >= {"lab06_app.py", "lab06_deadline_app.py"}


def test_step1_fails_on_starter(starter: Path) -> None:
    with pytest.raises(CheckFailed) as failed:
        lab06.step1("lab06_app:app", app_dir=starter)
    text = str(failed.value)
    assert "Little's law" in text and "[FAIL] the served requests' p99" in text


def test_step1_passes_on_solution(solution: Path) -> None:
    feedback = lab06.step1("lab06_app:app", app_dir=solution)
    assert feedback.passed, feedback


def test_step2_fails_on_starter(starter: Path) -> None:
    with pytest.raises(CheckFailed) as failed:
        lab06.step2("lab06_deadline_app:app", app_dir=starter)
    assert "asyncio.timeout" in str(failed.value)


def test_step2_passes_on_solution(solution: Path) -> None:
    feedback = lab06.step2("lab06_deadline_app:app", app_dir=solution)
    assert feedback.passed, feedback


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab06_app.py").write_text("import no_such_module_for_lab06\n")
    with pytest.raises(CheckFailed) as failed:
        lab06.step1("lab06_app:app", app_dir=tmp_path)
    assert "no_such_module_for_lab06" in str(failed.value)


def test_hints() -> None:
    assert "Semaphore" in lab06.hint(1) and "asyncio.timeout" in lab06.hint(2)
    with pytest.raises(ValueError):
        lab06.hint(3)
