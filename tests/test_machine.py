"""`cpu_watch` tells our CPU use from other programs': we burn CPU in known places and look."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from asgilab import cpu_watch, load_sync, serve

BURN = "import time\nend = time.perf_counter() + {s}\nwhile time.perf_counter() < end: pass\n"


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
    with serve("asgilab.demo:app", workers=2) as server:
        with cpu_watch() as watch:
            run = load_sync(server.url + "/cpu?ms=50", requests=16, concurrency=4, timeout=30, deadline=60)
    print(watch, run.summary())
    assert run.ok == 16
    assert watch.ours_s >= 0.5, watch  # 16 x 50 ms of work in the workers


def test_a_program_we_did_not_start_counts_as_others():
    # `sh` starts the burner in the background and exits: the burner is re-parented, a stranger to us.
    seconds = 1.5
    out = subprocess.run(
        ["sh", "-c", f'{sys.executable} -c "$0" >/dev/null 2>&1 & echo $!', BURN.format(s=seconds)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    stranger = psutil.Process(int(out.stdout.strip()))
    try:
        assert stranger not in psutil.Process().children(recursive=True)
        with cpu_watch() as watch:
            time.sleep(1.0)
        print(watch)
        assert watch.others_s >= 0.6, watch  # the stranger burned one core for most of that second
        assert watch.others_cores >= 0.6
        assert watch.ours_s <= 0.3, watch  # we only slept
    finally:
        stranger.kill()
        psutil.wait_procs([stranger], timeout=5)
