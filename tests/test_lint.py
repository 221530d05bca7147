"""The package, tests, benchmark and scripts pass ruff (lint and format) with the project's settings;
the lessons and lab solutions pass its lint (their cells keep the layout that reads best in Jupyter)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PATHS = ["src", "tests", "benchmarks", "scripts"]
NOTEBOOK_PATHS = ["notebooks", "solutions"]


def test_ruff_check_and_format():
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *PATHS, *NOTEBOOK_PATHS], capture_output=True, text=True, cwd=ROOT
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *PATHS], capture_output=True, text=True, cwd=ROOT
    )
    assert fmt.returncode == 0, fmt.stdout


def test_the_package_keeps_its_size_bounds():
    """No function in the package over 50 lines, counted from its ``def`` to its last line (signature
    and docstring included: counting the code alone let `load`'s 64 lines pass); each lab's checks
    module at most 200 lines."""
    import ast

    long = []
    for path in sorted((ROOT / "src" / "asgilab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 50:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not long, f"functions over 50 lines: {long}"
    labs = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "src/asgilab/checks").glob("lab*.py")}
    assert all(n <= 200 for n in labs.values()), labs
