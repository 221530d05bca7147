"""`python -m asgilab bench|doctor`, run as a learner would."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import HEADLINE_KEYS, ROOT


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asgilab", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_bench_json_has_the_headline_figures():
    result = cli(
        "bench",
        "asgilab.apps.demo:app",
        "--path",
        "/blocking-sleep?ms=50",
        "-n",
        "6",
        "-c",
        "6",
        "--probe",
        "/ping",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (*HEADLINE_KEYS, "probe_max_s"):
        assert key in data
    assert data["ok"] == 6 and data["wall_s"] > 0.25 and data["effective_concurrency"] < 4.5


def test_bench_prints_a_table_and_accepts_a_url_and_rate():
    with_app = cli("bench", "asgilab.apps.demo:app", "--path", "/hello", "-n", "20", "-c", "5", "--rate", "200")
    assert with_app.returncode == 0 and "/hello" in with_app.stdout and "rate 200/s" in with_app.stdout


def test_bench_passes_environment_variables_to_the_app(tmp_path):
    (tmp_path / "env_app.py").write_text(
        "import os\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "@app.get('/')\nasync def root():\n    return {'v': os.environ['GREETING']}\n"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "asgilab", "bench", "env_app:app", "-n", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    given = subprocess.run(
        [sys.executable, "-m", "asgilab", "bench", "env_app:app", "-n", "2", "--json", "--env", "GREETING=hi"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert json.loads(missing.stdout)["errors"] == 2  # KeyError in the app: 500
    assert json.loads(given.stdout)["ok"] == 2


def test_bench_errors_are_clear():
    remote = cli("bench", "http://10.9.9.9:80", "--path", "/")
    assert remote.returncode == 2 and "loopback" in remote.stderr
    broken = cli("bench", "no_such_module:app")
    assert broken.returncode == 1 and "no_such_module" in broken.stderr
    bad = cli("bench", "nonsense")
    assert bad.returncode == 2


def test_doctor_says_ok():
    result = cli("doctor")
    assert result.returncode == 0, result.stdout
    assert "OK    live server and load" in result.stdout and "FAIL" not in result.stdout
    assert "OK    this machine:" in result.stdout and "optional load tools: wrk" in result.stdout
