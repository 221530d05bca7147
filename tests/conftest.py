"""Shared test helpers: the repository's folders, notebook cells, and the no-leftover-server rule."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS, LABS, SOLUTIONS = ROOT / "notebooks", ROOT / "labs", ROOT / "solutions"

# The figures the CLI's --json and `Run.to_dict()` promise (the course issue's list).
HEADLINE_KEYS = (
    "requests", "concurrency", "ok", "errors", "wall_s", "throughput_rps",
    "p50_s", "p90_s", "p99_s", "max_s", "effective_concurrency",
)  # fmt: skip

# Every process this test session starts inherits this mark (servers, kernels, the servers kernels
# start), so the leftover checks see our own servers only, not those of another run on the machine.
SESSION_MARK = "ASGILAB_TEST_SESSION"
os.environ[SESSION_MARK] = uuid.uuid4().hex
# A lesson's claim that fails raises here (and in the kernels the tests start), with its figures.
os.environ["ASGILAB_STRICT"] = "1"
# The tests read the kit's English (asgilab.i18n): a zh_TW locale or ASGILAB_LANG must not translate it.
# A test of the zh-TW edition sets the language itself (tests/test_translations.py).
os.environ["ASGILAB_LANG"] = "en"


def server_processes() -> list[psutil.Process]:
    """Every live process that `asgilab.serve` started during this test session."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] == psutil.STATUS_ZOMBIE or not any(part.endswith("_launch.py") for part in cmdline):
            continue
        if _is_fork_server(proc):  # it serves nothing itself; its children (same command line) are servers
            continue
        try:
            if proc.environ().get(SESSION_MARK) == os.environ[SESSION_MARK]:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


def _is_fork_server(proc: psutil.Process) -> bool:
    try:
        parent = proc.parent()
        return "--zygote" in proc.cmdline() and (parent is None or "--zygote" not in parent.cmdline())
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return False


def wait_for_no_servers(timeout: float = 8.0) -> list[psutil.Process]:
    """Wait until no course server is left; return the ones still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := server_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


BURN = "import time\nend = time.perf_counter() + {s}\nwhile time.perf_counter() < end: pass\n"


@contextmanager
def strangers(count: int, seconds: float) -> Iterator[list[psutil.Process]]:
    """``count`` programs that each burn one core for up to ``seconds`` and that are *not* ours: `sh`
    starts each in the background and exits, so it is re-parented, as another user's program would be.
    Killed on leaving the block; ``seconds`` bounds them if this process dies first."""
    burners = []
    try:
        for _ in range(count):
            out = subprocess.run(
                ["sh", "-c", f'{sys.executable} -c "$0" >/dev/null 2>&1 & echo $!', BURN.format(s=seconds)],
                check=True,
                capture_output=True,
                text=True,
                timeout=30,
            )
            burners.append(psutil.Process(int(out.stdout.strip())))
        yield burners
    finally:
        for burner in burners:
            burner.kill()
        psutil.wait_procs(burners, timeout=5)


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


def lab_app_dirs(notebook: str, files: set[str]) -> tuple[Any, Any]:
    """The module-scoped fixtures ``starter`` and ``solution`` of a lab's tests: a fresh folder each,
    holding what the ``%%writefile`` cells of the lab's notebook (in labs/, in solutions/) write,
    which must be exactly ``files``. Use: ``starter, solution = lab_app_dirs(NOTEBOOK, {"lab02_app.py"})``."""

    def app_dir(tmp_path_factory: pytest.TempPathFactory, where: Path) -> Path:
        folder = tmp_path_factory.mktemp(f"{Path(notebook).stem}_{where.name}")
        assert {p.name for p in write_app_cells(where / notebook, folder)} == files
        return folder

    @pytest.fixture(scope="module", name="starter")
    def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return app_dir(tmp_path_factory, LABS)

    @pytest.fixture(scope="module", name="solution")
    def solution(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return app_dir(tmp_path_factory, SOLUTIONS)

    return starter, solution


def check_fails(step: Callable[..., Any], app: str, app_dir: Path, *expected: str, failed_only: bool = False) -> str:
    """Run a check step that must raise `CheckFailed` and return its feedback text (only the failed
    criteria's lines with ``failed_only``), after asserting it contains each of ``expected``."""
    from asgilab.checks import CheckFailed

    with pytest.raises(CheckFailed) as failure:
        step(app, app_dir=app_dir)
    feedback = failure.value.feedback
    if failed_only:
        text = "\n".join(c.line() for c in feedback.criteria if not c.passed)
    else:
        text = str(feedback)
    for wanted in expected:
        assert wanted in text, f"{feedback.title}: the feedback lacks {wanted!r}:\n{text}"
    return text


def check_passes(step: Callable[..., Any], app: str, app_dir: Path) -> Any:
    """Run a check step that must pass; return its `Feedback`."""
    from asgilab.checks import Feedback

    feedback = step(app, app_dir=app_dir)
    assert isinstance(feedback, Feedback) and feedback.passed, str(feedback)
    assert "[FAIL]" not in str(feedback)
    return feedback


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """When this session executes a lab's solution notebook, which calls every check on the solution
    in strict mode, that lab's live `..._passes_on_the_solution` tests would prove the same thing
    again: leave them out (run a lab's test file alone and they run)."""
    executed = {item.callspec.params["path"].stem[:5] for item in items if _is_solution_notebook(item)}
    duplicates = [
        item
        for item in items
        if "passes_on_the_solution" in item.name and Path(str(item.fspath)).stem.removeprefix("test_") in executed
    ]
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        items[:] = [item for item in items if item not in duplicates]


def _is_solution_notebook(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    path = params.get("path")
    return isinstance(path, Path) and path.parent == SOLUTIONS and item.name.startswith("test_notebook_runs")
