"""Lab 03: every criterion and advice branch on hand-built measurements (milliseconds), then the live
contract: each step fails on the starter and passes on the solution; near misses, learner-style
variants, a server that cannot start, and a busy machine get the feedback they should."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asgilab.checks import CheckFailed, Criterion, Feedback, verdict
from asgilab.checks import lab03 as check
from asgilab.checks.lab03 import Measured
from asgilab.checks.testing import made_run
from asgilab.results import Record
from conftest import check_fails, check_passes, lab_app_dirs, strangers

NAME = "lab03_def_vs_async_def.ipynb"
SDK_APP, CPU_APP, QUOTE_APP = "lab03_sdk_app:app", "lab03_cpu_app:app", "lab03_quote_app:app"
FIXES = (
    "total_tokens",
    "ProcessPoolExecutor",
    "run_in_executor",
    "CapacityLimiter",
    "= 64",
    "= 150",
    "spawn",
    ".shutdown(",
)
STARTED = "INFO:     Started server process\n"
REFUSAL = "lab03_quote_sdk.QuoteLimitExceeded: more than 70 calls in flight"


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[str]:
    return [c.what for c in criteria if not c.passed]


def forecasts(wall_s: float, ok: int = 150, latency_s: float = 0.5, logs: str = STARTED) -> Measured:
    return Measured(made_run(ok, {"status 500": 150 - ok} if ok < 150 else None, wall_s, latency_s), logs, call_s=0.4)


def quotes(wall_s: float, ok: int = 120, refusals: int = 0, call_s: float = 0.4) -> Measured:
    run = made_run(ok, {"status 500": 120 - ok} if ok < 120 else None, wall_s, latency_s=call_s)
    return Measured(run, STARTED + f"{REFUSAL}\n" * refusals, call_s)


def reports(
    cores_used: float, ping_ms: float = 5, others: float = 0.1, cores: int = 2, ok: int = 8, left: int = 0
) -> Measured:
    burst = made_run(ok, {"status 500": 8 - ok} if ok < 8 else None, wall_s=0.5)
    burst.probe_records = [Record(0.0, ping_ms / 1000, 200) for _ in range(5)]
    burst.server_cpu_s, burst.others_cores = cores_used * 0.5, others
    logs = STARTED + "AttributeError: 'State' object has no attribute 'pool'"
    pool: dict[str, int | str] = {"serving": 2, "after_shutdown": left, "shutdown": "lifespan.shutdown.complete"}
    return Measured(burst, logs, serial=made_run(3, latency_s=0.1, wall_s=0.3), cores=cores, pool=pool)


# -- judging, on hand-built measurements --------------------------------------------------
WITHIN = "150 forecasts at once answered within the SLO of 0.75 s"


def test_judge_step1_passes_when_all_150_run_in_one_round() -> None:
    criteria = check.judge_step1(forecasts(wall_s=0.57))
    assert not failed(criteria) and "0.57 s = 1.4 calls of 400 ms (one alone)" in criteria[2].measured


def test_judge_step1_the_40_token_staircase() -> None:
    criteria = check.judge_step1(forecasts(wall_s=1.72))
    assert failed(criteria) == [WITHIN] and "so about 35 ran at once" in criteria[2].measured
    assert "40 tokens" in criteria[2].advice and "lifespan" in criteria[2].advice
    no_fix_given(criteria)


def test_judge_step1_the_lessons_100_tokens_take_two_rounds() -> None:
    criteria = check.judge_step1(forecasts(wall_s=0.9))  # the lesson's line pasted: 150 / 100 = 2 rounds of 0.4 s
    assert failed(criteria) == [WITHIN] and "2.2 rounds of one call" in criteria[2].advice
    assert "ceil(150 / N)" in criteria[2].advice
    no_fix_given(criteria)


def test_judge_step1_a_removed_sdk_call_and_a_limiter_touched_off_the_loop() -> None:
    no_wait = check.judge_step1(forecasts(wall_s=0.05, latency_s=0.002))
    assert failed(no_wait) == ["each request really waits 400 ms"] and "keep the SDK call" in no_wait[1].advice
    logs = STARTED + "anyio.NoEventLoopError: Not currently running on any asynchronous event loop."
    in_endpoint = check.judge_step1(forecasts(wall_s=0.05, ok=0, logs=logs))[0]  # set inside the `def` endpoint
    assert not in_endpoint.passed and "no event loop runs (in a worker thread" in in_endpoint.advice
    no_fix_given([in_endpoint, *no_wait])


SLO, VENDOR = "120 quotes at once answered within the SLO of 1.1 s", "the SDK never sees more than 70 calls at once"


def test_judge_step3_passes_within_the_slo_and_the_vendors_limit() -> None:
    criteria = check.judge_step3(quotes(wall_s=0.85))
    assert not failed(criteria) and len(criteria) == 4
    assert "0.85 s = 2.1 calls of 400 ms (one alone), so about 56 ran at once" in criteria[2].measured


def test_judge_step3_three_rounds_miss_the_slo() -> None:
    criteria = check.judge_step3(quotes(wall_s=1.25))  # 40 (or 50) tokens: 3 rounds
    assert failed(criteria) == [SLO] and "3.1 rounds of one call" in criteria[2].advice
    no_fix_given(criteria)


def test_judge_step3_copying_step_1s_100_tokens_is_refused_by_the_vendor() -> None:
    criteria = check.judge_step3(quotes(wall_s=0.45, ok=70, refusals=50))
    assert failed(criteria) == ["all 120 quotes answered", SLO, VENDOR]
    assert "the SDK refused calls: more than 70" in criteria[0].advice
    # the failed requests of the kept burst, not the refusal lines of every try and its tracebacks
    assert criteria[3].measured == "50 of the 120 quotes failed in the kept burst; the server logged QuoteLimitExceeded"
    assert "says little yet" in criteria[2].advice
    no_fix_given(criteria)


PING, CORES = "GET /ping stays responsive while 8 reports run", "8 reports at once run on several cores"


def test_judge_step2_passes_with_a_free_loop_on_two_cores() -> None:
    criteria = check.judge_step2(reports(cores_used=1.8))
    assert not failed(criteria) and "kept 1.80 cores busy" in criteria[2].measured
    assert criteria[3].measured.endswith(
        "2 child process(es) of the server when its shutdown began, 0 still running after the lifespan ended"
    )
    assert "x1.60" in criteria[2].measured  # 8 x 100 ms one after another, in 0.5 s


def test_judge_step2_branches() -> None:
    inline = check.judge_step2(reports(cores_used=1.0, ping_ms=90))
    assert [w.split(" (")[0] for w in failed(inline)] == [PING, CORES] and "burn_cpu" in inline[1].advice
    assert "one at a time, on about one core" in inline[2].advice
    busy = check.judge_step2(reports(cores_used=1.0, others=1.6))[2]
    assert not busy.passed and "Other programs kept 1.6 of the 2 cores busy" in busy.advice
    one_core = check.judge_step2(reports(cores_used=1.0, cores=1))[2]
    assert one_core.passed and "skipped" in one_core.measured
    broken = check.judge_step2(reports(cores_used=0.0, ok=0))[0]
    assert not broken.passed and "'State' object has no attribute 'pool'" in broken.measured
    no_fix_given(inline + [busy, broken])


def test_judge_step2_a_pool_left_running_after_shutdown() -> None:
    leaked = check.judge_step2(reports(cores_used=1.8, left=2))
    assert failed(leaked) == ["the pool's worker processes are gone once the app's lifespan shutdown ends"]
    assert "2 still running after the lifespan ended" in leaked[3].measured
    assert "once `yield` returns" in leaked[3].advice
    never = reports(cores_used=1.8)
    never.pool = None  # the lifespan shutdown never completed: no report
    assert not check.judge_step2(never)[3].passed and "never completed" in check.judge_step2(never)[3].measured
    no_fix_given(leaked)


def test_a_failed_step_ends_with_the_hint_ladder() -> None:
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback(check.TITLES[3], check.judge_step3(quotes(wall_s=1.25)), step=3))
    assert str(failure.value.feedback).splitlines()[-1].startswith("Stuck? check.hint(3)")


def test_hints_climb_from_where_to_look_to_the_code() -> None:
    assert "lifespan" in check.hint(1) and "total_tokens" not in check.hint(1)
    assert "current_default_thread_limiter" in check.hint(1, level=2) and "uvicorn 0.50" in check.hint(1, level=2)
    assert "ceil(150 / N)" in check.hint(1) and "total_tokens = 150" in check.hint(1, level=3)
    assert "ProcessPoolExecutor" not in check.hint(2) and "ProcessPoolExecutor" in check.hint(2, level=2)
    assert 'get_context("spawn")' in check.hint(2, level=2)
    assert "run_in_executor(app.state.pool, burn_cpu, ms)" in check.hint(2, level=3)
    assert "ceil(120 / N)" in check.hint(3) and "total_tokens" not in check.hint(3)
    assert "N >= 120 / 2 = 60" in check.hint(3, level=3)
    assert "total_tokens = 64" in check.solution(3) and "ProcessPoolExecutor" not in check.solution(3)
    assert "usable_cores()" in check.solution(2) and "total_tokens" not in check.solution(2)
    with pytest.raises(ValueError):
        check.hint(4)
    with pytest.raises(ValueError):
        check.hint(1, level=4)


# -- live: the contract on the starter and the solution ------------------------------------
starter, solution = lab_app_dirs(
    NAME,
    {
        "lab03_sdk_app.py",
        "lab03_cpu_lifespan.py",
        "lab03_cpu_app.py",
        "lab03_quote_sdk.py",
        "lab03_quote_app.py",
    },
)


def test_step1_fails_on_the_starter_with_the_40_tokens(starter: Path) -> None:
    print(check_fails(check.step1, SDK_APP, starter, f"[FAIL] {WITHIN}", "40 tokens", "lifespan"))


def test_step1_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(check.step1, SDK_APP, solution))


def test_step2_fails_on_the_starter(starter: Path) -> None:
    print(check_fails(check.step2, CPU_APP, starter, "[FAIL] GET /ping stays responsive"))


def test_step2_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(check.step2, CPU_APP, solution))


def test_step2_on_a_busy_machine_blames_the_other_programs(solution: Path) -> None:
    # Two programs burning both cores leave no core free: the solution cannot spread its reports,
    # and the feedback must say why instead of blaming the learner's code.
    with strangers(2, seconds=60):
        text = check_fails(check.step2, CPU_APP, solution, "Other programs kept", failed_only=True)
    assert "ProcessPoolExecutor" not in text
    print(text)


def test_step3_fails_on_the_starter_over_the_slo(starter: Path) -> None:
    print(check_fails(check.step3, QUOTE_APP, starter, f"[FAIL] {SLO}", "[PASS] " + VENDOR, failed_only=False))


def test_step3_passes_on_the_solution(solution: Path) -> None:
    print(check_passes(check.step3, QUOTE_APP, solution))


def test_limiter_at_import_time_is_explained(tmp_path: Path) -> None:
    (tmp_path / "lab03_sdk_app.py").write_text(
        "import anyio.to_thread\n"
        "from fastapi import FastAPI\n"
        "anyio.to_thread.current_default_thread_limiter().total_tokens = 100\n"
        "app = FastAPI()\n"
    )
    check_fails(
        check.step1,
        SDK_APP,
        tmp_path,
        "[FAIL] the app 'lab03_sdk_app:app' starts",
        "NoEventLoopError",
        "Look at your module's top-level lines",
    )


# -- live: learner-style variants that differ from solutions/ -----------------------------------
OWN_LIMITER = """from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from {sdk_module} import sdk


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.sdk_calls = anyio.CapacityLimiter({tokens})  # the SDK's own limiter, made on the serving loop
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/{path}")
async def endpoint({arg}: str = "x"):
    return await anyio.to_thread.run_sync(sdk.{method}, {arg}, limiter=app.state.sdk_calls)
