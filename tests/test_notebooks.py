"""Execute every lesson and every completed lab headless in a fresh kernel, as CI does."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import NOTEBOOKS, SOLUTIONS, wait_for_no_servers

CELL_TIMEOUT_S = 240
COURSE = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*.ipynb"))


def _execute(path: Path, times: int = 1) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    start = time.perf_counter()
    with client.setup_kernel():
        for _ in range(times):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    return time.perf_counter() - start


@pytest.mark.notebook
@pytest.mark.parametrize("path", COURSE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_runs_top_to_bottom_twice(path: Path) -> None:
    # Twice in one kernel: a learner re-running the notebook must not trip over its first run.
    seconds = _execute(path, times=2)
    print(f"{path.parent.name}/{path.name}: {seconds:.1f} s for two runs")
    assert not wait_for_no_servers(), f"{path.name} left a server running after its kernel ended"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
