"""`Run` statistics on hand-made records, where every figure is known exactly."""

from __future__ import annotations

import json
import math

import pytest

from asgilab.results import Record, Run, percentile, table
from conftest import HEADLINE_KEYS


def make_run(latencies, wall, errors=()):
    records = [Record(start=0.0, end=lat, status=200) for lat in latencies]
    records += [Record(start=0.0, end=0.5, error=e) for e in errors]
    return Run(
        url="http://127.0.0.1:1/x",
        requests=len(records),
        concurrency=4,
        engine="aiohttp",
        records=records,
        wall_s=wall,
        label="demo",
    )


def test_percentiles_interpolate_and_handle_edges():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0 and percentile(values, 0) == 1.0
    assert math.isnan(percentile([], 50)) and percentile([3.0], 99) == 3.0


def test_figures_of_a_run():
    run = make_run([0.1, 0.1, 0.2, 0.2], wall=0.4, errors=["timeout", "status 503"])
    assert (run.ok, run.errors) == (4, 2)
    assert run.error_kinds == {"timeout": 1, "status 503": 1}
    assert run.throughput_rps == pytest.approx(10.0)
    assert run.p50_s == pytest.approx(0.15) and run.max_s == pytest.approx(0.2)
    # 0.6 s of successful latency + 1.0 s of failed requests over 0.4 s of wall time
    assert run.effective_concurrency == pytest.approx(4.0)
    assert run.max_in_flight == 6  # all six were sent at 0 and none had answered before 0.1 s


def test_max_in_flight_counts_from_the_schedule_and_skips_the_deadline():
    records = [
        Record(start=0.0, end=0.1, status=200),
        Record(start=0.1, end=0.2, status=200),  # starts as the first ends: never two at once
        Record(start=0.3, end=0.4, status=200, scheduled=0.15),  # due at 0.15, waiting from then
        Record(start=0.5, end=0.5, error="deadline"),
    ]
    run = Run(url="u", requests=4, concurrency=1, engine="aiohttp", records=records, wall_s=0.5)
    assert run.max_in_flight == 2
    assert Run(url="u", requests=0, concurrency=1, engine="aiohttp").max_in_flight == 0


def test_open_loop_latency_counts_from_the_schedule():
    rec = Record(start=1.0, end=1.5, status=200, scheduled=0.2)
    run = Run(url="u", requests=1, concurrency=1, engine="aiohttp", records=[rec], wall_s=1.5, rate=10)
    assert run.latencies == [pytest.approx(1.3)]


def test_to_dict_is_json_and_summary_reads_well():
    run = make_run([0.1, 0.3], wall=0.3)
    data = json.loads(json.dumps(run.to_dict()))
    for key in HEADLINE_KEYS:
        assert key in data
    assert "2/2 ok" in run.summary() and "of the ok: p50" in run.summary()
    assert "failed 1 {'timeout': 1}" in make_run([0.1], wall=0.1, errors=["timeout"]).summary()
    assert make_run([], wall=0.0).to_dict()["p50_s"] is None


def test_table_has_text_and_html():
    runs = [make_run([0.1], 0.1), make_run([0.2], 0.2, errors=["timeout"])]
    text = repr(table(runs))
    assert "1 (timeout: 1)" in text
    # the percentiles say they are of the successful requests, beside what they left out
    assert all(f"{name} (ok)" in text for name in ("p50", "p99", "max")) and "failed" in text
    assert "eff. conc." not in text
    assert table(runs)._repr_html_().count("<tr>") == 3
    assert "<table>" in runs[0]._repr_html_()


def test_server_cpu_figures():
    run = make_run([0.1, 0.1, 0.2, 0.2], wall=0.5)
    assert math.isnan(run.cores_used) and math.isnan(run.cpu_per_request_s)
    assert "cores_used" not in run.to_dict()
    run.server_cpu_s = 0.8
    assert run.cores_used == pytest.approx(1.6)  # 0.8 CPU seconds over 0.5 s
    assert run.cpu_per_request_s == pytest.approx(0.2)  # over 4 successful requests
    assert run.to_dict()["cores_used"] == pytest.approx(1.6)


def test_the_table_shows_the_canary_column_only_when_a_run_had_a_canary():
    plain = Run(
        url="http://127.0.0.1/",
        requests=1,
        concurrency=1,
        engine="aiohttp",
        records=[Record(start=0.0, end=0.1, status=200)],
    )
    assert "probe worst" not in repr(table([plain])) and "probe worst" not in table([plain])._repr_html_()
    probed = Run(
        url="http://127.0.0.1/",
        requests=1,
        concurrency=1,
        engine="aiohttp",
        records=[Record(start=0.0, end=0.1, status=200)],
    )
    probed.probe_path, probed.probe_records = "/ping", [Record(start=0.0, end=0.002, status=200)]
    assert "probe worst" in repr(table([plain, probed]))
