"""Lab 04's checks fail on the starter (and on near misses) and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LABS, SOLUTIONS, write_app_cells

from asgilab.checks import CheckFailed, lab04

NOTEBOOK = "lab04_connection_pooling.ipynb"
APP = "lab04_app:app"

# Shares one client, but neither limits nor closes it: step 1 and step 2 must both notice.
UNLIMITED_UNCLOSED = '''
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

UPSTREAM = os.environ["UPSTREAM_URL"]


@asynccontextmanager
async def lifespan(app: FastAPI):
    client = httpx.AsyncClient()  # default limits: up to 100 connections; never closed
    yield {"client": client}


app = FastAPI(lifespan=lifespan)


@app.get("/proxy")
async def proxy(request: Request, ms: int = 10):
    response = await request.state.client.get(f"{UPSTREAM}/delay", params={"ms": ms})
    return response.json()
'''


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab04_starter")
    assert [p.name for p in write_app_cells(LABS / NOTEBOOK, folder)] == ["lab04_app.py"]
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab04_solution")
    assert [p.name for p in write_app_cells(SOLUTIONS / NOTEBOOK, folder)] == ["lab04_app.py"]
    return folder


@pytest.fixture(scope="module")
def near_miss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab04_near_miss")
    (folder / "lab04_app.py").write_text(UNLIMITED_UNCLOSED)
    return folder


def failed_lines(info: pytest.ExceptionInfo[CheckFailed]) -> str:
    return "\n".join(c.line() for c in info.value.feedback.criteria if not c.passed)


def test_starter_is_a_client_per_request(starter: Path) -> None:
    source = (starter / "lab04_app.py").read_text()
    assert "async with httpx.AsyncClient() as client" in source
    assert "request.state.client" not in source


def test_step1_fails_on_the_starter(starter: Path) -> None:
    with pytest.raises(CheckFailed) as info:
        lab04.step1(APP, app_dir=starter)
    text = failed_lines(info)
    assert "new TCP connections" in text and "one new connection per request" in text
    assert "throughput" in text


def test_step1_fails_without_a_pool_limit(near_miss: Path) -> None:
    with pytest.raises(CheckFailed) as info:
        lab04.step1(APP, app_dir=near_miss)
    text = failed_lines(info)
    assert "at most 10 new connections" in text and "throughput" not in text


def test_step1_passes_on_the_solution(solution: Path) -> None:
    feedback = lab04.step1(APP, app_dir=solution)
    assert feedback.passed, str(feedback)


def test_step2_fails_on_the_starter(starter: Path) -> None:
    with pytest.raises(CheckFailed) as info:
        lab04.step2(APP, app_dir=starter)
    assert "0 client(s) created during startup" in failed_lines(info)


def test_step2_fails_when_the_client_is_never_closed(near_miss: Path) -> None:
    with pytest.raises(CheckFailed) as info:
        lab04.step2(APP, app_dir=near_miss)
    text = failed_lines(info)
    assert "0 of 1 closed" in text
    assert "created during startup" not in text  # that part was right


def test_step2_passes_on_the_solution(solution: Path) -> None:
    feedback = lab04.step2(APP, app_dir=solution)
    assert feedback.passed, str(feedback)


def test_a_gateway_that_does_not_start_gets_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab04_app.py").write_text("raise RuntimeError('boom at import')\n")
    for step in (lab04.step1, lab04.step2):
        with pytest.raises(CheckFailed) as info:
            step(APP, app_dir=tmp_path)
        assert "boom at import" in failed_lines(info)


def test_hints() -> None:
    assert "lifespan" in lab04.hint(1) and "Limits" in lab04.hint(1)
    assert "aclose" in lab04.hint(2)
    with pytest.raises(ValueError):
        lab04.hint(3)
