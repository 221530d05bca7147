"""Execute every lesson and every completed lab headless in a fresh kernel, as CI does."""

from __future__ import annotations

import ast
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from conftest import NOTEBOOKS, ROOT, SOLUTIONS, wait_for_no_servers

CELL_TIMEOUT_S = 240
COURSE = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*.ipynb"))
# Executed copies, kept for `make site` (it renders them instead of executing the course again).
EXECUTED = ROOT / "build" / "executed"
# Lessons that cross-check with wrk and hey when they are installed, and must run without them.
OPTIONAL_TOOLS = ("wrk", "hey")
CROSS_CHECKING = ("09_measuring_honestly.ipynb", "10_scaling_out.ipynb")
# Running every notebook twice in one kernel would double the suite (about 6 minutes of notebooks on a
# 2-core machine). Each run re-runs the notebooks the commit changed (where a re-run breaks, if it does)
# and an eighth of the course, a different eighth for each commit: every notebook's second run is checked
# within eight submissions. The eighths are balanced by each notebook's time to run (SECONDS, measured:
# a notebook it lacks counts as the median), so that no commit gets the long ones together.
# ASGILAB_RERUN_ALL=1 re-runs every notebook.
# The cross-checking lessons run first without wrk and hey (a fresh machine); then, in the same kernel,
# the cells from their first cross-check to their last run again with the tools on PATH (a learner who
# installs them and re-runs those cells), so both paths are checked on every commit. The cells after the
# last cross-check use neither the tools nor what those cells found (a test says so), so running them
# again would check nothing new.
RERUN_SHARE, RERUN_ALL_ENV = 8, "ASGILAB_RERUN_ALL"
SECONDS = Path(__file__).with_name("notebook_seconds.json")  # one run each, from build/executed/*.seconds
CROSS_CHECK_MARKS = ("wrk", "hey", "available(")  # a cell that does one of these depends on the tools


def _commit_seed() -> int:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return int(head.stdout.strip()[:8], 16)
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


