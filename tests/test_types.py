"""The package type-checks under mypy --strict (settings in pyproject.toml); every `# type: ignore`
that remains names its error code and says why."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_mypy_strict_passes():
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_type_ignore_has_a_code_and_a_reason():
    bare = []
    for path in sorted((ROOT / "src" / "asgilab").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "type: ignore" in line and not re.search(r"type: ignore\[[\w-]+(, [\w-]+)*\]\s+#\s*\S", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "a type: ignore without [code] and a reason:\n" + "\n".join(bare)
