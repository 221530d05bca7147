"""Lab checks: serve the learner's app live, measure it, judge the figures, say what passed.

A lab's checks live in ``asgilab.checks.labNN``. The pattern, step by step (lab 04 is the model):

    @dataclass
    class Pooling:                          # what step 1 measured: figures, no judgement
        run: Run
        logs: str

    def measure_step1(app, app_dir=None) -> Pooling:     # live: serves the app, sends load
        with served(TITLES[1], app, app_dir, env={...}, step=1) as server:
            ...

    def judge_step1(m: Pooling) -> list[Criterion]:      # pure: tested on hand-built measurements
        return [all_answered(m.run, logs=m.logs), Criterion(...)]

    step1 = make_step(1, TITLES[1], measure_step1, judge_step1, "lab04_app:app")  # step1(app, app_dir)

    HINTS = Hints("lab04_connection_pooling.ipynb", {1: (where, which_api, key_lines), ...})
    hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)

``step`` returns `Feedback` when every criterion holds and raises `CheckFailed` otherwise; in
Jupyter a failure shows as its message, ending with where the hints and the solution are. Advice
names the symptom, the figure and where to look, never the fix (that is hint level 2 and 3).
Criteria are ratios with generous bounds: they pass on a slow laptop and fail on the starter.
"""

from __future__ import annotations

from asgilab.checks.criteria import all_answered, ms, served_together, tail, waits_at_least
from asgilab.checks.feedback import (
    CheckFailed,
    Criterion,
    Feedback,
    Hint,
    app_error,
    logged,
    not_started,
    stuck_line,
    verdict,
)
from asgilab.checks.hints import Hints, SolutionNotFound, find_solutions, hints
from asgilab.checks.serving import AppDir, make_step, served

__all__ = [
    "AppDir",
    "Criterion",
    "Feedback",
    "CheckFailed",
    "Hint",
    "Hints",
    "SolutionNotFound",
    "verdict",
    "hints",
    "not_started",
    "app_error",
    "all_answered",
    "served_together",
    "waits_at_least",
    "ms",
    "tail",
    "served",
    "make_step",
    "logged",
    "stuck_line",
    "find_solutions",
]
