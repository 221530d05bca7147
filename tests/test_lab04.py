"""Lab 04's checks fail on the starter (and on near misses) and pass on the solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgilab.checks import lab04
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab04_connection_pooling.ipynb"
APP = "lab04_app:app"

# Shares one client, but neither limits nor closes it: step 1 and step 2 must both notice.
UNLIMITED_UNCLOSED = """
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
"""


starter, solution = lab_app_dirs(NOTEBOOK, {"lab04_app.py"})


@pytest.fixture(scope="module")
def near_miss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab04_near_miss")
    (folder / "lab04_app.py").write_text(UNLIMITED_UNCLOSED)
    return folder


def test_starter_is_a_client_per_request(starter: Path) -> None:
    source = (starter / "lab04_app.py").read_text()
    assert "async with httpx.AsyncClient() as client" in source
    assert "request.state.client" not in source


def test_step1_fails_on_the_starter(starter: Path) -> None:
    check_fails(
        lab04.step1,
        APP,
        starter,
        "new TCP connections",
        "one new connection per request",
        "throughput",
        failed_only=True,
    )


def test_step1_fails_without_a_pool_limit(near_miss: Path) -> None:
    text = check_fails(lab04.step1, APP, near_miss, "at most 10 new connections", failed_only=True)
    assert "throughput" not in text


def test_step1_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab04.step1, APP, solution)


def test_step2_fails_on_the_starter(starter: Path) -> None:
    check_fails(lab04.step2, APP, starter, "0 client(s) created during startup", failed_only=True)


def test_step2_fails_when_the_client_is_never_closed(near_miss: Path) -> None:
    text = check_fails(lab04.step2, APP, near_miss, "0 of 1 closed", failed_only=True)
    assert "created during startup" not in text  # that part was right


def test_step2_passes_on_the_solution(solution: Path) -> None:
    check_passes(lab04.step2, APP, solution)


def test_a_gateway_that_does_not_start_gets_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab04_app.py").write_text("raise RuntimeError('boom at import')\n")
    for step in (lab04.step1, lab04.step2):
        check_fails(step, APP, tmp_path, f"the app {APP!r} starts", "boom at import", failed_only=True)


def test_hints() -> None:
    assert "lifespan" in lab04.hint(1) and "Limits" in lab04.hint(1)
    assert "aclose" in lab04.hint(2)
    with pytest.raises(ValueError):
        lab04.hint(3)
