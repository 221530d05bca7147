"""The hub recipe (hub/): config.yaml's CPU and memory follow from the measured figures in
hub/figures.toml; the Dockerfile installs what the guide says and puts the start hook where docker-stacks
runs it; the hook makes a learner's my-work/ in a fresh home; check_image.py passes here.
There is no Docker daemon where the tests run: the image itself is not built."""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from asgilab import workspace
from conftest import ROOT

HUB = ROOT / "hub"
FIGURES = tomllib.loads((HUB / "figures.toml").read_text())
UNITS_MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}  # z2jh (JupyterHub's ByteSpecification): 1024-based


def budget() -> dict[str, int]:
    """The guarantee and limit per learner, in MiB and cores, derived from the measured figures."""
    measured, rule = FIGURES["measured"], FIGURES["budget"]
    base = measured["lesson_peak_resident_mib"] + measured["jupyter_server_mib"]
    guaranteed = base + rule["open_kernels_guaranteed"] * measured["open_kernel_mib"]
    limit = base + rule["open_kernels_limit"] * measured["open_kernel_mib"]
    step = rule["round_to_mib"]
    return {
        "needed_mib": guaranteed,
        "room_mib": limit,
        "memory_guarantee_mib": math.ceil(guaranteed / step) * step,
        "memory_limit_mib": math.ceil(limit / step) * step,
        "cpu_guarantee": rule["cpu_guarantee"],
        "cpu_limit": rule["cpu_limit"],
    }


def missing_figures(text: str) -> list[str]:
    """The figures a page about the hub must state (INSTRUCTORS.md's hub section, hub/README.md), missing from ``text``."""
    measured, derived = FIGURES["measured"], budget()
    phrases = [
        f"{measured['lesson_peak_resident_mib']} MiB",
        f"{measured['jupyter_server_mib']} MiB",
        f"{measured['open_kernel_mib']} MiB",
        f"{derived['memory_guarantee_mib'] / 1024:g} GiB",
        f"{derived['memory_limit_mib'] / 1024:g} GiB",
        f"{measured['cores']} cores",
    ]
    return [phrase for phrase in phrases if phrase not in text]


