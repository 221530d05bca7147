"""The package, tests, benchmark and scripts pass ruff (lint and format) with the project's settings."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PATHS = ["src", "tests", "benchmarks", "scripts"]


def test_ruff_check_and_format():
    check = subprocess.run([sys.executable, "-m", "ruff", "check", *PATHS], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *PATHS], capture_output=True, text=True, cwd=ROOT
    )
    assert fmt.returncode == 0, fmt.stdout
