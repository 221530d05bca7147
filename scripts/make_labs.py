"""Generate the lab notebooks in labs/ from the completed ones in solutions/.

    python scripts/make_labs.py          # write labs/
    python scripts/make_labs.py --check  # exit 1 if labs/ is out of date

Markers (compatible with otter-grader and nbgrader's ``# BEGIN/END SOLUTION``):

    # BEGIN PROMPT          <- optional: these lines, without their leading "# ",
    # time.sleep(0.1)          are what the starter gets instead of the solution
    # END PROMPT
    # BEGIN SOLUTION step 2 <- or plain "# BEGIN SOLUTION": a block for every step
    await asyncio.sleep(0.1)
    # END SOLUTION

A solution with no prompt before it becomes ``raise NotImplementedError(...)``. Cells tagged
``solution`` are left out of the lab; outputs are never kept. The markers are parsed by
`asgilab.checks.markers`, which ``check.solution(step)`` uses too (one parser).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from asgilab.checks.markers import MARKER, starter_source

__all__ = ["MARKER", "starter_source", "make_lab", "expected_labs", "main"]

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, LABS = ROOT / "solutions", ROOT / "labs"


def make_lab(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The lab: every cell but those tagged ``solution``, code cells as starters."""
    lab = nbformat.v4.new_notebook(metadata=solution.metadata)
    for index, cell in enumerate(solution.cells):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        source = starter_source(cell.source) if cell.cell_type == "code" else cell.source
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(source, metadata=cell.metadata)
        else:
            new = nbformat.v4.new_markdown_cell(source, metadata=cell.metadata)
        new["id"] = cell.get("id") or f"cell-{index}"  # stable ids keep the generated file stable
        lab.cells.append(new)
    return lab


def render(notebook: nbformat.NotebookNode) -> str:
    """The notebook's file text."""
    return nbformat.writes(notebook) + "\n"


def expected_labs() -> dict[Path, str]:
    """What each file in labs/ must hold."""
    return {
        LABS / path.name: render(make_lab(nbformat.read(path, as_version=4)))
        for path in sorted(SOLUTIONS.glob("lab*.ipynb"))
    }


def main() -> int:
    """Write labs/, or with --check say which lab is out of date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if labs/ is out of date")
    args = parser.parse_args()
    stale = [p for p, text in expected_labs().items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run: python scripts/make_labs.py)")
        return 1 if stale else 0
    LABS.mkdir(exist_ok=True)
    for path, text in expected_labs().items():
        path.write_text(text)
    print(f"wrote {len(expected_labs())} lab notebooks to {LABS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