@cache
def _changed_by_head() -> set[str]:
    """The files the last commit changed (none when git cannot say: a shallow clone, no git)."""
    try:
        diff = subprocess.run(
            ["git", "diff", "--name-only", "HEAD~1", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    return set(diff.stdout.split()) if diff.returncode == 0 else set()


def rerun_groups() -> list[list[Path]]:
    """The course in RERUN_SHARE groups of about the same time to run: the longest notebook first, each
    into the group with the least time so far."""
    measured = json.loads(SECONDS.read_text(encoding="utf-8"))
    median = statistics.median(measured.values())
    cost = {path: measured.get(path.relative_to(ROOT).as_posix(), median) for path in COURSE}
    groups: list[list[Path]] = [[] for _ in range(RERUN_SHARE)]
    for path in sorted(COURSE, key=lambda p: (-cost[p], p)):
        min(groups, key=lambda group: (sum(cost[p] for p in group), groups.index(group))).append(path)
    return groups


def runs_for(path: Path) -> int:
    """How many times to run ``path`` whole in one kernel: 2 for a notebook the last commit changed, for
    this commit's group of the course and for every notebook under ASGILAB_RERUN_ALL=1; 1 otherwise."""
    if os.environ.get(RERUN_ALL_ENV) == "1" or path.relative_to(ROOT).as_posix() in _changed_by_head():
        return 2
    return 2 if path in rerun_groups()[_commit_seed() % RERUN_SHARE] else 1


def cross_checks(notebook: nbformat.NotebookNode) -> range:
    """The cells from the first code cell that uses wrk or hey (after the setup cell, which only reports
    them) to the last one."""
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    marked = [i for i in code[1:] if any(mark in notebook.cells[i].source for mark in CROSS_CHECK_MARKS)]
    return range(marked[0], marked[-1] + 1)


def path_without(tools: tuple[str, ...], shadow: Path) -> str:
    """PATH with ``tools`` hidden: a folder that holds them is replaced by a shadow folder of links to
    everything else in it."""
    folders = []
    for index, folder in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not any(Path(folder, tool).exists() for tool in tools):
            folders.append(folder)
            continue
        copy = shadow / str(index)
        copy.mkdir(parents=True)
        for entry in Path(folder).iterdir():
            if entry.name not in tools:
                (copy / entry.name).symlink_to(entry)
        folders.append(str(copy))
    return os.pathsep.join(folders)


KERNEL_ARGS = ["--HistoryManager.enabled=False"]
# The kernel of the notebook that runs next, started while the current one runs its setup cell: a
# kernel takes about 0.7 s to start, for each of some 30 notebook runs. Never for the cross-checking
# lessons (their first run needs a PATH of its own); any left unused are shut down at the end.
PRESTARTED: dict[Path, KernelManager] = {}


def _prestart_after(path: Path) -> None:
    later = COURSE[COURSE.index(path) + 1 :]
    if later and later[0].name not in CROSS_CHECKING and later[0] not in PRESTARTED:
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(later[0].parent), extra_arguments=KERNEL_ARGS)
        PRESTARTED[later[0]] = manager


@pytest.fixture(scope="module", autouse=True)
def _shut_down_unused_kernels() -> Iterator[None]:
    yield
    while PRESTARTED:
        PRESTARTED.popitem()[1].shutdown_kernel(now=True)


def _execute(path: Path, times: int = 1, hidden_path: str | None = None) -> list[float]:
    """Run every cell ``times`` times in one kernel and keep the executed copy under ``build/executed``.
    With ``hidden_path``, the first run sees that PATH; then the real one is restored and the cells from
    the first cross-check to the last run again (a whole second run when ``times`` is 2)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        km=None if hidden_path else PRESTARTED.pop(path, None),
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=KERNEL_ARGS,
    )
    env = dict(os.environ, PATH=hidden_path) if hidden_path else None
    whole = range(len(notebook.cells))
    runs = [whole] * times if not hidden_path or times > 1 else [whole, cross_checks(notebook)]
    seconds = []
    with client.setup_kernel(cleanup_kc=True, **({"env": env} if env else {})):
        _prestart_after(path)
        for run, cells in enumerate(runs):
            start = time.perf_counter()
            if run and hidden_path:
                # Executed as a cell the notebook does not keep: nbclient stores a cell at the index it is
                # given, so the restore goes one past the end and is dropped again.
                restore = nbformat.v4.new_code_cell(f"import os\nos.environ['PATH'] = {os.environ['PATH']!r}")
                notebook.cells.append(restore)
                client.execute_cell(restore, len(notebook.cells) - 1)
                notebook.cells.pop()
            for index in cells:
                client.execute_cell(notebook.cells[index], index)
            seconds.append(time.perf_counter() - start)
    executed = EXECUTED / path.parent.name / path.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, executed)
    executed.with_suffix(".seconds").write_text(" ".join(f"{s:.1f}" for s in seconds) + "\n")  # each run's
    return seconds


@pytest.mark.notebook
@pytest.mark.parametrize("path", COURSE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    # In a fresh kernel; a second time in the same kernel (see runs_for): a learner re-running the
    # notebook must not trip over its first run. The lessons that cross-check with wrk and hey run
    # first without them, as on a fresh machine.
    hidden = path_without(OPTIONAL_TOOLS, tmp_path) if path.name in CROSS_CHECKING else None
    seconds = _execute(path, times=runs_for(path), hidden_path=hidden)
    print(f"{path.parent.name}/{path.name}: " + ", ".join(f"run {i + 1} {s:.1f} s" for i, s in enumerate(seconds)))
    assert not wait_for_no_servers(), f"{path.name} left a server running after its kernel ended"


def test_optional_tools_can_be_hidden(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("wrk", "hey", "python-ish"):
        (fake / name).write_text("#!/bin/sh\n")
        (fake / name).chmod(0o755)
    os.environ["PATH"], before = f"{fake}{os.pathsep}{os.environ['PATH']}", os.environ["PATH"]
    try:
        hidden = path_without(OPTIONAL_TOOLS, tmp_path / "shadow")
    finally:
        os.environ["PATH"] = before
    assert shutil.which("wrk", path=hidden) is None and shutil.which("hey", path=hidden) is None
    assert shutil.which("python-ish", path=hidden) is not None


def test_cross_checking_lessons_exist_and_their_cross_checks_are_found() -> None:
    for name in CROSS_CHECKING:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        checks = cross_checks(notebook)  # these cells run again with the tools
        setup = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
        assert setup < checks[0] and any(tool in notebook.cells[checks[0]].source for tool in OPTIONAL_TOOLS), name
        # What the cross-check cells assign is not read by a later cell, unless a later cell assigns it anew.
        defined = _names(notebook, checks, ast.Store)
        later = range(checks[-1] + 1, len(notebook.cells))
        read = _names(notebook, later, ast.Load) - _names(notebook, later, ast.Store)
        assert not defined & read, f"{name}: cells after the last cross-check read {sorted(defined & read)}"


def _names(notebook: nbformat.NotebookNode, cells: range, context: type[ast.expr_context]) -> set[str]:
    """The names the code cells ``cells`` assign (ast.Store) or read (ast.Load); cell magics skipped."""
    sources = [notebook.cells[i].source for i in cells if notebook.cells[i].cell_type == "code"]
    trees = [ast.parse(source.replace("await ", "")) for source in sources if not source.startswith("%")]
    return {n.id for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}


def test_every_notebook_gets_its_second_run_within_eight_commits_and_a_changed_one_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(f"{__name__}._changed_by_head", lambda: set())
    rerun: set[Path] = set()
    for seed in range(RERUN_SHARE):
        monkeypatch.setattr(f"{__name__}._commit_seed", lambda seed=seed: seed)
        rerun |= {path for path in COURSE if runs_for(path) == 2}
    assert rerun == set(COURSE)
    first = COURSE[0]
    others = next(seed for seed in range(RERUN_SHARE) if first not in rerun_groups()[seed])
    monkeypatch.setattr(f"{__name__}._commit_seed", lambda: others)
    assert runs_for(first) == 1
    monkeypatch.setattr(f"{__name__}._changed_by_head", lambda: {first.relative_to(ROOT).as_posix()})
    assert runs_for(first) == 2
    monkeypatch.setenv(RERUN_ALL_ENV, "1")
    assert all(runs_for(path) == 2 for path in COURSE)


@pytest.mark.parametrize("path", COURSE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


def test_the_rerun_groups_are_balanced_and_every_notebook_has_a_time() -> None:
    measured = json.loads(SECONDS.read_text(encoding="utf-8"))
    missing = [p.relative_to(ROOT).as_posix() for p in COURSE if p.relative_to(ROOT).as_posix() not in measured]
    assert not missing, f"add their seconds (build/executed/*.seconds, first figure) to {SECONDS.name}: {missing}"
    totals = [sum(measured[p.relative_to(ROOT).as_posix()] for p in group) for group in rerun_groups()]
    assert sorted(p for group in rerun_groups() for p in group) == sorted(COURSE)
    assert max(totals) <= 1.5 * sum(totals) / len(totals), totals  # no group holds the long ones together
