"""Shared test helpers: the repository's folders, notebook cells, and the no-leftover-server rule."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS, LABS, SOLUTIONS = ROOT / "notebooks", ROOT / "labs", ROOT / "solutions"

# Every process this test session starts inherits this mark (servers, kernels, the servers kernels
# start), so the leftover checks see our own servers only, not those of another run on the machine.
SESSION_MARK = "ASGILAB_TEST_SESSION"
os.environ[SESSION_MARK] = uuid.uuid4().hex


def server_processes() -> list[psutil.Process]:
    """Every live process that `asgilab.serve` started during this test session."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] == psutil.STATUS_ZOMBIE or "asgilab._launch" not in cmdline:
            continue
        try:
            if proc.environ().get(SESSION_MARK) == os.environ[SESSION_MARK]:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


def wait_for_no_servers(timeout: float = 8.0) -> list[psutil.Process]:
    """Wait until no course server is left; return the ones still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := server_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def write_app_cells(notebook_path: Path, folder: Path) -> list[Path]:
    """Write every ``%%writefile [-a] NAME`` cell of a notebook into ``folder``, as Jupyter would."""
    import nbformat

    written = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if cell.cell_type != "code" or not cell.source.startswith("%%writefile"):
            continue
        first, _, body = cell.source.partition("\n")
        words = first.split()
        target = folder / words[-1]
        body = body if body.endswith("\n") else body + "\n"
        with target.open("a" if "-a" in words[1:-1] or "--append" in words[1:-1] else "w") as file:
            file.write(body)
        if target not in written:
            written.append(target)
    return written


@pytest.fixture(scope="session", autouse=True)
def no_server_outlives_the_suite():
    before = {p.pid for p in server_processes()}
    yield
    left = [p for p in wait_for_no_servers() if p.pid not in before]
    assert not left, f"server processes outlived the test suite: {[p.pid for p in left]}"
