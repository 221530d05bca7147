"""The check scaffold in `asgilab.checks`: feedback and its hint line, common criteria, `served`,
the hint ladder, and `solution()` finding solutions/ and showing one step at a time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from asgilab.checks import (
    CheckFailed,
    Criterion,
    Feedback,
    Hint,
    Hints,
    SolutionNotFound,
    all_answered,
    ms,
    served,
    verdict,
)
from asgilab.checks.hints import SOLUTIONS_ENV
from asgilab.checks.markers import render, steps_in
from asgilab.checks.testing import made_run

FAIL = Criterion(False, "requests overlap", "wall 5.0 s", "look for a blocking call")


def test_a_failed_step_ends_with_the_hint_ladder_line_and_a_passed_one_does_not():
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback("Step 2: overlap", [FAIL], step=2))
    shown = failure.value._render_traceback_()
    assert shown[-1].startswith("Stuck? check.hint(2)") and "check.hint(2, level=3)" in shown[-1]
    assert "check.solution(2)" in shown[-1] and "check.solution(2)" in failure.value.feedback._repr_html_()
    passed = Feedback("Step 2", [Criterion(True, "overlap", "wall 0.2 s")], step=2)
    assert "Stuck" not in str(passed) + passed._repr_html_()
    assert "Stuck" not in str(Feedback("no step", [FAIL]))  # labs not yet on the ladder


def test_all_answered_names_error_kinds_and_the_servers_last_lines():
    assert all_answered(made_run(20)).passed
    failed = all_answered(made_run(17, {"status 500": 2, "timeout": 1}), "GET /x answers", "a\nKeyError: 'ms'")
    assert not failed.passed and failed.what == "GET /x answers"
    assert "17/20 answered" in failed.measured and "status 500: 2, timeout: 1" in failed.measured
    assert failed.measured.endswith("a\nKeyError: 'ms'") and "server's last lines" in failed.advice
    cut_short = all_answered(made_run(5, requests=20))
    assert not cut_short.passed and "cut short" in cut_short.measured
    assert not all_answered(made_run(0)).passed  # nothing asked, nothing proven


def test_ms_guards_against_nan():
    assert ms(0.1234) == "123 ms" and ms(math.nan) == "n/a"


def test_served_fails_the_step_with_what_the_server_said(tmp_path: Path):
    (tmp_path / "scaffold_broken_app.py").write_text("import no_such_module_for_the_scaffold\n")
    with pytest.raises(CheckFailed) as failure, served("Step 7: x", "scaffold_broken_app:app", tmp_path, step=7):
        pytest.fail("the body must not run")
    text = str(failure.value.feedback)
    assert "[FAIL] the app 'scaffold_broken_app:app' starts" in text and "no_such_module_for_the_scaffold" in text
    assert text.splitlines()[-1].startswith("Stuck? check.hint(7)")


LADDER = Hints("lab99_scaffold.ipynb", {1: ("look here", "use this API", "x = 1"), 2: ("a", "b", "c")})


def test_the_hint_ladder_climbs_and_says_what_is_next():
    first, last = LADDER.hint(1), LADDER.hint(1, level=3)
    assert isinstance(first, Hint) and repr(first) == str(first)
    assert "hint 1 of 3 (where to look)" in first and "look here" in first and "check.hint(1, level=2)" in first
    assert "use this API" in LADDER.hint(1, level=2) and "x = 1" in last and "check.solution(1)" in last
    with pytest.raises(ValueError, match="no step 3"):
        LADDER.hint(3)
    with pytest.raises(ValueError, match="level"):
        LADDER.hint(1, level=0)


CELL = """%%writefile app.py
def first():
    # BEGIN SOLUTION step 1
    return 1
    # END SOLUTION

def second():
    # BEGIN PROMPT
    # return None  # TODO
    # END PROMPT
    # BEGIN SOLUTION step 2
    return 2
    # END SOLUTION"""


def write_notebook(folder: Path, *sources: str) -> None:
    cells = [
        {"cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None} for s in sources
    ]
    cells.insert(0, {"cell_type": "markdown", "source": "# BEGIN SOLUTION step 1 (prose, not code)", "metadata": {}})
    (folder / "lab99_scaffold.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))


def test_a_cell_that_solves_two_steps_is_shown_one_step_at_a_time():
    assert steps_in(CELL) == {1, 2} and steps_in("# BEGIN SOLUTION\n# END SOLUTION") == {None}
    one = render(CELL, lambda s: s is None or s <= 1)
    assert "return 1" in one and "return None  # TODO" in one and "return 2" not in one and "BEGIN" not in one
    both = render(CELL, lambda s: s is None or s <= 2)
    assert "return 1" in both and "return 2" in both and "TODO" not in both


def test_solution_is_found_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "solutions").mkdir()
    write_notebook(
        tmp_path / "solutions", CELL, "print('no solution here')", "# BEGIN SOLUTION\nshared = True\n# END SOLUTION"
    )
    monkeypatch.chdir(tmp_path / "solutions")  # e.g. a Binder session opened in a sub-folder
    monkeypatch.delenv(SOLUTIONS_ENV, raising=False)
    shown = LADDER.solution(1)
    assert isinstance(shown, Hint) and "return 1" in shown and "return 2" not in shown
    assert "shared = True" in shown and "no solution here" not in shown  # a plain block: every step
    assert shown.index("return 1") < shown.index("shared = True")  # in notebook order
    assert "return 2" in LADDER.solution(2)


def test_solution_is_found_through_the_environment_then_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SOLUTIONS_ENV, raising=False)
    with pytest.raises(SolutionNotFound) as missing:
        LADDER.solution(1)
    sentence = missing.value._render_traceback_()[0]
    assert "solutions/lab99_scaffold.ipynb was not found" in sentence and str(tmp_path) in sentence
    assert f"${SOLUTIONS_ENV} (not set)" in sentence
    write_notebook(tmp_path, CELL)
    monkeypatch.setenv(SOLUTIONS_ENV, str(tmp_path))
    assert "return 1" in LADDER.solution(1)
