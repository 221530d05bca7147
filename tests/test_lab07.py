"""Lab 07's checks fail on the starter (and on a thread pool) and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab07
from asgilab.results import Record, Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab07_cpu_bound_and_inference.ipynb"
APP = "lab07_app:app"

# The model off the event loop, but in threads: the loop still competes for the GIL.
THREAD_POOL = """
import asyncio

from fastapi import FastAPI

from asgilab import model

app = FastAPI()


@app.get("/ping")
async def ping():
    return {"pong": True}


@app.get("/predict")
async def predict(item: int = 0):
    return await asyncio.to_thread(model.predict, item)
"""


starter, solution = lab_app_dirs(NOTEBOOK, {"lab07_app.py"})


def test_step1_fails_on_the_starter_and_says_why(starter: Path) -> None:
    check_fails(
        lab07.step1,
        APP,
        starter,
        "[FAIL] /ping's worst wait",
        "runs on the event loop",
        "[PASS] all 32 predictions succeed",
    )


def test_step1_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab07.step1, APP, solution)


def test_step1_explains_a_thread_pool(tmp_path: Path) -> None:
    (tmp_path / "lab07_app.py").write_text(THREAD_POOL)
    check_fails(lab07.step1, APP, tmp_path, "GIL")


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab07.step2, APP, starter, "no worker process")


def test_step2_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab07.step2, APP, solution)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab07_app.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    check_fails(lab07.step1, APP, tmp_path, f"[FAIL] the app {APP!r} starts", "SyntaxError")


def test_hints() -> None:
    assert "ProcessPoolExecutor" in lab07.hint(1)
    assert "max_workers" in lab07.hint(2)
    with pytest.raises(ValueError):
        lab07.hint(3)


def _run(predictions: int, server_cpu_s: float) -> Run:
    """A 1-second run: ``predictions`` per second, and the servers' CPU seconds over it."""
    records = [Record(start=0.0, end=1.0, status=200)] * predictions
    run = Run(url="http://127.0.0.1:1/predict", requests=predictions, concurrency=8, engine="t", records=records)
    run.wall_s, run.server_cpu_s = 1.0, server_cpu_s
    return run


@pytest.mark.parametrize(
    ("app", "passed"),
    [
        ((60, 1.85), True),  # cores at full speed: 1.8x the predictions on two cores
        ((33, 1.9), True),  # no more predictions, each costing 1.9x the CPU (slowed cores), on two cores
        ((26, 1.0), False),  # slowed cores (1.27x the CPU per prediction), and one core's worth: one worker
        ((33, 1.0), False),  # cores at full speed, one core's worth: the model inline
        ((45, 1.0), False),  # 1.36x the throughput on one core's worth: the reference met a slow spell
    ],
)
def test_step2_needs_the_cores_and_judges_slowed_cores_by_them(app, passed):
    reference = _run(33, 1.0)  # the model inline: one core, about 30 ms of CPU per prediction
    assert lab07._speedup([reference], [_run(*app)])[0] is passed
