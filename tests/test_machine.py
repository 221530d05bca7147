"""`cpu_watch` tells our CPU use from other programs'; `speedup` splits a gain into cores and CPU per request."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import psutil
import pytest

from asgilab import Run, cpu_watch, load_sync, serve, speedup
from asgilab.results import Record
from conftest import BURN, strangers


def _burn_here(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_work_in_this_process_and_its_children_counts_as_ours():
    with cpu_watch() as watch:
        _burn_here(0.5)
        subprocess.run([sys.executable, "-c", BURN.format(s=0.5)], check=True, timeout=30)
    print(watch)
    assert watch.elapsed_s >= 1.0
    assert watch.ours_s >= 0.7, watch  # 1 s of burning, minus what a busy machine took from us
    assert watch.machine_s >= watch.ours_s * 0.9, watch  # the machine saw our work too


def test_a_servers_workers_count_as_ours():
    with serve("asgilab.apps.demo:app", workers=2) as server:
        with cpu_watch() as watch:
            run = load_sync(server.url + "/cpu?ms=50", requests=16, concurrency=4, timeout=30, deadline=60)
    print(watch, run.summary())
    assert run.ok == 16
    assert watch.ours_s >= 0.5, watch  # 16 x 50 ms of work in the workers


def test_a_program_we_did_not_start_counts_as_others():
    with strangers(1, seconds=1.5) as (stranger,):
        assert stranger not in psutil.Process().children(recursive=True)
        with cpu_watch() as watch:
            time.sleep(1.0)
        print(watch)
        assert watch.others_s >= 0.6, watch  # the stranger burned one core for most of that second
        assert watch.others_cores >= 0.6
        assert watch.ours_s <= 0.3, watch  # we only slept


def _run(requests: int, wall_s: float, server_cpu_s: float | None, others_cores: float = 0.0) -> Run:
    run = Run(url="http://127.0.0.1:1/", requests=requests, concurrency=requests, engine="aiohttp")
    run.records = [Record(start=0.0, end=wall_s, status=200) for _ in range(requests)]
    run.wall_s, run.server_cpu_s, run.others_cores = wall_s, server_cpu_s, others_cores
    return run


@pytest.mark.parametrize(
    ("pool_cpu_s", "others", "cores_ratio", "cpu_ratio", "fair", "core_free"),
    [
        (2.0, 0.0, 2.0, 1.0, True, True),  # same CPU per request on twice the cores: a fair 2x
        (3.0, 0.0, 3.0, 1.5, False, True),  # a request cost 1.5x the CPU: slowed cores, not fair
        (2.0, 0.7, 2.0, 1.0, False, False),  # other programs took most of a core
    ],
)
def test_speedup_splits_throughput_into_cores_and_cpu_per_request(
    monkeypatch, pool_cpu_s, others, cores_ratio, cpu_ratio, fair, core_free
):
    monkeypatch.setattr("asgilab.machine.usable_cores", lambda: 2)
    inline = _run(10, wall_s=2.0, server_cpu_s=2.0)  # 1 core busy, 0.2 s of CPU per request
    pool = _run(10, wall_s=1.0, server_cpu_s=pool_cpu_s, others_cores=others)
    gain = speedup(pool, inline)
    print(gain, gain.caveats)
    assert gain.throughput_ratio == pytest.approx(2.0)
    assert gain.cores_ratio == pytest.approx(cores_ratio)
    assert gain.cpu_ratio == pytest.approx(cpu_ratio)
    assert gain.throughput_ratio == pytest.approx(gain.cores_ratio / gain.cpu_ratio)  # the identity
    assert (gain.fair, gain.core_was_free, not gain.caveats) == (fair, core_free, fair)


def test_speedup_on_one_core_is_never_fair(monkeypatch):
    monkeypatch.setattr("asgilab.machine.usable_cores", lambda: 1)
    gain = speedup(_run(10, 1.0, 1.0), _run(10, 1.0, 1.0))
    assert not gain.core_was_free and not gain.fair and "1 core" in gain.caveats[0]


def test_speedup_needs_cpu_figures(monkeypatch):
    monkeypatch.setattr("asgilab.machine.usable_cores", lambda: 2)
    with pytest.raises(ValueError, match="cpu_of"):
        speedup(_run(10, 1.0, None), _run(10, 1.0, 1.0))
    no_baseline_cpu = speedup(_run(10, 1.0, 1.0), _run(10, 1.0, 0.0))
    assert math.isnan(no_baseline_cpu.cores_ratio) and not no_baseline_cpu.fair
    assert "not measured" in no_baseline_cpu.caveats[0]
    unknown_others = _run(10, 1.0, 1.0)
    unknown_others.others_cores = None  # a hand-made run: nobody watched the rest of the machine
    gain = speedup(unknown_others, _run(10, 1.0, 1.0))
    assert not gain.core_was_free and not gain.fair and "not measured" in gain.caveats[0]


def test_usable_cores_respects_affinity_and_the_cgroup_limit(monkeypatch) -> None:
    from asgilab import machine

    assert 1 <= machine.usable_cores() <= (os.cpu_count() or 1)
    monkeypatch.setattr(machine, "_cgroup_cores", lambda: 1)
    assert machine.usable_cores() == 1  # a container limited to one core, whatever the host has
