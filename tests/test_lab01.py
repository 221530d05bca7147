"""Lab 01's checks fail on the generated starter, with teaching feedback, and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LABS, SOLUTIONS, write_app_cells

from asgilab.checks import CheckFailed, Feedback, lab01

NOTEBOOK = "lab01_wsgi_to_asgi.ipynb"
STEPS = {1: "lab01_hello_app:app", 2: "lab01_wait_app:app", 3: "lab01_ws_app:app"}


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab01_starter")
    assert len(write_app_cells(LABS / NOTEBOOK, folder)) == len(STEPS)
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab01_solution")
    assert len(write_app_cells(SOLUTIONS / NOTEBOOK, folder)) == len(STEPS)
    return folder


def _step(n: int):
    return getattr(lab01, f"step{n}")


# What each step's feedback on the starter must point at.
STARTER_ADVICE = {
    1: ["[FAIL] GET /hello answers status 200", "NotImplementedError"],
    2: ["[FAIL] the requests overlap", "time.sleep", "[PASS] each request really waits"],
    3: ["[FAIL] the WebSocket handshake", "HTTP 500", "websocket.accept()"],
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    with pytest.raises(CheckFailed) as failure:
        _step(step)(STEPS[step], app_dir=starter)
    text = str(failure.value)
    for expected in STARTER_ADVICE[step]:
        assert expected in text, f"step {step} feedback lacks {expected!r}:\n{text}"


@pytest.mark.parametrize("step", sorted(STEPS))
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    feedback = _step(step)(STEPS[step], app_dir=solution)
    assert isinstance(feedback, Feedback) and feedback.passed, str(feedback)
    assert "[FAIL]" not in str(feedback)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab01_broken_app.py").write_text("import no_such_module_for_lab01\n")
    with pytest.raises(CheckFailed) as failure:
        lab01.step1("lab01_broken_app:app", app_dir=tmp_path)
    text = str(failure.value)
    assert "[FAIL] the app 'lab01_broken_app:app' starts under uvicorn" in text
    assert "no_such_module_for_lab01" in text


def test_hints() -> None:
    for step in STEPS:
        assert len(lab01.hint(step)) > 40
    assert "asyncio.sleep" in lab01.hint(2)
    with pytest.raises(ValueError):
        lab01.hint(4)
