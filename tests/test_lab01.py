"""Lab 01's checks fail on the generated starter, with teaching feedback, and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab01
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab01_wsgi_to_asgi.ipynb"
STEPS = {1: "lab01_hello_app:app", 2: "lab01_wait_app:app", 3: "lab01_ws_app:app"}

starter, solution = lab_app_dirs(NOTEBOOK, {"lab01_hello_app.py", "lab01_wait_app.py", "lab01_ws_app.py"})


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
    check_fails(_step(step), STEPS[step], starter, *STARTER_ADVICE[step])


@pytest.mark.parametrize("step", sorted(STEPS))
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    check_passes(_step(step), STEPS[step], solution)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab01_broken_app.py").write_text("import no_such_module_for_lab01\n")
    check_fails(
        lab01.step1,
        "lab01_broken_app:app",
        tmp_path,
        "[FAIL] the app 'lab01_broken_app:app' starts",
        "no_such_module_for_lab01",
    )


def test_hints() -> None:
    for step in STEPS:
        assert len(lab01.hint(step)) > 40
    assert "asyncio.sleep" in lab01.hint(2)
    with pytest.raises(ValueError):
        lab01.hint(4)