"""


@pytest.fixture(scope="module")
def variants(solution: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab03_variants")
    shutil.copytree(solution, folder, dirs_exist_ok=True)
    forecast = {
        "sdk_module": "asgilab.apps.lab03_weather",
        "tokens": 160,
        "path": "forecast",
        "method": "forecast",
        "arg": "city",
    }
    quote = {"sdk_module": "lab03_quote_sdk", "tokens": 66, "path": "quote", "method": "quote", "arg": "symbol"}
    (folder / "lab03_own_sdk_app.py").write_text(OWN_LIMITER.format(**forecast))
    (folder / "lab03_own_quote_app.py").write_text(OWN_LIMITER.format(**quote))
    copied = (folder / "lab03_quote_app.py").read_text().replace("total_tokens = 64", "total_tokens = 150")
    (folder / "lab03_copied_app.py").write_text(copied)
    pasted = (folder / "lab03_sdk_app.py").read_text().replace("total_tokens = 150", "total_tokens = 100")
    (folder / "lab03_pasted_app.py").write_text(pasted)  # lesson 03's line, as it was
    lifespan = (folder / "lab03_cpu_lifespan.py").read_text()
    leaky = lifespan.replace(
        "    with ProcessPoolExecutor(max_workers=usable_cores(), mp_context=spawn) as pool:  # one process per core\n"
        "        app.state.pool = pool\n        yield\n",
        "    app.state.pool = ProcessPoolExecutor(max_workers=usable_cores(), mp_context=spawn)  # never shut down\n"
        "    yield\n",
    )
    assert leaky != lifespan
    (folder / "lab03_leaky_lifespan.py").write_text(leaky)
    cpu_app = (folder / "lab03_cpu_app.py").read_text()
    (folder / "lab03_leaky_app.py").write_text(cpu_app.replace("from lab03_cpu_lifespan", "from lab03_leaky_lifespan"))
    (folder / "lab03_in_endpoint_app.py").write_text(
        "import anyio.to_thread\nfrom fastapi import FastAPI\n\nfrom asgilab.apps.lab03_weather import sdk\n\napp = FastAPI()\n\n\n"
        '@app.get("/forecast")\ndef forecast(city: str = "x"):\n'
        "    anyio.to_thread.current_default_thread_limiter().total_tokens = 100  # on a worker thread\n"
        "    return sdk.forecast(city)\n"
    )
    return folder


def test_an_async_endpoint_with_its_own_capacity_limiter_passes_steps_1_and_3(variants: Path) -> None:
    print(check_passes(check.step1, "lab03_own_sdk_app:app", variants))
    print(check_passes(check.step3, "lab03_own_quote_app:app", variants))


def test_lesson_03s_100_tokens_pasted_into_step_1_miss_the_slo(variants: Path) -> None:
    text = check_fails(check.step1, "lab03_pasted_app:app", variants, f"[FAIL] {WITHIN}", "rounds of one call")
    assert "total_tokens" not in text
    print(text)


def test_a_pool_never_shut_down_leaves_its_workers_running(variants: Path) -> None:
    gone = "the pool's worker processes are gone once the app's lifespan shutdown ends"
    text = check_fails(check.step2, "lab03_leaky_app:app", variants, f"[FAIL] {gone}", "once `yield` returns")
    assert "[PASS] GET /ping stays responsive" in text  # only the shutdown is wrong
    print(text)


def test_step_1s_150_tokens_copied_into_step_3_are_refused_by_the_vendor(variants: Path) -> None:
    text = check_fails(check.step3, "lab03_copied_app:app", variants, "[FAIL] " + VENDOR, failed_only=True)
    assert "the SDK refused calls: more than 70" in text and "total_tokens" not in text
    print(text)


def test_a_limiter_set_inside_the_def_endpoint_is_explained(variants: Path) -> None:
    text = check_fails(check.step1, "lab03_in_endpoint_app:app", variants, "NoEventLoopError", failed_only=True)
    assert "no event loop runs (in a worker thread" in text
