"""Hints, declared once per lab: a ladder of three levels per step, and each step's solution read
from the lab's notebook in ``solutions/`` (the one source of the code).

    HINTS = Hints("lab04_connection_pooling.ipynb", {1: (where_to_look, which_api, key_lines), ...})
    HINTS.hint(1, level=2)
    HINTS.solution(1)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from asgilab.checks.feedback import Hint
from asgilab.checks.markers import render, steps_in

__all__ = ["Hints", "SolutionNotFound", "find_solutions", "hints", "SOLUTIONS_ENV"]

SOLUTIONS_ENV = "ASGILAB_SOLUTIONS"
LEVELS = ("where to look", "which tool or API", "the key lines of code")


def hints(table: dict[int, str], step: int) -> Hint:
    """The hint for ``step`` from a lab's table of one hint per step, or a clear error for an unknown step."""
    if step not in table:
        raise ValueError(f"there is no step {step}; steps with hints: {sorted(table)}")
    return Hint(table[step])


class SolutionNotFound(FileNotFoundError):
    """The solutions/ notebook is not on this machine; the message says where we looked."""

    def _render_traceback_(self) -> list[str]:  # IPython shows the sentence, not a traceback
        return [str(self)]


def find_solutions(notebook: str) -> Path:
    """``solutions/<notebook>``: beside the package's checkout, then from the current directory up,
    then in the folder ``$ASGILAB_SOLUTIONS``; `SolutionNotFound` says where it looked."""
    here, cwd = Path(__file__).resolve().parent, Path.cwd().resolve()
    candidates = [p / "solutions" / notebook for p in (*here.parents, cwd, *cwd.parents)]
    folder = os.environ.get(SOLUTIONS_ENV)
    if folder:
        candidates.append(Path(folder) / notebook)
    for path in candidates:
        if path.is_file():
            return path
    env_note = f"in ${SOLUTIONS_ENV} ({folder})" if folder else f"in ${SOLUTIONS_ENV} (not set)"
    raise SolutionNotFound(
        f"solutions/{notebook} was not found: looked beside the asgilab package ({here} and its parents),"
        f" in {cwd} and its parents, and {env_note}. Open the lab from the course folder, or set"
        f" {SOLUTIONS_ENV} to the folder that holds {notebook}."
    )


class Hints:
    """A lab's hint ladder (per step: where to look, which tool or API, the key lines) and solutions."""

    def __init__(self, notebook: str, ladder: dict[int, tuple[str, str, str]]) -> None:
        self.notebook = notebook
        self.ladder = ladder

    def hint(self, step: int, level: int = 1) -> Hint:
        """Hint ``level`` (1-3) for ``step``; each level ends by naming the next."""
        if step not in self.ladder:
            raise ValueError(f"there is no step {step}; steps with hints: {sorted(self.ladder)}")
        if level not in (1, 2, 3):
            raise ValueError(f"level is 1 (where to look), 2 (which tool or API) or 3 (the key lines); got {level}")
        after = f"More: check.hint({step}, level={level + 1})" if level < 3 else f"All of it: check.solution({step})"
        head = f"Step {step}, hint {level} of 3 ({LEVELS[level - 1]}):"
        return Hint(f"{head}\n{self.ladder[step][level - 1]}\n{after}")

    def solution(self, step: int) -> Hint:
        """Every cell that solves ``step``, in order, as it reads once steps up to ``step`` are done."""
        if step not in self.ladder:
            raise ValueError(f"there is no step {step}; steps with hints: {sorted(self.ladder)}")
        path = find_solutions(self.notebook)
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        shown = []
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if step in steps_in(source) or None in steps_in(source):
                shown.append(render(source, lambda s: s is None or s <= step))
        if not shown:
            return Hint(f"solutions/{self.notebook} has no solution block for step {step}.")
        return Hint(f"Step {step}'s solution (from solutions/{self.notebook}):\n\n" + "\n\n# ---\n\n".join(shown))
