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
from asgilab.i18n import EDITIONS, N_, _, _f, edition_folder

__all__ = ["Hints", "SolutionNotFound", "find_solutions", "hints", "SOLUTIONS_ENV"]

SOLUTIONS_ENV = "ASGILAB_SOLUTIONS"
LEVELS = (N_("where to look"), N_("which tool or API"), N_("the key lines of code"))


def hints(table: dict[int, str], step: int) -> Hint:
    """The hint for ``step`` from a lab's table of one hint per step, or a clear error for an unknown step."""
    if step not in table:
        raise ValueError(_f("there is no step {step}; steps with hints: {steps}", step=step, steps=sorted(table)))
    return Hint(_(table[step]))


class SolutionNotFound(FileNotFoundError):
    """The solutions/ notebook is not on this machine; the message says where we looked."""

    def _render_traceback_(self) -> list[str]:  # IPython shows the sentence, not a traceback
        return [str(self)]


def find_solutions(notebook: str) -> Path:
    """``solutions/<notebook>``: beside the package's checkout, then from the current directory up,
    then in the folder ``$ASGILAB_SOLUTIONS``; `SolutionNotFound` says where it looked. In a translated
    edition, the same places' ``<edition>/solutions/`` (e.g. ``zh-TW/solutions/``) are looked in first."""
    here, cwd = Path(__file__).resolve().parent, Path.cwd().resolve()
    places, edition = (*here.parents, cwd, *cwd.parents), edition_folder()
    candidates = [p / edition / "solutions" / notebook for p in places] if edition else []
    candidates += [p / "solutions" / notebook for p in places]
    folder = os.environ.get(SOLUTIONS_ENV)
    if folder:
        candidates.append(Path(folder) / notebook)
    for path in candidates:
        if path.is_file():
            return path
    env_note = (
        _f("in ${env} ({folder})", env=SOLUTIONS_ENV, folder=folder)
        if folder
        else _f("in ${env} (not set)", env=SOLUTIONS_ENV)
    )
    raise SolutionNotFound(
        _f(
            "solutions/{notebook} was not found: looked beside the asgilab package ({here} and its parents),"
            " in {cwd} and its parents, and {env_note}. Open the lab from the course folder, or set"
            " {env} to the folder that holds {notebook}.",
            notebook=notebook,
            here=here,
            cwd=cwd,
            env_note=env_note,
            env=SOLUTIONS_ENV,
        )
    )


class Hints:
    """A lab's hint ladder (per step: where to look, which tool or API, the key lines) and solutions."""

    def __init__(self, notebook: str, ladder: dict[int, tuple[str, str, str]]) -> None:
        self.notebook = notebook
        self.ladder = ladder

    def _known(self, step: int) -> None:
        if step not in self.ladder:
            raise ValueError(
                _f("there is no step {step}; steps with hints: {steps}", step=step, steps=sorted(self.ladder))
            )

    def hint(self, step: int, level: int = 1) -> Hint:
        """Hint ``level`` (1-3) for ``step``; each level ends by naming the next. The ladder's text is
        translated where the catalog has it (the lab marks its prose with ``N_``; code stays as it is)."""
        self._known(step)
        if level not in (1, 2, 3):
            raise ValueError(
                _f("level is 1 (where to look), 2 (which tool or API) or 3 (the key lines); got {level}", level=level)
            )
        if level < 3:
            after = _f("More: check.hint({step}, level={next})", step=step, next=level + 1)
        else:
            after = _f("All of it: check.solution({step})", step=step)
        head = _f("Step {step}, hint {level} of 3 ({what}):", step=step, level=level, what=_(LEVELS[level - 1]))
        return Hint(f"{head}\n{_(self.ladder[step][level - 1])}\n{after}")

    def solution(self, step: int) -> Hint:
        """Every cell that solves ``step``, in order, as it reads once steps up to ``step`` are done."""
        self._known(step)
        path = find_solutions(self.notebook)
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        shown = []
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if step in steps_in(source) or None in steps_in(source):
                shown.append(render(source, lambda s: s is None or s <= step))
        where = f"{path.parent.parent.name}/solutions" if path.parent.parent.name in EDITIONS.values() else "solutions"
        if not shown:
            return Hint(
                _f(
                    "{where}/{notebook} has no solution block for step {step}.",
                    where=where,
                    notebook=self.notebook,
                    step=step,
                )
            )
        head = _f("Step {step}'s solution (from {where}/{notebook}):", step=step, where=where, notebook=self.notebook)
        return Hint(head + "\n\n" + "\n\n# ---\n\n".join(shown))
