"""``python -m asgilab audit``: every verdict branch on hand-built measurements (milliseconds), the
requests built from OpenAPI schemas, the three renderings, bad input (one sentence, exit 2, no
server), and live audits of learner-style apps it did not write (tests/audit_apps/), each route
held to the verdict written beside it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from asgilab.audit import judge as judging
from asgilab.audit.judge import Frame, Measurement, judge
from asgilab.audit.render import to_json, to_markdown, to_text
from asgilab.audit.routes import BadInput, Inputs, find_routes, import_app
from asgilab.server import running_servers
from asgilab.upstream import serve_upstream

APPS = Path(__file__).parent / "audit_apps"
EXPECTED = re.compile(r'@app\.(\w+)\("([^"]+)"\)\s+# ([\w-]+)')


def measured(**figures: object) -> Measurement:
    """A healthy async route, changed by ``figures``."""
    base = dict(method="GET", path="/r", kind="async", status=200, alone_s=0.03, concurrency=20, burst_ok=20)
    base.update(cpu_per_request_s=0.001, canary_worst_s=0.004, canary_median_s=0.001, tokens_total=40)
    base.update(figures)
    return Measurement(**base)  # type: ignore[arg-type]


# -- judge: each branch ---------------------------------------------------------------------
def test_a_free_loop_is_ok() -> None:
    assert judge(measured()).verdict == "ok"


def test_a_blocking_call_in_async_def_blocks_the_loop_and_names_the_line() -> None:
    call = Frame("rates", "app.py", 12)
    verdict = judge(measured(blocking_call=call, blocking_function="time.sleep", long_steps=20))
    assert (verdict.verdict, verdict.blocks_loop, verdict.blocking_call) == ("blocks-loop", True, call)
    assert "time.sleep at app.py:12, in rates()" in verdict.evidence[0]
    assert "lesson 02" in verdict.advice


def test_long_loop_steps_without_a_known_call_block_the_loop() -> None:
    verdict = judge(measured(long_steps=20, longest_step_s=0.05))
    assert verdict.verdict == "blocks-loop" and "no blocking call it knows" in verdict.evidence[0]


def test_one_stray_pause_is_not_a_blocked_loop() -> None:
    assert judge(measured(long_steps=1, longest_step_s=0.2)).verdict == "ok"


def test_cpu_work_on_the_loop_is_cpu_bound_and_blocks_it() -> None:
    verdict = judge(measured(cpu_per_request_s=0.04, alone_s=0.045, long_steps=20))
    assert (verdict.verdict, verdict.blocks_loop) == ("cpu-bound", True)
    assert any("blocks it too" in e for e in verdict.evidence)


def test_cpu_work_in_a_def_endpoint_is_cpu_bound_without_blocking_the_loop() -> None:
    verdict = judge(measured(kind="def", cpu_per_request_s=0.04, alone_s=0.045, tokens_max=20))
    assert (verdict.verdict, verdict.blocks_loop) == ("cpu-bound", False)
    assert any("GIL" in e for e in verdict.evidence)


def test_waiting_for_a_core_is_not_counted_as_the_route_s_own_time() -> None:
    # 30 ms of CPU in a 90 ms request, of which 60 ms the server waited for a core another program had.
    busy = measured(kind="def", cpu_per_request_s=0.03, alone_s=0.09, runqueue_wait_s=0.06, tokens_max=20)
    assert judge(busy).verdict == "cpu-bound"
    assert judging.cpu_share(measured(cpu_per_request_s=0.004, alone_s=0.005)) == 0  # a fast route's handling


def test_def_endpoints_and_work_handed_to_threads_are_thread_pool() -> None:
    assert judge(measured(kind="def", tokens_max=20)).verdict == "thread-pool"
    verdict = judge(measured(tokens_max=3))
    assert verdict.verdict == "thread-pool" and "hands work to threads" in verdict.evidence[0]
    assert "3 of 40 thread tokens" in verdict.evidence[1]


def test_errors_fail_with_the_status_and_first_line() -> None:
    verdict = judge(measured(status=500, error="RuntimeError: not configured"))
    assert verdict.verdict == "failed" and "500: RuntimeError: not configured" in verdict.evidence[0]
    assert judge(measured(burst_ok=12)).verdict == "failed"
    assert judge(measured(status=None)).verdict == "failed"


def test_skipped_routes_say_why() -> None:
    verdict = judge(measured(skipped="no value for path parameter id: give --param id=VALUE"))
    assert verdict.verdict == "skipped" and "--param id" in verdict.evidence[0]


def test_a_borderline_figure_on_a_busy_machine_is_undecided() -> None:
    verdict = judge(measured(long_steps=8, others_cores=1.5))
    assert verdict.verdict == "undecided" and "1.5 cores" in verdict.evidence[0]
    assert judge(measured(long_steps=8, others_cores=0.1)).verdict == "ok"


# -- routes: requests from the schema --------------------------------------------------------
class Order(BaseModel):
    item_id: int
    note: str = "x"


schema_app = FastAPI()


@schema_app.post("/orders/{shop}")
async def order(shop: str, body: Order, limit: int = 5, express: bool = False) -> dict[str, str]:
    return {}


@schema_app.get("/files/{path:path}")
async def files(path: str) -> dict[str, str]:
    return {}


def test_requests_are_built_from_the_openapi_schema() -> None:
    routes = {r.path: r for r in find_routes(schema_app, Inputs(params={"path": "a/b"}))}
    call = routes["/orders/{shop}"].call
    assert call is not None and call["path"] == "/orders/example" and call["query"] == "limit=5&express=false"
    assert json.loads(call["body"]) == {"item_id": 1} and call["headers"]["content-type"] == "application/json"
    assert routes["/files/{path:path}"].call is not None
    assert routes["/files/{path:path}"].call["path"] == "/files/a%2Fb"
    assert not any(path.startswith(("/docs", "/openapi")) for path in routes)


def test_a_route_that_cannot_be_called_is_skipped_with_the_reason() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def user(request: object) -> PlainTextResponse:
        return PlainTextResponse("")

    app = Starlette(routes=[Route("/users/{user_id}", user)])
    (route,) = find_routes(app, Inputs())
    assert route.call is None and "--param user_id=VALUE" in route.skipped
    (given,) = find_routes(app, Inputs(params={"user_id": "7"}))
    assert given.call is not None and given.call["path"] == "/users/7"


def test_import_app_refuses_what_is_not_an_asgi_app(tmp_path: Path) -> None:
    (tmp_path / "wsgi_app.py").write_text("def app(environ, start_response):\n    return []\nvalue = 3\n")
    (tmp_path / "broken_app.py").write_text("import not_a_module_anywhere\n")
    cases = {
        "wsgi_app:app": "looks like a WSGI app",
        "wsgi_app:value": "is a int, not an ASGI app",
        "wsgi_app:missing": "has no attribute 'missing'",
        "broken_app:app": "could not import module 'broken_app'",
        "no_colon": "expected MODULE:APP",
    }
    for target, sentence in cases.items():
        with pytest.raises(BadInput, match=re.escape(sentence)):
            import_app(target, tmp_path)


def test_routes_of_included_routers_are_found_with_their_prefixes() -> None:
    from fastapi import APIRouter

    inner, outer, app = APIRouter(), APIRouter(), FastAPI()

    @inner.get("/x/{n}")
    def x(n: int) -> dict[str, int]:
        return {}

    @outer.get("/y")
    async def y() -> dict[str, int]:
        return {}

    outer.include_router(inner, prefix="/v1")
    app.include_router(outer, prefix="/api")
    routes = {r.path: r for r in find_routes(app, Inputs())}
    assert set(routes) == {"/api/y", "/api/v1/x/{n}"}
    assert routes["/api/v1/x/{n}"].call is not None and routes["/api/v1/x/{n}"].call["path"] == "/api/v1/x/1"


def test_import_app_sees_an_edited_module_of_the_app_s_folder(tmp_path: Path) -> None:
    (tmp_path / "pricing_rules.py").write_text("RATE = 1\n")
    (tmp_path / "shop_main.py").write_text(
        "from fastapi import FastAPI\nimport pricing_rules\napp = FastAPI()\napp.state.rate = pricing_rules.RATE\n"
    )
    try:
        assert import_app("shop_main:app", tmp_path).state.rate == 1
        (tmp_path / "pricing_rules.py").write_text("RATE = 2\n")
        assert import_app("shop_main:app", tmp_path).state.rate == 2
    finally:
        for name in ("shop_main", "pricing_rules"):
            sys.modules.pop(name, None)
        while str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_a_blocking_call_a_library_wrapped_in_its_own_error_is_still_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import importlib

    monkeypatch.setenv("ASGILAB_AUDIT_APP", "fastapi:FastAPI")  # any importable target: it is not served
    original = asyncio.Handle._run
    try:
        audit_host = importlib.import_module("asgilab.apps.audit_host")
    finally:
        asyncio.Handle._run = original  # type: ignore[method-assign]  # the host's patch is for its server
        sys.modules.pop("asgilab.apps.audit_host", None)

    class BlockingError(Exception):  # blockbuster's name; httpx's sync client re-raises it as ConnectError
        pass

    class ConnectError(Exception):
        pass

    host = audit_host.AuditHost()
    try:
        try:
            raise BlockingError("Blocking call to socket.socket.connect")
        except BlockingError as exc:
            raise ConnectError(str(exc)) from exc
    except ConnectError as wrapped:
        host._record_error(wrapped)
    (found,) = host.blocking
    assert found["call"] == "socket.socket.connect" and host.errors == []
    assert any(
        frame["function"] == "test_a_blocking_call_a_library_wrapped_in_its_own_error_is_still_named"
        for frame in found["stack"]
    )
    host._record_error(ValueError("bad\nsecond line"))
    assert host.errors == ["ValueError: bad"]


# -- render -----------------------------------------------------------------------------------
def test_the_three_renderings() -> None:
    verdicts = [judge(measured()), judge(measured(path="/slow", blocking_call=Frame("f", "a.py", 3), long_steps=20))]
    text = to_text(verdicts, "main:app")
    assert all(len(line) <= 80 for line in text.splitlines()) and "BLOCKS LOOP" in text
    data = json.loads(to_json(verdicts, "main:app", 1))
    route = data["routes"][1]
    assert route["verdict"] == "blocks-loop" and route["blocking_call"] == {"function": "f", "file": "a.py", "line": 3}
    assert {"method", "path", "advice", "canary_worst_s", "cpu_per_request_s"} <= set(route)
    assert data["routes"][0]["blocking_call"] is None
    assert "| `GET /slow` | **blocks-loop** |" in to_markdown(verdicts, "main:app")


# -- the command: bad input, then live audits -------------------------------------------------
def audit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "asgilab.audit", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=APPS)


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["nope_module:app"], "could not import module 'nope_module'"),
        (["learner_clean:nothing"], "has no attribute 'nothing'"),
        (["learner_clean:app", "--host", "0.0.0.0"], "loopback only"),
        (["learner_clean:app", "--fail-on", "slow"], "--fail-on takes verdicts"),
        (["learner_clean:app", "--route", "/missing"], "no route '/missing'"),
        (["learner_clean:app", "-c", "0"], "--concurrency must be between 1 and 1000"),
        (["learner_clean:app", "--param", "novalue"], "--param wants NAME=VALUE"),
        (["learner_clean:app", "--body", "POST orders={}"], "--body wants 'METHOD /path={json}'"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2_before_any_server(args: list[str], sentence: str) -> None:
    start = time.perf_counter()
    done = audit(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and sentence in done.stderr and "Traceback" not in done.stderr
    assert time.perf_counter() - start < 5  # importing FastAPI is most of it; no server was started
    assert not running_servers()


def expected_verdicts(module: str) -> dict[tuple[str, str], str]:
    source = (APPS / f"{module}.py").read_text()
    return {(method.upper(), path): verdict for method, path, verdict in EXPECTED.findall(source)}


def live_audit(module: str, *extra: str) -> tuple[int, dict[tuple[str, str], dict[str, object]]]:
    done = audit(f"{module}:app", "--json", *extra)
    assert done.stdout, done.stderr[-3000:]
    routes = {(r["method"], r["path"]): r for r in json.loads(done.stdout)["routes"]}
    return done.returncode, routes


def test_live_shop_each_route_gets_its_verdict_and_the_blocking_lines() -> None:
    status, routes = live_audit("learner_shop")
    got = {key: route["verdict"] for key, route in routes.items()}
    assert got == expected_verdicts("learner_shop")
    assert status == 1  # routes block the loop
    assert routes[("POST", "/orders")]["blocking_call"] == {
        "function": "reserve_stock",
        "file": "shop_helpers.py",
        "line": 7,
    }
    sqlite = routes[("GET", "/items/{item_id}")]["blocking_call"]
    assert isinstance(sqlite, dict) and sqlite["file"] == "learner_shop.py" and sqlite["function"] == "item"
    assert routes[("GET", "/report")]["blocks_loop"] and not routes[("GET", "/export")]["blocks_loop"]
    assert "RuntimeError: the stock service is not configured" in str(routes[("GET", "/broken")]["evidence"])


def test_live_gateway_over_an_upstream_and_a_sync_session() -> None:
    with serve_upstream() as upstream:
        status, routes = live_audit("learner_gateway", "--env", f"UPSTREAM_URL={upstream.url}")
    assert {key: route["verdict"] for key, route in routes.items()} == expected_verdicts("learner_gateway")
    call = routes[("GET", "/rates/{currency}")]
    assert isinstance(call["blocking_call"], dict) and call["blocking_call"]["line"] == 42
    assert "requests.api.get" in str(call["evidence"])
    assert status == 1


def test_live_no_false_alarm_on_a_correct_app_and_fail_on() -> None:
    status, routes = live_audit("learner_clean")
    assert {key: route["verdict"] for key, route in routes.items()} == expected_verdicts("learner_clean")
    assert status == 0


def test_fail_on_chooses_the_verdicts_that_exit_1() -> None:
    from asgilab.audit.cli import _fail_on, _fails

    cpu_on_loop = judge(measured(cpu_per_request_s=0.04, alone_s=0.045, long_steps=20))
    assert _fails(cpu_on_loop, _fail_on("blocks-loop"))  # a CPU-bound route on the loop blocks it too
    assert not _fails(judge(measured(kind="def", tokens_max=5)), _fail_on("blocks-loop"))
    assert _fails(judge(measured(kind="def", tokens_max=5)), _fail_on("blocks-loop,thread-pool"))
    assert not _fails(cpu_on_loop, _fail_on("none"))
