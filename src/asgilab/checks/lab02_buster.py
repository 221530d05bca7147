"""Lab 02 step 4, keep it fixed: the learner's guard, ``blocking_paths(app)`` in ``lab02_guard.py``,
calls the service's endpoints in-process with blockbuster active and returns the paths whose handlers
made a blocking call on the event loop.

The check runs the guard twice, at once, each in a fresh Python process (blockbuster patches functions
process-wide, and a notebook's kernel runs an event loop of its own): on the original modules (the
lab's starter, rendered from ``solutions/``), where it must name /orders and /rates and not /ping,
and on the learner's service, with the rates API up, where it must name none."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asgilab.checks.criteria import tail
from asgilab.checks.feedback import Criterion
from asgilab.checks.hints import find_solutions
from asgilab.checks.markers import starter_source
from asgilab.i18n import _, _f
from asgilab.upstream import serve_upstream

__all__ = ["GUARD", "Guarded", "judge", "measure", "original_modules", "ruff_async"]

GUARD, MARKER = "lab02_guard.py", "asgilab-lab02-guard "
MUST, QUIET = ("/orders", "/rates"), "/ping"  # the original's blocking handlers; a handler that does nothing
RUN = (
    "import json\nfrom lab02_guard import blocking_paths\nfrom lab02_app import app\n"
    f"found = blocking_paths(app)\nprint({MARKER!r} + json.dumps(sorted(map(str, found)) if found is not None else None))"
)


@dataclass
class Guarded:
    guard: Path  # the learner's lab02_guard.py
    original: list[str] | None = None  # what the guard named on the original modules (None: it failed)
    yours: list[str] | None = None  # ... on the learner's service
    original_error: str = ""  # the end of its output when it failed
    yours_error: str = ""


def original_modules(folder: Path, notebook: str) -> None:
    """Write the lab's starter modules (every ``%%writefile`` cell of ``solutions/<notebook>``, no step solved)."""
    for cell in json.loads(find_solutions(notebook).read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.startswith("%%writefile"):
            first, _, body = source.partition("\n")
            (folder / first.split()[-1]).write_text(starter_source(body).rstrip("\n") + "\n", encoding="utf-8")


def _outcome(done: subprocess.Popen[str]) -> tuple[list[str] | None, str]:
    try:
        out, err = done.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        done.kill()
        out, err = done.communicate()
        err += "\n" + _("the guard ran for more than 60 s and was stopped")
    found = [line[len(MARKER) :] for line in out.splitlines() if line.startswith(MARKER)]
    named = json.loads(found[-1]) if found and done.returncode == 0 else None
    if found and named is None:
        return None, _("blocking_paths(app) returned None: it must return the paths it found (a list)")
    return named, "" if named is not None else tail(err or out, 6)


def _guard(where: str | Path, upstream_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "UPSTREAM_URL": upstream_url, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen([sys.executable, "-c", RUN], cwd=where, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def measure(app_dir: Path, notebook: str) -> Guarded:
    m = Guarded(app_dir / GUARD)
    if not m.guard.exists():
        return m
    with tempfile.TemporaryDirectory(prefix="lab02_original_") as original:
        original_modules(Path(original), notebook)
        shutil.copy(m.guard, Path(original) / GUARD)
        # The original's requests.get meets blockbuster before it connects: it needs no rates API, so it
        # starts first, while the upstream your service calls starts.
        first = _guard(original, "http://127.0.0.1:9")
        with serve_upstream() as up:
            yours = _guard(app_dir, up.url)
            (m.original, m.original_error), (m.yours, m.yours_error) = _outcome(first), _outcome(yours)
    return m


def ruff_async(*paths: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """Run ``ruff check --select ASYNC`` on files; return its exit code and its findings."""
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select=ASYNC", "--color=never"]
    command += ["--output-format=concise", *map(str, paths)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    return done.returncode, re.findall(r"^.*: ASYNC\d+ .*$", done.stdout + done.stderr, re.M)


# -- how step 4 judges it (pure) -------------------------------------------------------------------
def _and(paths: list[str] | tuple[str, ...]) -> str:
    """``/orders and /rates``, in the learner's language."""
    # i18n: between two paths, as in "/orders and /rates"
    return _(" and ").join(paths)


def _failed(error: str) -> str:
    if "BlockingError" in error:
        return _(
            "your guard stopped at the first blocking call: the BlockingError left blocking_paths(); a guard records the path and goes on to the next."
        )
    return _("your guard failed: its last lines above name the exception.")


def judge(m: Guarded) -> list[Criterion]:
    """On the original: /orders and /rates named, /ping not; on the learner's service: nothing named."""
    if not m.guard.exists():
        return [
            Criterion(
                False,
                _f("{guard} exists", guard=GUARD),
                _f("no file {path}", path=m.guard),
                _f(
                    "run the cell that writes {guard} (a lab saved before step 4 asked for it has none: take that cell from labs/lab02_blocking_pitfalls.ipynb)",
                    guard=GUARD,
                ),
            )
        ]
    what = _f(
        "on the original modules, your guard names {paths} (they block the loop) and not {quiet}",
        paths=_and(MUST),
        quiet=QUIET,
    )
    if m.original is None:
        first = Criterion(False, what, _f("it failed:\n{error}", error=m.original_error), _failed(m.original_error))
    else:
        missed = [p for p in MUST if p not in m.original]
        advice = (
            _f(
                "your guard named {quiet}, a handler that does nothing: look at which failures it counts as blocking calls.",
                quiet=QUIET,
            )
            if not missed
            else _f(
                "{paths} make a blocking call on the loop in the original (time.sleep, requests.get) and your guard missed it: look at whether blockbuster is active while each request runs, and what becomes of the exception it raises.",
                paths=_and(missed),
            )
        )
        named = _f("named {found}", found=m.original) if m.original else _("named nothing")
        first = Criterion(not missed and QUIET not in m.original, what, named, advice)
    second_what = _("on your service, your guard names nothing (no handler blocks the loop)")
    if m.yours is None:
        failed = _f("it failed:\n{error}", error=m.yours_error)
        return [first, Criterion(False, second_what, failed, _failed(m.yours_error))]
    advice = _f(
        "your guard named {found} on your service. If steps 1-3 pass there, no handler blocks the loop: a request"
        " that fails (a 500, from a handler that finds nothing in request.state, say) or a slow one is not a"
        " blocking call. Look at what your guard counts.",
        found=m.yours,
    )
    named = _f("named {found}", found=m.yours) if m.yours else _("named nothing")
    return [first, Criterion(not m.yours, second_what, named, advice)]
