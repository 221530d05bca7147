"""Lab 08's checks fail on the starter, pass on the solution, and explain a server that cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab08
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab08_threadpool_and_backpressure.ipynb"


starter, solution = lab_app_dirs(NOTEBOOK, {"lab08_helpers.py", "lab08_app.py", "lab08_deadline_app.py"})


def test_step1_fails_on_starter(starter: Path) -> None:
    check_fails(lab08.step1, "lab08_app:app", starter, "Little's law", "[FAIL] the served requests' p99")


def test_step1_passes_on_solution(solution: Path) -> None:
    check_passes(lab08.step1, "lab08_app:app", solution)


def test_step2_fails_on_starter(starter: Path) -> None:
    check_fails(lab08.step2, "lab08_deadline_app:app", starter, "asyncio.timeout")


def test_step2_passes_on_solution(solution: Path) -> None:
    check_passes(lab08.step2, "lab08_deadline_app:app", solution)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab08_app.py").write_text("import no_such_module_for_lab06\n")
    check_fails(
        lab08.step1, "lab08_app:app", tmp_path, "[FAIL] the app 'lab08_app:app' starts", "no_such_module_for_lab06"
    )


def test_hints() -> None:
    assert "Semaphore" in lab08.hint(1) and "asyncio.timeout" in lab08.hint(2)
    with pytest.raises(ValueError):
        lab08.hint(3)
