"""Lab 02's checks fail on the generated starter, with feedback that names the endpoint, and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab02
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab02_blocking_pitfalls.ipynb"
APP = "lab02_app:app"
STEPS = (1, 2, 3, 4)

starter, solution = lab_app_dirs(
    NOTEBOOK, {"lab02_helpers.py", "lab02_app.py", "lab02_orders.py", "lab02_rates.py", "lab02_login.py"}
)


def _step(n: int):
    return getattr(lab02, f"step{n}")


# What each step's feedback on the starter must point at.
STARTER_ADVICE = {
    1: [
        "[FAIL] 20 concurrent /orders requests are served together",
        "[FAIL] /ping stays fast while /orders runs",
        "load_order_history()",
        "anyio.to_thread.run_sync",
    ],
    2: [
        "[FAIL] 20 concurrent /rates requests",
        "[FAIL] the upstream sees the calls together",
        "at most 1 upstream call(s)",
        "httpx.AsyncClient",
    ],
    3: ["[PASS] every /login request succeeds", "[FAIL] /ping stays fast while /login runs", "hash_password()"],
    4: ["[FAIL] `ruff check --select ASYNC lab02_*.py` finds nothing", "lab02_rates.py:", "ASYNC210"],
}


@pytest.mark.parametrize("step", STEPS)
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    check_fails(_step(step), APP, starter, *STARTER_ADVICE[step])


@pytest.mark.parametrize("step", STEPS)
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    check_passes(_step(step), APP, solution)


@pytest.mark.parametrize("step", (1, 2, 3))
def test_a_server_that_cannot_start_gives_feedback(step: int, tmp_path: Path) -> None:
    (tmp_path / "lab02_broken_app.py").write_text("import no_such_module_for_lab02\n")
    check_fails(
        _step(step),
        "lab02_broken_app:app",
        tmp_path,
        "[FAIL] the app 'lab02_broken_app:app' starts",
        "no_such_module_for_lab02",
    )


def test_step4_without_the_module_gives_feedback(tmp_path: Path) -> None:
    check_fails(lab02.step4, "lab02_missing_app:app", tmp_path, "lab02_missing_app.py")


def test_hints() -> None:
    for step in STEPS:
        assert len(lab02.hint(step)) > 40
    with pytest.raises(ValueError):
        lab02.hint(9)
