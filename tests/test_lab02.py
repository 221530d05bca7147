"""Lab 02: every criterion and advice branch on hand-built measurements (milliseconds), then the live
contract: each step fails on the generated starter and passes on the solution, and learner-style
variants (two right, two wrong) are judged as they should be."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from asgilab.checks import CheckFailed, Criterion, Feedback, lab02, lab02_buster, verdict
from asgilab.checks.lab02 import Measured
from asgilab.checks.lab02_buster import Guarded
from asgilab.checks.lab02_storm import Storm
from asgilab.checks.testing import made_run
from asgilab.results import Record, Run
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab02_blocking_pitfalls.ipynb"
APP = "lab02_app:app"
FILES = {"lab02_helpers.py", "lab02_app.py", "lab02_orders.py", "lab02_rates.py", "lab02_login.py", "lab02_export.py"}
FILES |= {"lab02_guard.py"}
FIXES = ("to_thread", "run_sync", "AsyncClient", "partial(", "plain `def`", "lifespan", "CapacityLimiter", "limiter=")
FIXES += ("sched_getaffinity", "TestClient(", "blockbuster_ctx", "except BlockingError")
STARTED = "INFO:     Started server process\n"


def no_fix_given(criteria: list[Criterion]) -> None:
    """Failure advice names the symptom and where to look, never the fix (that is hint 2 and 3)."""
    for c in criteria:
        assert not any(fix in c.advice for fix in FIXES), c.advice


def failed(criteria: list[Criterion]) -> list[Criterion]:
    return [c for c in criteria if not c.passed]


def with_pings(run: Run, *pings_ms: float) -> Run:
    run.probe_records = [Record(0.0, ping / 1000, 200) for ping in pings_ms]
    return run


def burst(step: int, wall_s: float, ping_ms: float, ok: int = 20, logs: str = STARTED, peak: int = 0) -> Measured:
    run = with_pings(made_run(ok, {"status 500": 20 - ok} if ok < 20 else None, wall_s=wall_s), ping_ms, ping_ms)
    return Measured(step, {1: "/orders", 2: "/rates"}[step], run, logs, peak=peak)


def alone(path: str, call_ms: float, ping_ms: float, ok: int = 4, logs: str = STARTED, **kw) -> Measured:
    timed = made_run(1, latency_s=call_ms / 1000)
    run = with_pings(made_run(ok, {"status 500": 4 - ok} if ok < 4 else None, wall_s=0.5), ping_ms, ping_ms, ping_ms)
    return Measured(5, path, run, logs, timed, **kw)


CSV = b"order_id,customer,amount,date\n0,0,0.00,2026-01-01\n"


# -- judging, on hand-built measurements --------------------------------------------------
def test_judge_step1_passes_overlapped_orders_and_a_fast_canary() -> None:
    criteria = lab02.judge_step1(burst(1, wall_s=0.15, ping_ms=3))
    assert all(c.passed for c in criteria) and len(criteria) == 4
    assert criteria[1].measured == "median latency 100 ms"
    assert "about 13.3 at once: 2.0 s of waiting done in 0.15 s" in criteria[2].measured
    assert "/ping median 3 ms" in criteria[3].measured and "under 30 ms" in criteria[3].what


def test_judge_step1_orders_served_one_at_a_time() -> None:
    criteria = lab02.judge_step1(burst(1, wall_s=2.05, ping_ms=95))
    assert [c.what.split(" (")[0] for c in failed(criteria)] == [
        "20 concurrent requests are served together",
        "/ping stays fast while /orders runs",
    ]
    assert "one at a time" in criteria[2].advice and "load_order_history()" in criteria[2].advice
    assert "holds the event loop" in criteria[3].advice and "/ping median 95 ms" in criteria[3].measured
    no_fix_given(criteria)


def test_judge_step1_a_helper_that_no_longer_waits() -> None:
    m = burst(1, wall_s=0.01, ping_ms=1)
    m.run = with_pings(made_run(20, wall_s=0.01, latency_s=0.002), 1)  # load_order_history() edited away
    criteria = lab02.judge_step1(m)
    failed = [c.what for c in criteria if not c.passed]  # and no impossible "at once" figure for 20 requests
    assert failed[0] == "each request really waits 100 ms" and all("served together" in w for w in failed[1:])
    assert "keep load_order_history() as it is" in criteria[1].advice


def test_judge_step1_recognises_a_call_made_before_the_thread_starts() -> None:
    logs = STARTED + "TypeError: 'list' object is not callable"  # run_sync(load_order_history(customer))
    answered = lab02.judge_step1(burst(1, wall_s=2.0, ping_ms=95, ok=0, logs=logs))[0]
    assert not answered.passed and "0/20 answered" in answered.measured
    assert "handed the result of a call, not a function" in answered.advice
    no_fix_given([answered])


def test_judge_step2_passes_overlapped_rates_seen_together_upstream() -> None:
    criteria = lab02.judge_step2(burst(2, wall_s=0.2, ping_ms=2, peak=20))
    assert all(c.passed for c in criteria) and len(criteria) == 4
    assert criteria[2].measured == "at most 20 upstream call(s) in flight at once"


def test_judge_step2_a_client_built_for_every_call() -> None:
    # A new httpx.AsyncClient per request frees the loop while it waits, but builds an SSL context on the
    # loop every time: the calls overlap only partly (about 3 at once seen in a learner's try).
    criteria = lab02.judge_step2(burst(2, wall_s=0.65, ping_ms=20, peak=12))
    failed = [c for c in criteria if not c.passed]
    assert [c.what for c in failed] == [criteria[1].what] and "builds for every call" in failed[0].advice


def test_judge_step2_a_sync_client_on_the_loop() -> None:
    criteria = lab02.judge_step2(burst(2, wall_s=2.1, ping_ms=100, peak=1))
    assert len(failed(criteria)) == 3 and not criteria[2].passed
    assert "one after another" in criteria[2].advice and "requests.get" in criteria[2].advice
    no_fix_given(criteria)


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("AttributeError: 'coroutine' object has no attribute 'json'", "nothing awaited"),
        ("AttributeError: 'State' object has no attribute 'client'", "only what the app's lifespan yields"),
        ("httpx.ConnectError: All connection attempts failed", "UPSTREAM_URL"),
    ],
)
def test_judge_step2_failed_requests_name_what_went_wrong(error: str, advice: str) -> None:
    answered = lab02.judge_step2(burst(2, wall_s=0.2, ping_ms=2, ok=0, logs=STARTED + error, peak=0))[0]
    assert not answered.passed and advice in answered.advice and error in answered.measured


def storm(
    wall_s: float = 1.0,
    fastest_ms: float = 260,
    orders_ms: float = 110,
    ping_ms: float = 3,
    most: int = 2,
    held: int = 0,
    in_flight: float = 1.9,
    cores: int = 2,
) -> Storm:
    """A login storm of 8 logins (one alone: 250 ms) with 4 /orders among them (one alone: 100 ms)."""
    logins = with_pings(made_run(8, wall_s=wall_s, latency_s=max(fastest_ms / 1000, 0.5)), ping_ms)
    logins.records[0] = Record(0.0, fastest_ms / 1000, 200)
    alone = made_run(1, latency_s=0.25), made_run(1, latency_s=0.1)
    orders = made_run(4, latency_s=orders_ms / 1000)
    return Storm(cores, *alone, logins, orders, held=held, most=most, in_flight=in_flight, logs=STARTED)


STORM_WHAT = {  # the storm's criteria, as each begins
    "ping": "/ping stays fast while /login runs",
    "orders": "/orders keeps its thread tokens",
    "cores": "the logins use the machine's",
    "fastest": "no more hashes at once than usable cores",
}


def failed_storm(criteria: list[Criterion]) -> list[str]:
    return [key for key, start in STORM_WHAT.items() for c in failed(criteria) if c.what.startswith(start)]


def test_judge_step3_passes_a_limiter_of_its_own_sized_from_the_cores() -> None:
    criteria = lab02.judge_step3(storm())
    assert not failed(criteria) and len(criteria) == 6
    shown = "1.9 hashes in flight on average, at most 2; the logins done 2.0x as fast as one at a time"
    assert criteria[4].measured == shown
    assert (
        criteria[5].measured
        == "at most 2 hashes in flight on 2 usable core(s); fastest login 260 ms in the storm, 250 ms alone"
    )
    assert "within 3x its time alone" in criteria[3].what and "0 of the 4 default tokens in use" in criteria[3].measured


def test_judge_step3_a_busy_machine_slows_the_hashes_but_adds_none() -> None:
    """Recorded live (December 2026, 2 shared cores, the solution): other programs kept 0.8 cores busy;
    the fastest login of the storm took 606 ms, 352 ms alone; 1.9 hashes in flight, at most 2."""
    m = storm(wall_s=1.88, fastest_ms=606, most=2, in_flight=1.9)
    m.storm.others_cores = 0.8  # type: ignore[union-attr]  # storm() always builds the storm's run
    criteria = lab02.judge_step3(m)
    assert not failed(criteria) and "(other programs kept 0.8 cores busy)" in criteria[4].measured


def test_judge_step3_the_default_limiter_leaves_orders_no_token() -> None:
    """The lab's former solution, `anyio.to_thread.run_sync(hash_password, password)` (a `def` login too):
    the logins hold the 4 default tokens, hashing 4 at once on 2 cores, and /orders waits for a token."""
    criteria = lab02.judge_step3(storm(wall_s=1.05, fastest_ms=510, orders_ms=1020, most=4, held=4, in_flight=3.8))
    assert failed_storm(criteria) == ["orders", "fastest"]
    assert "held 4 of the service's 4 default thread tokens, so /orders waited 920 ms" in criteria[3].advice
    assert "where the hashes' threads take their tokens from" in criteria[3].advice
    no_fix_given(criteria)


def test_judge_step3_a_limiter_of_one_leaves_a_core_idle() -> None:
    """`CapacityLimiter(1)` of its own; recorded live (December 2026, 8 logins): 1.0 hashes in flight, at most 1."""
    criteria = lab02.judge_step3(storm(wall_s=2.05, fastest_ms=255, most=1, in_flight=0.98))
    assert (
        failed_storm(criteria) == ["cores"]
        and "0.98 hashes in flight" not in criteria[4].measured
        and "1.0 hashes in flight on average, at most 1" in criteria[4].measured
    )
    assert "at most 1 hash(es) ran at once while 2 usable cores were there" in criteria[4].advice
    no_fix_given(criteria)


def test_judge_step3_as_many_hashes_as_logins_finish_none_early() -> None:
    """`CapacityLimiter(40)` of its own, or one made in the handler: 8 hashes share 2 cores."""
    criteria = lab02.judge_step3(storm(wall_s=1.02, fastest_ms=1000, most=8, in_flight=7.5))
    assert failed_storm(criteria) == ["fastest"]
    assert (
        "up to 8 hashes shared 2 usable cores, so each took longer (the fastest 4.0x one alone)" in criteria[5].advice
    )
    no_fix_given(criteria)


def test_judge_step3_the_hash_left_on_the_loop() -> None:
    criteria = lab02.judge_step3(storm(wall_s=2.0, fastest_ms=250, orders_ms=1900, ping_ms=240, most=1, in_flight=1.0))
    assert failed_storm(criteria) == ["ping", "orders", "cores"]
    assert "hash_password()" in criteria[2].advice and "on the event loop itself" in criteria[3].advice
    no_fix_given(criteria)


def test_judge_step3_the_service_keeps_its_thread_tokens() -> None:
    m = storm()
    m.tokens = 100  # the app raised the default limiter's tokens in its lifespan
    criteria = lab02.judge_step3(m)
    assert failed_storm(criteria) == ["orders"] and "set the default limiter to 100 tokens" in criteria[3].advice
    no_fix_given(criteria)


def test_judge_step3_one_core_asks_for_no_parallel_hashing() -> None:
    criteria = lab02.judge_step3(storm(wall_s=2.0, fastest_ms=255, most=1, in_flight=1.0, cores=1))
    assert not failed(criteria) and "at least 0.0 hashes in flight" in criteria[4].what


def test_judge_step3_when_a_request_fails_alone_there_is_no_storm() -> None:
    m = storm()
    m.login_alone, m.storm, m.orders = made_run(0, {"status 500": 1}), None, None
    m.logs = STARTED + "NameError: name 'HASHERS' is not defined"
    criteria = lab02.judge_step3(m)
    assert len(criteria) == 2 and not criteria[0].passed and criteria[1].passed
    assert "NameError" in criteria[0].measured


def test_judge_step5_passes_a_gzipped_csv_compressed_off_the_loop() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=3, unzipped=CSV, size=3_342_403))
    assert all(c.passed for c in criteria) and len(criteria) == 3
    assert "gzip of 3.3 MB: b'order_id,customer" in criteria[2].measured


def test_judge_step5_compression_on_the_loop() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=170, unzipped=CSV))
    assert failed(criteria) == [criteria[1]] and "gzip.compress" in criteria[1].advice
    assert "median under 54 ms: 30% of one /export alone, which took 180 ms" in criteria[1].what
    no_fix_given(criteria)


def test_judge_step5_an_export_that_is_no_longer_gzip() -> None:
    criteria = lab02.judge_step5(alone("/export", call_ms=20, ping_ms=1, unzipped=None))
    assert failed(criteria) == [criteria[2]] and criteria[2].measured == "not gzip data"
    plain = lab02.judge_step5(alone("/export", call_ms=20, ping_ms=1, unzipped=b"<html>"))
    assert not plain[2].passed


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (
            "TypeError: run_sync() got an unexpected keyword argument 'compresslevel'",
            "went to the function that starts",
        ),
        ("TypeError: 'bytes' object is not callable", "handed the result of a call"),
    ],
)
def test_judge_step5_recognises_likely_wrong_shapes(error: str, advice: str) -> None:
    answered = lab02.judge_step5(alone("/export", call_ms=180, ping_ms=3, ok=0, logs=STARTED + error))[0]
    assert not answered.passed and advice in answered.advice
    no_fix_given([answered])


def guarded(original: list[str] | None, yours: list[str] | None, error: str = "") -> Guarded:
    return Guarded(Path(lab02_buster.__file__), original, yours, error if original is None else "", error)


def test_judge_step4_passes_a_guard_that_names_the_original_blocking_handlers_only() -> None:
    criteria = lab02.judge_step4(guarded(["/orders", "/rates"], []))
    assert not failed(criteria) and criteria[0].measured == "named ['/orders', '/rates']"
    assert criteria[1].measured == "named nothing"


# The BlockingError line is a guard's last line recorded live (no try around client.get, December 2026).
@pytest.mark.parametrize(
    ("m", "which", "says"),
    [
        (guarded([], []), 0, "/orders and /rates make a blocking call on the loop in the original"),
        (guarded(["/rates"], []), 0, "/orders make a blocking call"),
        (guarded(["/ping", "/orders", "/rates"], []), 0, "a handler that does nothing"),
        (guarded(None, None, "blockbuster.blockbuster.BlockingError: Blocking call to time.sleep"), 0, "stopped at"),
        (guarded(["/orders", "/rates"], ["/rates"]), 1, "a 500, from a handler that finds nothing in request.state"),
        (guarded(["/orders", "/rates"], None, "NotImplementedError: your code here"), 1, "its last lines above"),
    ],
)
def test_judge_step4_branches(m: Guarded, which: int, says: str) -> None:
    criteria = lab02.judge_step4(m)
    assert [c for c in criteria if not c.passed] == [criteria[which]] or which == 0
    assert not criteria[which].passed and says in criteria[which].advice
    no_fix_given(criteria)


def test_judge_step4_without_the_guard() -> None:
    criteria = lab02.judge_step4(Guarded(Path("/x/lab02_guard.py")))
    assert len(criteria) == 1 and not criteria[0].passed and "no file /x/lab02_guard.py" in criteria[0].measured


def test_the_original_modules_are_the_starter(tmp_path: Path) -> None:
    lab02_buster.original_modules(tmp_path, NOTEBOOK)
    assert {p.name for p in tmp_path.iterdir()} == FILES
    assert "    history = load_order_history(customer)\n" in (tmp_path / "lab02_orders.py").read_text()
    assert "NotImplementedError" in (tmp_path / "lab02_guard.py").read_text()


def test_a_failed_step_ends_with_the_hint_ladder() -> None:
    with pytest.raises(CheckFailed) as failure:
        verdict(Feedback(lab02.TITLES[5], lab02.judge_step5(alone("/export", 180, 170, unzipped=CSV)), step=5))
    assert str(failure.value.feedback).splitlines()[-1].startswith("Stuck? check.hint(5)")


def test_hints_climb_a_ladder_and_solutions_come_per_step() -> None:
    for step in (1, 2, 3, 4, 5):
        assert f"check.hint({step}, level=2)" in lab02.hint(step)
        assert not any(fix in lab02.hint(step) for fix in FIXES), lab02.hint(step)
    assert "run_sync" in lab02.hint(1, level=2) and "partial" in lab02.hint(5, level=2)
    assert "request.state.client.get" in lab02.hint(2, level=3)
    assert "run_sync(load_order_history, customer)" in lab02.solution(1)
    assert "request.state.client.get" not in lab02.solution(1) and "gzip.compress" not in lab02.solution(1)
    assert "lifespan=lifespan" in lab02.solution(2) and "request.state.client.get" in lab02.solution(2)
    assert "functools.partial(gzip.compress, csv, compresslevel=6)" in lab02.solution(5)
    assert "CapacityLimiter" in lab02.hint(3, level=2) and "anyio.readthedocs.io" in lab02.hint(3, level=2)
    assert "limiter=HASHERS" in lab02.solution(3) and "BlockingError" not in lab02.solution(3)
    assert "blockbuster_ctx" in lab02.hint(4, level=2) and "except BlockingError" in lab02.solution(4)
    with pytest.raises(ValueError):
        lab02.hint(6)


# -- live: the contract on the generated starter and the solution ------------------------------
starter, solution = lab_app_dirs(NOTEBOOK, FILES)

STARTER_ADVICE = {
    1: ["[FAIL] 20 concurrent requests are served together", "[FAIL] /ping stays fast while /orders runs"],
    2: ["[FAIL] 20 concurrent requests", "[FAIL] the upstream sees the calls together", "at most 1 upstream call(s)"],
    3: ["[PASS] every /login request succeeds", "[FAIL] /ping stays fast while /login runs", "hash_password()"],
    4: ["[FAIL] on the original modules, your guard names", "NotImplementedError", "[FAIL] on your service"],
    5: ["[PASS] every /export request succeeds", "[FAIL] /ping stays fast while /export runs", "gzip of 3.3 MB"],
}


@pytest.mark.parametrize("step", sorted(STARTER_ADVICE))
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    print(check_fails(getattr(lab02, f"step{step}"), APP, starter, *STARTER_ADVICE[step]))


@pytest.mark.parametrize("step", sorted(STARTER_ADVICE))
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    print(check_passes(getattr(lab02, f"step{step}"), APP, solution))


@pytest.mark.parametrize("step", (1, 3))  # step 2 starts the same way, behind an upstream
def test_a_server_that_cannot_start_gives_feedback(step: int, tmp_path: Path) -> None:
    (tmp_path / "lab02_broken_app.py").write_text("import no_such_module_for_lab02\n")
    app = "lab02_broken_app:app"
    check_fails(getattr(lab02, f"step{step}"), app, tmp_path, f"[FAIL] the app {app!r} starts", "no_such_module")


def test_step4_without_the_guard_gives_feedback(tmp_path: Path) -> None:
    check_fails(lab02.step4, APP, tmp_path, "[FAIL] lab02_guard.py exists", "lab02_guard.py")


# -- live: learner-style variants that differ from solutions/ -----------------------------------
SOLVED_ORDERS = "    history = await anyio.to_thread.run_sync(load_order_history, customer)\n"
SOLVED_EXPORT = "    body = await anyio.to_thread.run_sync(functools.partial(gzip.compress, csv, compresslevel=6))"
SOLVED_LOGIN = "    digest = await anyio.to_thread.run_sync(hash_password, password, limiter=HASHERS)\n"
# Right, unlike the solution: a thread pool of its own, one thread per usable core.
POOL_LOGIN = (
    "HASHERS = __import__('concurrent.futures').futures.ThreadPoolExecutor(len(os.sched_getaffinity(0)))\n",
    "    digest = await asyncio.get_running_loop().run_in_executor(HASHERS, hash_password, password)\n",
)
DEFAULT_LOGIN = ("", "    digest = await anyio.to_thread.run_sync(hash_password, password)\n")  # the former solution
# Right, unlike the solution: one BlockBuster for the whole run, the paths read from the app's OpenAPI schema
# (FastAPI 0.165's app.routes holds an included router as one entry, without a path).
ROUTES_GUARD = """
    found = []
    with TestClient(app) as client:
        paths = [path for path, calls in app.openapi()["paths"].items() if "get" in calls]
        buster = __import__("blockbuster").BlockBuster()
        buster.activate()
        try:
            for path in paths:
                try:
                    client.get(path)
                except BlockingError:
                    found.append(path)
        finally:
            buster.deactivate()
    return found
