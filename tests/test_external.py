"""asgilab.external: wrk and hey on a live loopback server, their output parsed, their refusals."""

from __future__ import annotations

import math

import pytest

from asgilab import external, serve, table

needs_wrk = pytest.mark.skipif(not external.available("wrk"), reason=f"wrk is not installed ({external.INSTALL_HINT})")
needs_hey = pytest.mark.skipif(not external.available("hey"), reason=f"hey is not installed ({external.INSTALL_HINT})")

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8000/hello
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.58ms    2.41ms  23.42ms   90.29%
  4507 requests in 1.01s, 633.92KB read
Requests/sec:   4481.58
ASGILAB_WRK {"requests": 4507, "duration_us": 1005671, "bytes": 649133, "connect": 0, "read": 0, "write": 0, \
"status": 7, "timeout": 0, "mean_us": 2582.4, "max_us": 23415, "p50_us": 1815, "p90_us": 4922, "p99_us": 12496}
"""

HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
0.0020,0.0009,0.0000,0.0002,0.0008,0.0000,200,0.0003
0.0009,0.0001,0.0000,0.0001,0.0005,0.0001,200,0.0012
0.0100,0.0000,0.0000,0.0000,0.0006,0.0000,503,0.0022
"""


@pytest.fixture(scope="module")
def demo():
    with serve("asgilab.apps.demo:app") as server:
        yield server


def test_parse_wrk_reads_the_hook_line():
    run = external.parse_wrk(WRK_OUTPUT, url="http://127.0.0.1:8000/hello", connections=10, duration=1)
    assert run.completed == 4507 and run.ok == 4500 and run.error_kinds["status"] == 7
    assert run.errors == 7 and run.requests == run.ok + run.errors  # shaped like Run
    assert run.wall_s == pytest.approx(1.005671)
    assert run.p50_s == pytest.approx(0.001815) and run.p99_s == pytest.approx(0.012496)
    assert run.max_s == pytest.approx(0.023415) and run.mean_s == pytest.approx(0.0025824)
    assert run.throughput_rps == pytest.approx(4500 / 1.005671)
    assert "wrk -c 10" in run.summary() and run.to_dict()["ok"] == 4500


def test_parse_wrk_without_hook_line_is_a_clear_error():
    with pytest.raises(RuntimeError, match="summary line"):
        external.parse_wrk("Requests/sec: 12\n", url="http://127.0.0.1/", connections=1)


def test_parse_hey_csv_builds_a_run_and_counts_missing_rows_as_errors():
    run = external.parse_hey_csv(HEY_CSV, url="http://127.0.0.1:8000/", requests=4, concurrency=2)
    assert run.engine == "hey" and len(run.records) == 4
    assert run.ok == 2 and run.error_kinds == {"status 503": 1, "hey error": 1}
    assert run.records[0].start == pytest.approx(0.0003) and run.records[0].latency == pytest.approx(0.002)
    assert run.wall_s == pytest.approx(0.0122)
    assert "hey" in repr(table([run]))


def test_parse_hey_rejects_other_output():
    with pytest.raises(RuntimeError, match="CSV header"):
        external.parse_hey_csv("Summary:\n Total: 1 secs\n", url="http://127.0.0.1/", requests=1, concurrency=1)


@pytest.mark.parametrize("tool", ["wrk", "hey"])
def test_refuses_non_loopback_urls(tool):
    call = external.wrk if tool == "wrk" else external.hey
    with pytest.raises(ValueError, match="loopback"):
        call("http://example.com/", 1, 1)
    with pytest.raises(ValueError, match="http"):
        call("ftp://127.0.0.1/", 1, 1)


def test_refuses_unbounded_runs():
    url = "http://127.0.0.1:1/"
    with pytest.raises(ValueError, match="duration"):
        external.wrk(url, duration=0)
    with pytest.raises(ValueError, match="duration"):
        external.wrk(url, duration=external.MAX_DURATION_S + 1)
    with pytest.raises(ValueError, match="requests"):
        external.hey(url, requests=external.MAX_REQUESTS + 1, concurrency=1)
    with pytest.raises(ValueError, match="requests >= concurrency"):
        external.hey(url, requests=5, concurrency=10)
    with pytest.raises(ValueError, match="tool"):
        external.available("ab")


def test_missing_tool_names_the_install_command(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not external.available("wrk")
    with pytest.raises(external.ToolMissing, match="apt-get install wrk hey"):
        external.wrk("http://127.0.0.1:1/", duration=1)
    with pytest.raises(external.ToolMissing, match="apt-get install wrk hey"):
        external.hey("http://127.0.0.1:1/", requests=1, concurrency=1)


@needs_wrk
def test_wrk_measures_a_live_server(demo):
    run = external.wrk(demo.url + "/hello", duration=1, connections=4, label="wrk hello")
    assert run.name == "wrk hello" and run.requests > 50
    assert run.error_kinds == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0} and run.errors == 0
    assert 0.9 < run.wall_s < 3 and run.throughput_rps > 50
    assert 0 < run.p50_s <= run.p90_s <= run.p99_s <= run.max_s < 5
    assert not math.isnan(run.mean_s)
    assert 0 < run.cpu_s < 5  # wrk's own CPU time was measured


@needs_wrk
def test_wrk_counts_error_statuses(demo):
    run = external.wrk(demo.url + "/no-such-page", duration=1, connections=2)
    assert run.completed > 0 and run.error_kinds["status"] == run.completed and run.ok == 0


@needs_wrk
def test_wrk_reports_a_refused_connection():
    with pytest.raises(RuntimeError, match="wrk exited"):
        external.wrk("http://127.0.0.1:1/", duration=1, connections=1)


@needs_hey
def test_hey_gives_one_record_per_request(demo):
    run = external.hey(demo.url + "/async-sleep?ms=50", requests=20, concurrency=10)
    assert run.engine == "hey" and len(run.records) == 20 and run.ok == 20
    assert all(0.04 < lat < 2 for lat in run.latencies)
    assert run.wall_s < 3 and run.effective_concurrency > 4  # 10 workers overlap the 50 ms sleeps


@needs_hey
def test_hey_rate_throttles_each_worker(demo):
    run = external.hey(demo.url + "/hello", requests=20, concurrency=2, rate=40)
    assert run.ok == 20 and run.wall_s > 0.3  # 20 requests at 40/s take about half a second


@needs_hey
def test_hey_without_keepalive_still_answers(demo):
    run = external.hey(demo.url + "/hello", requests=20, concurrency=4, keepalive=False)
    assert run.ok == 20


@needs_hey
def test_hey_cpu_of_records_the_servers_cpu_over_the_run(demo):
    run = external.hey(demo.url + "/cpu?ms=20", requests=10, concurrency=2, cpu_of=[demo])
    print(run.summary(), f"cores used {run.cores_used:.2f}, {run.cpu_per_request_s * 1000:.1f} ms CPU per request")
    assert run.ok == 10
    assert 0.010 <= run.cpu_per_request_s <= 0.2  # about 20 ms of work each, on a busy machine maybe more
    assert run.others_cores is not None and run.others_cores >= 0.0
    unasked = external.hey(demo.url + "/hello", requests=5, concurrency=1)
    assert unasked.server_cpu_s is None and unasked.others_cores is None
