"""Lab 06's checks fail on the starter, pass on the solution, and explain a server that cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab06
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab06_threadpool_and_backpressure.ipynb"


starter, solution = lab_app_dirs(NOTEBOOK, {"lab06_helpers.py", "lab06_app.py", "lab06_deadline_app.py"})


def test_step1_fails_on_starter(starter: Path) -> None:
    check_fails(lab06.step1, "lab06_app:app", starter, "Little's law", "[FAIL] the served requests' p99")


def test_step1_passes_on_solution(solution: Path) -> None:
    check_passes(lab06.step1, "lab06_app:app", solution)


def test_step2_fails_on_starter(starter: Path) -> None:
    check_fails(lab06.step2, "lab06_deadline_app:app", starter, "asyncio.timeout")


def test_step2_passes_on_solution(solution: Path) -> None:
    check_passes(lab06.step2, "lab06_deadline_app:app", solution)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab06_app.py").write_text("import no_such_module_for_lab06\n")
    check_fails(
        lab06.step1, "lab06_app:app", tmp_path, "[FAIL] the app 'lab06_app:app' starts", "no_such_module_for_lab06"
    )


def test_hints() -> None:
    assert "Semaphore" in lab06.hint(1) and "asyncio.timeout" in lab06.hint(2)
    with pytest.raises(ValueError):
        lab06.hint(3)