"""
# Wrong, as learners write it: no `with`, so no lifespan, and every 500 counted as a blocking call.
STATUS_GUARD = """
    client, found = TestClient(app, raise_server_exceptions=False), []
    with blockbuster_ctx():
        for path in PATHS:
            if client.get(path).status_code >= 500:
                found.append(path)
    return found
"""


def rewrite(path: Path, *pairs: tuple[str, str]) -> None:
    source = path.read_text()
    for old, new in pairs:
        assert old in source, (path.name, old)
        source = source.replace(old, new)
    path.write_text(source)


def variant(solution: Path, folder: Path, orders: tuple[str, str], export: str = SOLVED_EXPORT, **more: Any) -> Path:
    """The solution with /orders' and /export's fixes, and ``login`` (its limiter line, its hashing line)
    and the ``guard``'s body when given, written another way."""
    shutil.copytree(solution, folder)
    rewrite(folder / "lab02_orders.py", ("async def orders", orders[0]), (SOLVED_ORDERS, orders[1]))
    imports = ("import functools\n", "import asyncio\nimport functools\n")
    rewrite(folder / "lab02_export.py", (SOLVED_EXPORT, export), imports)
    if "login" in more:
        login = folder / "lab02_login.py"
        limiter = next(line for line in login.read_text().splitlines(True) if line.startswith("HASHERS"))
        rewrite(
            login,
            (limiter, more["login"][0]),
            (SOLVED_LOGIN, more["login"][1]),
            ("import anyio\n", "import asyncio\nimport os\n\nimport anyio\n"),
        )
    if "guard" in more:
        body = (folder / "lab02_guard.py").read_text()
        (folder / "lab02_guard.py").write_text(body[: body.index("    found = []")] + more["guard"].lstrip("\n"))
    return folder


