"""A learner's work survives `git pull` of a newer course version: the learner works on copies in the
git-ignored my-work/ (asgilab.workspace, `make lab`); a pull changes the course, never those copies; the
next run adds what the new version brings and names what changed. And a check still runs from a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asgilab import workspace
from conftest import ROOT

LAB01, LAB02, NEW = "labs/lab01_wsgi_to_asgi.ipynb", "labs/lab02_blocking_pitfalls.ipynb", "notebooks/13_new.ipynb"


def git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["git", "-c", "user.name=course", "-c", "user.email=course@example.invalid", "-C", str(folder), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


def run_workspace(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m asgilab.workspace`` as a learner types it in the course folder."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop(workspace.COURSE_ENV, None)
    env.pop(workspace.WORKSPACE_ENV, None)
    command = [sys.executable, "-m", "asgilab.workspace", "--course", ".", "--into", "my-work", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def edit_notebook(path: Path, cell: dict[str, object]) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"].append(cell)
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")


def markdown(text: str) -> dict[str, object]:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """The course as committed (HEAD of this checkout), with this checkout's .gitignore: the version learners clone."""
    folder = tmp_path / "upstream"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder)], check=True, timeout=60)
    shutil.copyfile(ROOT / ".gitignore", folder / ".gitignore")
    git(folder, "commit", "--quiet", "--allow-empty", "-am", "the course, with my-work/ ignored")
    return folder


def test_a_learners_work_survives_git_pull_of_a_newer_course(upstream: Path, tmp_path: Path):
    learner = tmp_path / "learner"
    git(tmp_path, "clone", "--quiet", str(upstream), str(learner))
    first = run_workspace(learner)
    assert first.returncode == 0, first.stderr
    assert "Made your own copies of the course in my-work/" in first.stdout, first.stdout
    mine = learner / "my-work" / LAB01
    assert (learner / "my-work/notebooks/apps").is_dir() and not (learner / "my-work/solutions").exists()

    # As JupyterLab would save it: a new cell with its output, and the module the lab's cell wrote beside it.
    edit_notebook(mine, {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["print('mine')"],
                         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["mine\n"]}]})  # fmt: skip
    (mine.parent / "lab01_hello_app.py").write_text("app = None\n")
    edited = mine.read_bytes()
    assert git(learner, "status", "--porcelain").stdout == "", "my-work/ must be ignored by git"

    # The course moves on: lab01 and lab02 change, a notebook is added.
    edit_notebook(upstream / LAB01, markdown("A step the newer course version adds."))
    edit_notebook(upstream / LAB02, markdown("Another change upstream."))
    shutil.copyfile(upstream / "notebooks/00_start_here.ipynb", upstream / NEW)
    git(upstream, "add", NEW)
    git(upstream, "commit", "--quiet", "-am", "a newer course version")

    pulled = git(learner, "pull", "--quiet", "--no-rebase")
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    assert git(learner, "status", "--porcelain").stdout == ""
    assert mine.read_bytes() == edited, "the learner's copy must be byte-identical after the pull"

    second = run_workspace(learner)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert f"Added 1 notebook that a newer course version brings: {NEW}" in lines, second.stdout
    assert f"lab01 has a newer version: {LAB01}; yours is untouched." in lines, second.stdout
    assert f"lab02 has a newer version: {LAB02}; yours is untouched (and you have not changed it)." in lines
    assert (learner / "my-work" / NEW).read_bytes() == (learner / NEW).read_bytes()
    assert mine.read_bytes() == edited

    changes = run_workspace(learner, "--diff", "lab01").stdout
    assert "+A step the newer course version adds." in changes and "print('mine')" not in changes, changes

    fresh = run_workspace(learner, "--refresh", "lab01")
    assert fresh.returncode == 0, fresh.stderr
    assert mine.read_bytes() == (learner / LAB01).read_bytes()
    assert mine.with_name("lab01_wsgi_to_asgi.yours-1.ipynb").read_bytes() == edited, "kept, renamed, not deleted"
    again = run_workspace(learner, "--refresh", "lab01", "nosuch")
    assert again.stdout.startswith("my-work/labs/lab01_wsgi_to_asgi.ipynb already is the course's version")
    assert again.returncode == 2 and "has no notebook 'nosuch'" in again.stderr
    after = run_workspace(learner).stdout
    assert "lab01" not in after and "lab02 has a newer version" in after, after


