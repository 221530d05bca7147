"""`python -m asgilab bench`, run as a learner would (`doctor`: tests/test_doctor.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

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


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``error: ...`` line a failed command printed, after checking it printed nothing else."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["http://10.9.9.9:80"], "loopback"),
        (["nonsense"], "module:app or a loopback URL"),
        (["asgilab.apps.demo:app", "--path", "hello"], "--path must start with /"),
        (["http://127.0.0.1:9", "--path", "hello"], "--path must start with /"),
        (["asgilab.apps.demo:app", "--probe", "ping"], "--probe must start with /"),
        (["asgilab.apps.demo:app", "-n", "0"], "-n/--requests: must be from 1"),
        (["asgilab.apps.demo:app", "-n", "ten"], "-n/--requests: expected a whole number"),
        (["asgilab.apps.demo:app", "-c", "0"], "-c/--concurrency: must be from 1"),
        (["asgilab.apps.demo:app", "--timeout", "0"], "--timeout: must be a positive number"),
        (["asgilab.apps.demo:app", "--deadline", "inf"], "--deadline: must be a positive number"),
        (["asgilab.apps.demo:app", "--rate", "-5"], "--rate: must be a positive number"),
        (["asgilab.apps.demo:app", "--warmup", "-1"], "--warmup: must be from 0"),
        (["asgilab.apps.demo:app", "--workers", "0"], "--workers: must be from 1"),
        (["asgilab.apps.demo:app", "--env", "NOEQUALS"], "expected NAME=VALUE"),
        (["http://127.0.0.1:80x"], "is not a number"),
        ([], "required: target"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_anything_starts(args, expected, monkeypatch, capsys):
    import asgilab.__main__ as command

    def started(*args, **kwargs):
        raise AssertionError("bad input must be reported before anything starts")

    for name in ("serve", "load_sync", "_no_answer"):
        monkeypatch.setattr(command, name, started)
    try:
        code = command.main(["bench", *args])
    except SystemExit as ended:  # argparse's own checks end the program
        code = ended.code
    result = subprocess.CompletedProcess(args, code, *capsys.readouterr())
    assert result.returncode == 2 and result.stdout == ""
    assert expected in one_error_line(result)


@pytest.mark.parametrize("args", [["-n", "0"], ["--path", "hello"]])
def test_bad_input_is_reported_well_under_a_second(args):
    start = time.monotonic()
    result = cli("bench", "asgilab.apps.demo:app", *args)
    took = time.monotonic() - start
    assert result.returncode == 2 and one_error_line(result)
    # Importing Python and the package takes about 0.4 s here; a server start added 0.3 s more.
    assert took < 1.0, f"{took:.2f} s"


def test_nothing_listening_at_the_url_is_exit_1_without_a_run():
    result = cli("bench", "http://127.0.0.1:9", "-n", "5")  # port 9 (discard): nothing listens
    assert result.returncode == 1 and result.stdout == ""  # no table of failures: no run at all
    assert "nothing answers at http://127.0.0.1:9 (connection refused)" in one_error_line(result)


def test_a_run_where_every_request_failed_exits_1_with_its_figures():
    result = cli("bench", "asgilab.apps.demo:app", "--path", "/no-such-path", "-n", "5", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == 5  # the figures still go to stdout
    assert "none of the 5 requests succeeded (status 404 x5)" in one_error_line(result)


def test_a_server_that_does_not_start_is_exit_1_with_its_own_error():
    broken = cli("bench", "no_such_module:app")
    assert broken.returncode == 1 and broken.stdout == "" and "Traceback" not in broken.stderr
    first, *rest = broken.stderr.splitlines()
    assert first.startswith("error: server for 'no_such_module:app' exited")
    assert "Warning" not in broken.stderr and 'Could not import module "no_such_module"' in rest[-1]
