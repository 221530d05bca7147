"""The README's commands on a fresh machine: the Makefile says what to install instead of failing
with a traceback, `make lab` starts as root too, and the course's JupyterLab settings are installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

SETTINGS = ROOT / "src/asgilab/jupyter-settings/overrides.json"


def make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A throw-away VENV, so the checkout's own environment is never touched.
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args, f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def fake_python(tmp_path: Path, script: str) -> str:
    path = tmp_path / "python3"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("script", "sentence"),
    [
        (None, "was not found. Install Python 3.11 or newer"),
        ('[ "$1" = --version ] && echo "Python 3.9.6"\nexit 1\n', "needs Python 3.11 or newer, and '"),
        ('case "$2" in *ensurepip*) exit 1;; esac\nexit 0\n', "sudo apt-get install python3-venv"),
    ],
    ids=["missing", "too old", "no venv module"],
)
def test_a_missing_prerequisite_stops_make_with_one_sentence(tmp_path: Path, script: str | None, sentence: str):
    python = str(tmp_path / "nowhere/python3") if script is None else fake_python(tmp_path, script)
    result = make(tmp_path, "install", f"PYTHON={python}")
    assert result.returncode != 0
    assert sentence in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "venv").exists()
    if script is not None and "3.9.6" in script:
        assert "is Python 3.9.6" in result.stdout


def test_make_lab_allows_root_only_when_run_as_root(tmp_path: Path):
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv/.installed").touch()  # newer than its prerequisites: make lab goes straight to Jupyter
    dry_run = make(tmp_path, "-n", "lab").stdout
    assert "jupyter lab --ServerApp.ip=127.0.0.1" in dry_run and "notebooks/00_start_here.ipynb" in dry_run
    assert ("--allow-root" in dry_run) == (os.geteuid() == 0), dry_run


def test_make_lab_opens_the_zh_tw_edition_in_a_workspace_of_its_own_and_refuses_an_unknown_one(tmp_path: Path):
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv/.installed").touch()
    dry_run = make(tmp_path, "-n", "lab", "EDITION=zh-TW").stdout
    assert "asgilab.workspace --course zh-TW --into my-work/zh-TW" in dry_run, dry_run
    assert "--ServerApp.root_dir=my-work/zh-TW" in dry_run and "my-work/zh-TW/notebooks/00_start_here.ipynb" in dry_run
    unknown = make(tmp_path, "lab", "EDITION=fr")
    assert unknown.returncode != 0 and "there is no edition 'fr' (the editions: zh-TW)." in unknown.stdout
    assert "jupyter" not in unknown.stdout + unknown.stderr  # nothing started


def test_the_course_settings_silence_the_news_and_are_installed():
    overrides = json.loads(SETTINGS.read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"checkForUpdates": False, "fetchNews": "false"}
    schema = Path(sys.prefix, "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json")
    assert set(notification) <= set(json.loads(schema.read_text())["properties"]), "a setting JupyterLab lacks"
    # Wheels (conda, Binder) carry them as data files; the editable install gets them from the Makefile.
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    assert data_files["share/jupyter/lab/settings"] == [str(SETTINGS.relative_to(ROOT))]
    installed = Path(sys.prefix, "share/jupyter/lab/settings/overrides.json")
    if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
        assert json.loads(installed.read_text()) == overrides
