"""Lab 02's checks fail on the generated starter, with feedback that names the endpoint, and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LABS, SOLUTIONS, write_app_cells

from asgilab.checks import CheckFailed, Feedback, lab02

NOTEBOOK = "lab02_blocking_pitfalls.ipynb"
APP = "lab02_app:app"
STEPS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab02_starter")
    assert [p.name for p in write_app_cells(LABS / NOTEBOOK, folder)] == ["lab02_app.py"]
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab02_solution")
    assert [p.name for p in write_app_cells(SOLUTIONS / NOTEBOOK, folder)] == ["lab02_app.py"]
    return folder


def _step(n: int):
    return getattr(lab02, f"step{n}")


# What each step's feedback on the starter must point at.
STARTER_ADVICE = {
    1: ["[FAIL] 20 concurrent /orders requests are served together", "[FAIL] /ping stays fast while /orders runs",
        "load_order_history()", "anyio.to_thread.run_sync"],
    2: ["[FAIL] 20 concurrent /rates requests", "[FAIL] the upstream sees the calls together",
        "at most 1 upstream call(s)", "httpx.AsyncClient"],
    3: ["[PASS] every /login request succeeds", "[FAIL] /ping stays fast while /login runs", "hash_password()"],
    4: ["[FAIL] `ruff check --select ASYNC lab02_app.py` finds nothing", "ASYNC210"],
}


@pytest.mark.parametrize("step", STEPS)
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    with pytest.raises(CheckFailed) as failure:
        _step(step)(APP, app_dir=starter)
    text = str(failure.value)
    for expected in STARTER_ADVICE[step]:
        assert expected in text, f"step {step} feedback lacks {expected!r}:\n{text}"


@pytest.mark.parametrize("step", STEPS)
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    feedback = _step(step)(APP, app_dir=solution)
    assert isinstance(feedback, Feedback) and feedback.passed, str(feedback)
    assert "[FAIL]" not in str(feedback)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab02_broken_app.py").write_text("import no_such_module_for_lab02\n")
    with pytest.raises(CheckFailed) as failure:
        lab02.step1("lab02_broken_app:app", app_dir=tmp_path)
    text = str(failure.value)
    assert "[FAIL] the app starts" in text and "no_such_module_for_lab02" in text


def test_step4_without_the_module_gives_feedback(tmp_path: Path) -> None:
    with pytest.raises(CheckFailed) as failure:
        lab02.step4("lab02_missing_app:app", app_dir=tmp_path)
    assert "lab02_missing_app.py" in str(failure.value)


def test_hints() -> None:
    for step in STEPS:
        assert len(lab02.hint(step)) > 40
    with pytest.raises(ValueError):
        lab02.hint(9)
