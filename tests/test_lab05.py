"""Lab 05's checks fail on the starter (and on a thread pool) and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab05
from asgilab.results import Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab05_cpu_bound_and_inference.ipynb"
APP = "lab05_app:app"

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


starter, solution = lab_app_dirs(NOTEBOOK, {"lab05_app.py"})


def test_step1_fails_on_the_starter_and_says_why(starter: Path) -> None:
    check_fails(
        lab05.step1,
        APP,
        starter,
        "[FAIL] /ping's worst wait",
        "runs on the event loop",
        "[PASS] all 32 predictions succeed",
    )


def test_step1_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab05.step1, APP, solution)


def test_step1_explains_a_thread_pool(tmp_path: Path) -> None:
    (tmp_path / "lab05_app.py").write_text(THREAD_POOL)
    check_fails(lab05.step1, APP, tmp_path, "GIL")


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab05.step2, APP, starter, "no worker process")


def test_step2_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab05.step2, APP, solution)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab05_app.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    check_fails(lab05.step1, APP, tmp_path, f"[FAIL] the app {APP!r} starts", "SyntaxError")


def test_hints() -> None:
    assert "ProcessPoolExecutor" in lab05.hint(1)
    assert "max_workers" in lab05.hint(2)
    with pytest.raises(ValueError):
        lab05.hint(3)


def _run(throughput_rps: float, cores_used: float, cpu_per_request_s: float) -> Run:
    run = Run(url="http://127.0.0.1:1/predict", requests=32, concurrency=8, engine="fake", records=[], wall_s=1.0)
    run.throughput_rps_fixed = throughput_rps
    run.cores_used, run.cpu_per_request_s = cores_used, cpu_per_request_s
    return run


@pytest.mark.parametrize(
    ("app", "passed"),
    [
        ((60.0, 1.9, 0.030), True),  # twice the throughput on cores at full speed
        ((33.0, 1.9, 0.058), True),  # no more throughput, but the cores ran slow: two cores' worth of work
        ((33.0, 1.0, 0.045), False),  # slowed cores, and still one core's worth: a single worker
        ((33.0, 1.9, 0.030), False),  # cores at full speed: busy cores alone (wasted work) do not pass
    ],
)
def test_step2_judges_slowed_cores_by_the_cores_kept_busy(monkeypatch, app, passed):
    monkeypatch.setattr(Run, "throughput_rps", property(lambda run: run.throughput_rps_fixed))
    reference = _run(33.0, 1.0, 0.030)
    assert lab05._speedup([reference], [_run(*app)])[0] is passed