def test_other_right_answers_pass(solution: Path, tmp_path: Path) -> None:
    # /orders as a plain `def` (FastAPI's thread pool; the storm's /orders take their tokens there too),
    # /login in a thread pool of its own, and a guard that reads the paths from the app's OpenAPI schema.
    # (/export with asyncio.to_thread, which passes keyword arguments on, was tested live here up to issue
    # 15; step 5's check has no criterion that tells one thread API from another.)
    orders = ("def orders", "    history = load_order_history(customer)\n")
    folder = variant(solution, tmp_path / "right", orders, login=POOL_LOGIN, guard=ROUTES_GUARD)
    for step in (lab02.step1, lab02.step3, lab02.step4):
        print(check_passes(step, APP, folder))


def test_likely_wrong_shapes_are_explained(solution: Path, tmp_path: Path) -> None:
    # Step 1: the helper called first and its result handed to run_sync (step 5's keyword given to run_sync
    # itself is judged from its recorded error above). Steps 3 and 4, in a service whose steps 1 and 2
    # work: the login hashed with the default limiter, and a guard that counts 500s and runs no lifespan.
    orders = ("async def orders", "    history = await anyio.to_thread.run_sync(load_order_history(customer))\n")
    folder = variant(solution, tmp_path / "wrong_orders", orders)
    text = check_fails(lab02.step1, APP, folder, "handed the result of a call", failed_only=True)
    assert "'list' object is not callable" in text
    solved = ("async def orders", SOLVED_ORDERS)
    folder = variant(solution, tmp_path / "wrong", solved, login=DEFAULT_LOGIN, guard=STATUS_GUARD)
    print(check_fails(lab02.step3, APP, folder, "[FAIL] /orders keeps its thread tokens", "default thread tokens"))
    print(check_fails(lab02.step4, APP, folder, "[FAIL] on your service", "'/rates'", "a 500, from a handler"))
