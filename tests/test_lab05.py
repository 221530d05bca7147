"""Lab 05's checks fail on the starter (and on a thread pool) and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import CheckFailed, lab05
from conftest import LABS, SOLUTIONS, write_app_cells

NOTEBOOK = "lab05_cpu_bound_and_inference.ipynb"
APP = "lab05_app:app"

# The model off the event loop, but in threads: the loop still competes for the GIL.
THREAD_POOL = '''
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
'''


def _folder(tmp_path_factory: pytest.TempPathFactory, name: str, notebook: Path) -> Path:
    folder = tmp_path_factory.mktemp(name)
    assert [p.name for p in write_app_cells(notebook, folder)] == ["lab05_app.py"]
    return folder


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory, "lab05_starter", LABS / NOTEBOOK)


@pytest.fixture(scope="module")
def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory, "lab05_solution", SOLUTIONS / NOTEBOOK)


def test_step1_fails_on_the_starter_and_says_why(starter: Path) -> None:
    with pytest.raises(CheckFailed) as failure:
        lab05.step1(APP, app_dir=starter)
    text = str(failure.value)
    assert "[FAIL] /ping's worst wait" in text and "runs on the event loop" in text
    assert "[PASS] all 32 predictions succeed" in text


def test_step1_passes_on_the_solution(solution: Path) -> None:
    feedback = lab05.step1(APP, app_dir=solution)
    assert feedback.passed, str(feedback)


def test_step1_explains_a_thread_pool(tmp_path: Path) -> None:
    (tmp_path / "lab05_app.py").write_text(THREAD_POOL)
    with pytest.raises(CheckFailed) as failure:
        lab05.step1(APP, app_dir=tmp_path)
    assert "GIL" in str(failure.value)


def test_step2_fails_on_the_starter(starter: Path) -> None:
    with pytest.raises(CheckFailed) as failure:
        lab05.step2(APP, app_dir=starter)
    assert "no worker process" in str(failure.value)


def test_step2_passes_on_the_solution(solution: Path) -> None:
    feedback = lab05.step2(APP, app_dir=solution)
    assert feedback.passed, str(feedback)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab05_app.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    with pytest.raises(CheckFailed) as failure:
        lab05.step1(APP, app_dir=tmp_path)
    assert "starts under uvicorn" in str(failure.value) and "SyntaxError" in str(failure.value)


def test_hints() -> None:
    assert "ProcessPoolExecutor" in lab05.hint(1)
    assert "max_workers" in lab05.hint(2)
    with pytest.raises(ValueError):
        lab05.hint(3)
