"""The check machinery's verdicts and messages, the demo app's endpoints, and `versions`."""

from __future__ import annotations

import time

import pytest

from asgilab import load_sync, serve, versions
from asgilab.apps.demo import burn_cpu
from asgilab.checks import CheckFailed, Criterion, Feedback, app_error, hints, not_started, verdict
from asgilab.server import ServerError


def test_verdict_returns_passing_feedback_and_raises_on_failure():
    good = Feedback("step 1", [Criterion(True, "requests overlap", "effective 48 of 50")])
    assert verdict(good) is good and "passed" in str(good) and "PASS" in good._repr_html_()
    bad = Feedback(
        "step 1", [good.criteria[0], Criterion(False, "canary stays fast", "worst 2 s", "look for time.sleep")]
    )
    with pytest.raises(CheckFailed) as err:
        verdict(bad)
    shown = "\n".join(err.value._render_traceback_())
    assert "[FAIL] canary stays fast: worst 2 s" in shown and "look for time.sleep" in shown
    assert "Traceback" not in shown
    assert not Feedback("empty").passed  # a check that asserted nothing never passes


def test_hints_and_unknown_steps():
    assert repr(hints({1: "use await"}, 1)) == "use await"
    with pytest.raises(ValueError, match="no step 2"):
        hints({1: "x"}, 2)


def test_not_started_and_app_error_carry_the_servers_words(tmp_path):
    (tmp_path / "oops_app.py").write_text("import nonexistent_package\n")
    with pytest.raises(ServerError) as err:
        serve("oops_app:app", app_dir=tmp_path).start()
    criterion = not_started("oops_app:app", err.value)
    assert not criterion.passed and "nonexistent_package" in criterion.measured
    (tmp_path / "raises_app.py").write_text(
        "from fastapi import FastAPI\napp = FastAPI()\n"
        "@app.get('/')\nasync def root():\n    raise NotImplementedError('your code here')\n"
    )
    with serve("raises_app:app", app_dir=tmp_path) as server:
        assert load_sync(server.url + "/", 1, 1).error_kinds == {"status 500": 1}
        assert app_error(server) == "NotImplementedError: your code here"


def test_demo_endpoints_answer():
    with serve("asgilab.apps.demo:app") as server:
        for path in (
            "/hello",
            "/ping",
            "/async-sleep?ms=1",
            "/blocking-sleep?ms=1",
            "/sync-sleep?ms=1",
            "/cpu?ms=1",
            "/cpu-sync?ms=1",
        ):
            assert load_sync(server.url + path, 2, 1).ok == 2, path
        assert load_sync(server.url + "/async-sleep?ms=9999999", 1, 1).error_kinds == {"status 422": 1}


def test_burn_cpu_is_a_fixed_amount_of_work():
    assert burn_cpu(20) == burn_cpu(20) > 0
    start = time.process_time()
    burn_cpu(50)
    assert 0.01 < time.process_time() - start < 1.0  # about 50 ms of CPU, generously


def test_versions_lists_the_course_packages():
    found = versions("pytest")
    assert found["fastapi"] != "not installed" and "cores" in found["platform"] and "pytest" in found