def mib(value: str | int) -> float:
    """A z2jh memory size (``1G``, ``512M``, or a number of bytes) in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", str(value))
    assert match, f"not a z2jh memory size: {value!r}"
    return float(match[1]) * UNITS_MIB[match[2]] if match[2] else float(match[1]) / 2**20


def test_config_yaml_asks_for_what_the_figures_give():
    derived = budget()
    assert (
        derived["memory_guarantee_mib"] == 1024 and derived["memory_limit_mib"] == 2048
    )  # as config.yaml's comment says
    single = yaml.safe_load((HUB / "config.yaml").read_text())["singleuser"]
    assert single["cpu"] == {"guarantee": derived["cpu_guarantee"], "limit": derived["cpu_limit"]}
    assert mib(single["memory"]["guarantee"]) == derived["memory_guarantee_mib"]
    assert mib(single["memory"]["limit"]) == derived["memory_limit_mib"]
    assert FIGURES["measured"]["cores"] == derived["cpu_guarantee"] == derived["cpu_limit"]
    assert single["defaultUrl"] == f"/lab/tree/{workspace.WORKSPACE}/{workspace.START}"
    assert (ROOT / workspace.START).is_file()
    comment = (HUB / "config.yaml").read_text()
    for number in (derived["needed_mib"], derived["room_mib"], FIGURES["measured"]["lesson_peak_resident_mib"]):
        assert f"{number} MiB" in comment, f"config.yaml's comment lacks {number} MiB"


def test_the_hub_readme_states_the_figures():
    assert not missing_figures((HUB / "README.md").read_text())


def dockerfile() -> tuple[str, list[list[str]]]:
    """The Dockerfile's text and its instructions (continuation lines joined), each split like a shell would."""
    text = (HUB / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return text, [shlex.split(line) for line in lines]


def test_the_dockerfile_installs_the_course_wrk_hey_and_the_hook():
    text, steps = dockerfile()
    base = next(step[1] for step in steps if step[0] == "ARG" and step[1].startswith("BASE_IMAGE="))
    assert base.split("=", 1)[1].startswith(("quay.io/jupyter/", "quay.io/jupyterhub/k8s-singleuser")), base
    assert ["FROM", "${BASE_IMAGE}"] in steps
    runs = [" ".join(step[1:]) for step in steps if step[0] == "RUN"]
    assert any("apt-get install" in run and {"wrk", "hey"} <= set(run.split()) for run in runs)
    env = dict(item.split("=", 1) for step in steps if step[0] == "ENV" for item in step[1:])
    course = env[workspace.COURSE_ENV]
    assert env["ASGILAB_SOLUTIONS"] == f"{course}/solutions"
    copies = {step[-1].rstrip("/"): step[1:-1] for step in steps if step[0] == "COPY"}
    for folder in (*workspace.FOLDERS, "solutions", "src"):
        assert copies[f"{course}/{folder}"] == [folder]
    for sources in copies.values():
        assert all((ROOT / s).exists() for s in sources if not s.startswith("--")), sources
    hook = "/usr/local/bin/before-notebook.d/50-asgilab-my-work"  # executed by start.sh; a *.sh would be sourced
    assert copies[hook] == ["--chmod=755", "hub/asgilab-my-work"]
    user_switches = [i for i, step in enumerate(steps) if step[0] == "USER"]
    install = next(i for i, step in enumerate(steps) if step[0] == "RUN" and "pip install" in " ".join(step))
    check = next(i for i, step in enumerate(steps) if step[0] == "RUN" and "check_image.py" in " ".join(step))
    assert steps[user_switches[-1]] == ["USER", "${NB_UID}"] and user_switches[-1] < install < check
    assert "pip install --no-cache-dir /tmp/asgilab-build" in text and f"cp -r {course} /tmp/asgilab-build" in text
    ignored = (HUB / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "my-work", ".git", "labs/*.py", "notebooks/apps/*.py"} <= set(ignored)


def test_the_start_hook_is_a_clean_executable_script():
    hook = HUB / "asgilab-my-work"
    assert os.access(hook, os.X_OK) and hook.read_text().startswith("#!/bin/bash\n")
    assert subprocess.run(["bash", "-n", str(hook)]).returncode == 0
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", str(hook)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def run_hook(home: Path, path: str) -> subprocess.CompletedProcess[str]:
    import getpass

    env = {"HOME": str(home), "PATH": path, "NB_USER": getpass.getuser(), workspace.COURSE_ENV: str(ROOT)}
    return subprocess.run([str(HUB / "asgilab-my-work")], env=env, capture_output=True, text=True, timeout=60)


def test_the_start_hook_makes_my_work_in_a_fresh_home_and_never_stops_a_start(tmp_path: Path):
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    first = run_hook(tmp_path, path)
    assert first.returncode == 0 and "Made your own copies of the course in" in first.stdout, (
        first.stdout + first.stderr
    )
    copies = sorted(str(p.relative_to(tmp_path / "my-work")) for p in (tmp_path / "my-work").glob("*/*.ipynb"))
    assert copies == sorted(workspace.course_notebooks(ROOT))
    assert "is up to date with the course" in run_hook(tmp_path, path).stdout
    broken = run_hook(tmp_path / "other", "/nowhere")  # no python: the server starts all the same
    assert broken.returncode == 0 and "could not be made" in broken.stderr


def test_check_image_passes_here():
    tools = ["--no-tools"] if not (shutil.which("wrk") and shutil.which("hey")) else []
    env = {**os.environ, workspace.COURSE_ENV: str(ROOT), "ASGILAB_SOLUTIONS": str(ROOT / "solutions")}
    result = subprocess.run(
        [sys.executable, str(HUB / "check_image.py"), *tools], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   workspace" in result.stdout and "ok   PostgreSQL" in result.stdout


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_the_hub_scripts_pass_ruff(command: list[str]):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, "hub"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_the_guide_states_the_hub_figures():
    assert not missing_figures((ROOT / "INSTRUCTORS.md").read_text())
