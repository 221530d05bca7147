"""Binder and the dev container install the course the way the README says (neither can run here)."""

from __future__ import annotations

import json
import re
import tomllib

from conftest import ROOT


def readme_commands() -> set[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return {line.split("#")[0].strip() for line in block.splitlines() if line.strip()}


def test_the_dev_container_runs_a_readme_command():
    config = json.loads((ROOT / ".devcontainer/devcontainer.json").read_text())
    assert config["postCreateCommand"] in readme_commands()
    assert "python:3.11" in config["image"]


def test_binder_installs_the_course_as_a_package_not_editable():
    post_build = (ROOT / "binder/postBuild").read_text()
    installs = [line for line in post_build.splitlines() if "pip install" in line]
    assert installs == ["python -m pip install --no-cache-dir ."], installs
    assert (ROOT / "binder/postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert not (ROOT / "binder/environment.yml").exists(), "an environment file would install -e . too"


def test_binder_python_satisfies_the_package():
    runtime = (ROOT / "binder/runtime.txt").read_text().strip()
    major, minor = map(int, runtime.removeprefix("python-").split("."))
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert (major, minor) >= tuple(map(int, floor.removeprefix(">=").split("."))), (runtime, floor)
