"""The lab generator turns solutions into starters, and labs/ is up to date with solutions/."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import make_labs

SOLUTION = """\
@app.get("/slow")
async def slow():
    # BEGIN PROMPT
    # time.sleep(0.1)  # TODO
    # END PROMPT
    # BEGIN SOLUTION
    await asyncio.sleep(0.1)
    # END SOLUTION
    return {"ok": True}

def other():
    # BEGIN SOLUTION
    return 42
    # END SOLUTION
"""


def test_prompt_replaces_the_solution_and_bare_solutions_raise():
    starter = make_labs.starter_source(SOLUTION)
    assert "await asyncio.sleep" not in starter and "return 42" not in starter
    assert "    time.sleep(0.1)  # TODO\n" in starter
    assert '    raise NotImplementedError("your code here")' in starter
    assert "BEGIN" not in starter and 'return {"ok": True}' in starter
    compile(starter.replace("@app.get", "# "), "starter", "exec")


@pytest.mark.parametrize(
    "broken", ["# BEGIN SOLUTION\nx = 1\n", "# END SOLUTION\n", "# BEGIN SOLUTION\n# BEGIN PROMPT\n"]
)
def test_unbalanced_markers_are_errors(broken):
    with pytest.raises(ValueError):
        make_labs.starter_source(broken)


def test_labs_are_generated_from_solutions_and_up_to_date():
    expected = make_labs.expected_labs()
    assert len(expected) == len(list((ROOT / "solutions").glob("lab*.ipynb")))
    stale = [p.name for p, text in expected.items() if not p.exists() or p.read_text() != text]
    assert not stale, f"labs/ is out of date for {stale}: run `python scripts/make_labs.py`"
    for path, text in expected.items():
        assert "# BEGIN SOLUTION" not in text, f"{path.name} leaks a solution"


STEPPED = """\
def app():
    # BEGIN SOLUTION steps 1-2
    a = 1
    # END SOLUTION
    # BEGIN PROMPT
    # b = None  # TODO
    # END PROMPT
    # BEGIN SOLUTION step 3
    b = 2
    # END SOLUTION
"""


def test_step_markers_make_the_same_starter_as_plain_ones():
    plain = STEPPED.replace(" steps 1-2", "").replace(" step 3", "")
    assert make_labs.starter_source(STEPPED) == make_labs.starter_source(plain)
    starter = make_labs.starter_source(STEPPED)
    assert '    raise NotImplementedError("your code here")' in starter and "    b = None  # TODO" in starter
    assert "a = 1" not in starter and "b = 2" not in starter


@pytest.mark.parametrize(
    "broken", ["# BEGIN PROMPT step 1\n# END PROMPT\n", "# BEGIN SOLUTION steps 3-1\n# END SOLUTION\n"]
)
def test_only_begin_solution_takes_steps(broken):
    with pytest.raises(ValueError):
        make_labs.starter_source(broken)
