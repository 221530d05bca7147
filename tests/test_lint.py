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