def test_copies_made_by_hand_are_kept_and_compared_once(tmp_path: Path):
    """The upgrade path from a course without my-work/: the learner copies their edited notebooks in by hand."""
    course = tmp_path / "course"
    shutil.copytree(ROOT / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns("apps", "*.png"))
    shutil.copytree(ROOT / "labs", course / "labs", ignore=shutil.ignore_patterns("*.py"))
    by_hand = tmp_path / "mine"
    (by_hand / "labs").mkdir(parents=True)
    (by_hand / LAB01).write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    shutil.copyfile(course / LAB02, by_hand / LAB02)

    report = workspace.sync(course, by_hand)
    assert report.first and report.differs == [LAB01] and report.kept == 2 and not report.newer
    assert len(report.added) == len(workspace.course_notebooks(course)) - 2
    assert "2 already there, kept as they were" in report.lines()[0]
    assert (by_hand / LAB01).read_text().startswith('{"cells": []')
    count = len(workspace.course_notebooks(course))
    assert workspace.sync(course, by_hand).lines() == [f"{by_hand}/ is up to date with the course ({count} notebooks)."]


def test_names_resolve_to_one_notebook(tmp_path: Path):
    assert workspace.resolve(ROOT, "lab04") == "labs/lab04_connection_pooling.ipynb"
    assert workspace.resolve(ROOT, "04") == "notebooks/04_connection_pooling.ipynb"
    assert workspace.resolve(ROOT, "A3_measuring_on_a_shared_machine.ipynb").startswith("notebooks/A3_")
    with pytest.raises(ValueError, match="has no notebook 'lab9'; its notebooks: 00, 01"):
        workspace.resolve(ROOT, "lab9")
    assert workspace.main(["--course", str(tmp_path)]) == 2  # not a course folder: one line, exit 2


def solution_module(step_cell_start: str, into: Path) -> None:
    """Write the module a solutions/ cell writes with %%writefile, as the learner's cell would."""
    cells = json.loads((ROOT / "solutions/lab01_wsgi_to_asgi.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "".join(c["source"]).startswith(step_cell_start))
    first_line, body = source.split("\n", 1)
    (into / first_line.split()[1]).write_text(body)


PROBE = """
import asgilab
from asgilab.checks import lab01 as check
from asgilab.checks.hints import find_solutions
print("package:", asgilab.__file__)
print("solutions:", find_solutions("lab01_wsgi_to_asgi.ipynb"))
print(check.solution(1))
print(check.step1("lab01_hello_app:app"))
"""


@pytest.mark.parametrize("where", ["checkout", "hub"])
def test_a_check_runs_from_an_untouched_workspace_copy(tmp_path: Path, where: str):
    """The package installed away from the course (as `pip install .` does): in a checkout, solutions/ is
    found from the lab's folder upward; on a hub (my-work in the home), through ASGILAB_SOLUTIONS."""
    course = tmp_path / "course"
    for folder in ("notebooks", "labs", "solutions"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("*.py", "apps", "*.png"))
    shutil.copytree(ROOT / "src/asgilab", tmp_path / "site/asgilab", ignore=shutil.ignore_patterns("__pycache__"))
    home = course if where == "checkout" else tmp_path / "home"
    labs = workspace.workspace_for(course, home / "my-work") / "labs"
    workspace.sync(course, labs.parent)
    solution_module("%%writefile lab01_hello_app.py", labs)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    env.pop("ASGILAB_SOLUTIONS", None)
    if where == "hub":
        env["ASGILAB_SOLUTIONS"] = str(course / "solutions")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=labs, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"package: {tmp_path / 'site/asgilab/__init__.py'}" in result.stdout
    assert f"solutions: {course / 'solutions/lab01_wsgi_to_asgi.ipynb'}" in result.stdout
    assert "Step 1's solution (from solutions/lab01_wsgi_to_asgi.ipynb)" in result.stdout
    assert "request body, sent in one piece or in parts: passed" in result.stdout, result.stdout


def test_the_zh_tw_edition_is_a_course_folder_of_its_own(tmp_path: Path):
    """`make lab EDITION=zh-TW` runs `--course zh-TW --into my-work/zh-TW`: its lessons and labs are copied,
    each with the cell that sets the language first."""
    edition = ROOT / "zh-TW"
    assert workspace.find_course(str(edition)) == edition
    report = workspace.sync(edition, tmp_path / "zh-TW")
    assert "notebooks/00_start_here.ipynb" in report.added and "labs/lab01_wsgi_to_asgi.ipynb" in report.added
    first = json.loads((tmp_path / "zh-TW/notebooks/00_start_here.ipynb").read_text(encoding="utf-8"))
    code = next(cell for cell in first["cells"] if cell["cell_type"] == "code")
    assert 'os.environ["ASGILAB_LANG"] = "zh_TW"' in "".join(code["source"])
