"""`load`: bounded, counts failures instead of raising, refuses remote hosts, and is accurate."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

from asgilab import ENGINES, Run, bursts, load_sync, serve


@pytest.fixture(scope="module")
def demo():
    with serve("asgilab.apps.demo:app") as server:
        yield server


@pytest.fixture(scope="module")
def hang(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hang")
    (folder / "hang_handler_app.py").write_text(
        textwrap.dedent("""
        import asyncio
        from fastapi import FastAPI
        app = FastAPI()

        @app.get("/never")
        async def never():
            await asyncio.sleep(3600)

        @app.get("/status/{code}")
        async def status(code: int):
            from fastapi import Response
            return Response(status_code=code)
        """)
    )
    with serve("hang_handler_app:app", app_dir=folder) as server:
        yield server


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000/", "http://example.com/", "https://192.168.0.1/"])
def test_refuses_hosts_beyond_loopback(url):
    with pytest.raises(ValueError, match="loopback"):
        load_sync(url, 1, 1)


def test_refuses_a_url_whose_port_is_not_a_number():
    # base URL + a path without its slash: "http://127.0.0.1:8000" + "hello"
    with pytest.raises(ValueError, match="port of 'http://127.0.0.1:8000hello' is not a number"):
        load_sync("http://127.0.0.1:8000hello", 1, 1)


@pytest.mark.parametrize("kwargs", [dict(requests=0), dict(concurrency=0), dict(deadline=-1), dict(engine="curl")])
def test_rejects_bad_parameters(kwargs):
    params = dict(requests=1, concurrency=1) | kwargs
    with pytest.raises(ValueError):
        load_sync("http://127.0.0.1:9/", **params)


def test_handler_that_never_returns_is_a_timeout_not_a_hang(hang):
    run = load_sync(hang.url + "/never", 5, 5, timeout=0.5, deadline=10)
    assert run.ok == 0 and run.error_kinds == {"timeout": 5}
    assert run.wall_s < 3


def test_deadline_ends_the_run_and_counts_what_was_left(hang):
    run = load_sync(hang.url + "/never", 20, 2, timeout=30, deadline=1.0)
    assert run.stopped_by_deadline
    assert len(run.records) == 20 and run.error_kinds == {"deadline": 20}
    assert run.wall_s < 2


def test_error_statuses_and_refused_connections_are_counted(hang):
    run = load_sync(hang.url + "/status/503", 4, 2)
    assert run.ok == 0 and run.error_kinds == {"status 503": 4}
    closed = load_sync("http://127.0.0.1:9/", 3, 3, timeout=2)  # port 9 (discard): nothing listens
    assert closed.ok == 0 and sum(closed.error_kinds.values()) == 3


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_gets_answers(demo, engine):
    run = load_sync(demo.url + "/hello", 20, 5, engine=engine)
    assert run.ok == 20 and run.engine == engine


def test_concurrent_sleeps_overlap_and_blocking_ones_do_not(demo):
    overlapped = load_sync(demo.url + "/async-sleep?ms=100", 50, 50, warmup=50)
    blocked = load_sync(demo.url + "/blocking-sleep?ms=50", 10, 10, probe="/ping")
    print(overlapped.summary(), blocked.summary(), sep="\n")
    assert overlapped.ok == 50 and overlapped.wall_s < 0.5  # ideal 0.1 s; serial would be 5 s
    assert overlapped.effective_concurrency > 25
    assert blocked.wall_s > 0.45  # ten 50 ms sleeps, one at a time
    assert blocked.effective_concurrency < 7
    # The canary waited behind the blocked event loop for at least one sleep.
    assert blocked.probe_records and blocked.probe_max_s > 0.04


def test_thread_pool_step_between_40_and_41(demo):
    at40 = min(load_sync(demo.url + "/sync-sleep?ms=100", 40, 40, warmup=40).wall_s for _ in range(2))
    at41 = min(load_sync(demo.url + "/sync-sleep?ms=100", 41, 41, warmup=41).wall_s for _ in range(2))
    print(f"wall at 40: {at40:.3f} s, at 41: {at41:.3f} s")
    assert at41 / at40 > 1.3  # a second round of 100 ms for the 41st request


def test_the_demos_def_endpoints_validate_nothing_in_the_thread_pool():
    """FastAPI validates a `def` endpoint's return value against its response model in the thread pool
    (fastapi/routing.py, serialize_response): the demo's `def` endpoints have none, so each request
    takes one token, as the 40-token staircase above assumes."""
    from asgilab.apps.demo import app

    fields = {route.path: route.response_field for route in app.routes if hasattr(route, "response_field")}
    assert fields["/sync-sleep"] is None and fields["/cpu-sync"] is None
    assert fields["/async-sleep"] is not None  # `async def` ones validate on the loop: no token taken


def test_bursts_send_one_burst_per_size(demo):
    runs = asyncio.run(bursts(demo.url + "/async-sleep?ms=50", [5, 10], label="async"))
    assert [(r.requests, r.concurrency, r.label, r.ok) for r in runs] == [
        (5, 5, "async x5", 5),
        (10, 10, "async x10", 10),
    ]


def test_cpu_of_records_the_servers_cpu_over_the_run(demo):
    run = load_sync(demo.url + "/cpu?ms=20", 10, 2, warmup=2, cpu_of=[demo])
    print(run.summary(), f"cores used {run.cores_used:.2f}, {run.cpu_per_request_s * 1000:.1f} ms CPU per request")
    assert run.ok == 10
    assert 0.010 <= run.cpu_per_request_s <= 0.2  # about 20 ms of work each, on a busy machine maybe more
    assert 0.5 <= run.cores_used <= 1.3  # one worker computes on one core at most
    assert run.others_cores is not None and run.others_cores >= 0.0  # how busy the rest of the machine was
    unasked = load_sync(demo.url + "/hello", 5, 1)
    assert unasked.server_cpu_s is None and unasked.others_cores is None


def test_bursts_repeat_keeps_the_fastest_burst_of_each_size(monkeypatch):
    walls = iter([0.3, 0.1, 0.2, 0.5, 0.4, 0.6])  # three tries of size 5, then three of size 10

    async def fake_runs(client, times, url, requests, concurrency, *rest):
        return [Run(url=url, requests=requests, concurrency=concurrency, engine="fake", records=[], wall_s=next(walls))
                for _ in range(times)]  # fmt: skip

    monkeypatch.setattr(sys.modules["asgilab.load"], "_runs_on", fake_runs)  # `asgilab.load` is the function
    runs = asyncio.run(bursts("http://127.0.0.1:1/x", [5, 10], repeat=3))
    assert [(r.requests, r.wall_s) for r in runs] == [(5, 0.1), (10, 0.4)]
    with pytest.raises(ValueError, match="repeat"):
        asyncio.run(bursts("http://127.0.0.1:1/x", [5], repeat=0))
    with pytest.raises(TypeError, match="rate"):  # an open loop is not a burst
        asyncio.run(bursts("http://127.0.0.1:1/x", [5], rate=10))


def test_bursts_warm_up_once_per_size_and_keep_those_connections(demo, monkeypatch):
    module = sys.modules["asgilab.load"]
    warmed, real = [], module._warm_up

    async def counted(send, url, timeout, warmup, connections):
        warmed.append((warmup, connections))
        await real(send, url, timeout, warmup, connections)

    monkeypatch.setattr(module, "_warm_up", counted)
    runs = asyncio.run(bursts(demo.url + "/async-sleep?ms=20", [4, 8], repeat=3, label="x"))
    assert warmed == [(4, 4), (8, 8)]  # once per size, not once per try
    assert [(r.label, r.ok, r.concurrency) for r in runs] == [("x x4", 4, 4), ("x x8", 8, 8)]


def test_open_loop_keeps_its_schedule_and_measures_from_it(demo):
    run = load_sync(demo.url + "/async-sleep?ms=20", 20, 20, rate=100)
    scheduled = [r.scheduled for r in run.records]
    assert scheduled == pytest.approx([i / 100 for i in range(20)])
    assert run.ok == 20 and 0.18 < run.wall_s < 1.0


def test_load_sync_works_inside_a_running_event_loop(demo):
    async def inside():
        return load_sync(demo.url + "/hello", 3, 1)

    assert asyncio.run(inside()).ok == 3
