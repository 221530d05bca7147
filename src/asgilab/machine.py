"""How busy the rest of the machine was while we measured, and whether a multi-core speed-up is fair.

    with cpu_watch() as watch:
        run = await load(...)
    watch.others_cores  # average cores that *other* programs kept busy meanwhile

    gain = speedup(pool_run, inline_run)  # both measured with load(..., cpu_of=[server])
    gain.cores_ratio, gain.cpu_ratio, gain.throughput_ratio, gain.core_was_free, gain.fair

A second worker or a process pool can only speed things up when a second core is free. The course's
machines are shared: before asserting a multi-core speed-up, a notebook checks how many cores went
to programs that are not this Python process or one it started (servers, their workers and pools,
`wrk`, `hey`), and whether the same work cost the same CPU time in both runs (on a virtual machine a
busy host can slow our cores down, most of all when both are busy).
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

from asgilab.cgroups import cpu_limit

if TYPE_CHECKING:
    from asgilab.results import Run

__all__ = [
    "CpuWatch",
    "ServerCpu",
    "Speedup",
    "cpu_watch",
    "process_cpu_s",
    "reaped_children_cpu_s",
    "server_cpu",
    "speedup",
    "usable_cores",
]

FREE_CORE_OTHERS = 0.5  # other programs kept fewer cores than this busy: a second core was free
SAME_SPEED_CPU_RATIO = 1.25  # a request's CPU time within this factor in both runs: same core speed


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, and a cgroup (container) CPU limit when one
    is set, which `os.cpu_count()` ignores (a 2-core container on a 64-core host has 2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, _cgroup_cores() or cores))


def _cgroup_cores() -> int | None:
    """The cgroup CPU limit (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``, on this
    process's cgroup or a parent: `asgilab.cgroups`), rounded up; None when there is none."""
    cores, _ = cpu_limit()
    return None if cores is None else math.ceil(cores)


@dataclass
class CpuWatch:
    """CPU seconds used on the machine during a `cpu_watch()` block, split into ours and others'."""

    elapsed_s: float = 0.0
    machine_s: float = 0.0  # all programs, all cores
    ours_s: float = 0.0  # this process and everything it started

    @property
    def others_s(self) -> float:
        return max(self.machine_s - self.ours_s, 0.0)

    @property
    def others_cores(self) -> float:
        """Average number of cores other programs kept busy during the block."""
        return self.others_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"other programs used {self.others_cores:.2f} of {usable_cores()} cores on average"
            f" over {self.elapsed_s:.1f} s (we used {self.ours_s / max(self.elapsed_s, 1e-9):.2f})"
        )


@contextmanager
def cpu_watch() -> Iterator[CpuWatch]:
    """Measure the machine's CPU use during the block; the result is filled in when it ends."""
    watch = CpuWatch()
    machine0, ours0, start = _machine_seconds(), _our_seconds(), time.perf_counter()
    try:
        yield watch
    finally:
        watch.elapsed_s = time.perf_counter() - start
        watch.machine_s = _machine_seconds() - machine0
        watch.ours_s = _our_seconds() - ours0


@dataclass
class ServerCpu:
    """What a `server_cpu()` block measured: the servers' CPU seconds, and other programs' cores."""

    seconds: float | None = None  # None: no server was given, nothing was measured
    others_cores: float | None = None

    def record(self, run: Run) -> None:
        """Give ``run`` these figures as ``run.server_cpu_s`` and ``run.others_cores`` (see `speedup`)."""
        if self.seconds is not None:
            run.server_cpu_s, run.others_cores = self.seconds, self.others_cores


@contextmanager
def server_cpu(servers: Iterable[Any]) -> Iterator[ServerCpu]:
    """Measure the CPU time of ``servers`` (`asgilab.Server`, all their processes) during the block,
    and how many cores other programs kept busy meanwhile. With no server, it measures nothing
    (and costs nothing): this is how ``load(..., cpu_of=...)`` and ``external.hey(..., cpu_of=...)``
    record a run's figures."""
    servers = list(servers)
    reading = ServerCpu()
    if not servers:
        yield reading
        return
    before = sum(server.cpu_seconds() for server in servers)
    with cpu_watch() as watch:
        yield reading
    reading.seconds = sum(server.cpu_seconds() for server in servers) - before
    reading.others_cores = watch.others_cores


def _machine_seconds() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # already counted in user
    return float(sum(times) - idle - guest)


def process_cpu_s(proc: psutil.Process, reaped: bool = False) -> float:
    """CPU seconds (user + system) a process used so far; with ``reaped``, also the children it has
    waited for (a server's workers that exited)."""
    t = proc.cpu_times()
    return t.user + t.system + (t.children_user + t.children_system if reaped else 0.0)


def reaped_children_cpu_s() -> float:
    """CPU seconds of this process's children that exited and were waited for (wrk, hey, servers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _our_seconds() -> float:
    # This process, the children it has reaped (with their reaped descendants: a stopped server's
    # workers), and every live descendant with what it has reaped itself.
    total = time.process_time() + reaped_children_cpu_s()
    for child in psutil.Process().children(recursive=True):
        try:
            total += process_cpu_s(child, reaped=True)
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass(frozen=True)
class Speedup:
    """How a run compares with a baseline run, split into its two factors. For the same requests,
    throughput = cores used / CPU seconds per request, so
    ``throughput_ratio = cores_ratio / cpu_ratio``."""

    throughput_ratio: float  # requests per second, run over baseline
    cores_ratio: float  # cores the servers kept busy, run over baseline
    cpu_ratio: float  # CPU seconds per request, run over baseline: above 1, the same work cost more
    others_cores: float  # cores other programs kept busy during the run (nan: not measured)
    cpu_count: int

    @property
    def core_was_free(self) -> bool:
        """The machine has a second core and other programs left it free during the run."""
        return self.cpu_count >= 2 and self.others_cores < FREE_CORE_OTHERS

    @property
    def fair(self) -> bool:
        """A throughput speed-up is a fair test: a core was free and the cores ran at the same speed."""
        return self.core_was_free and self.cpu_ratio <= SAME_SPEED_CPU_RATIO

    @property
    def caveats(self) -> list[str]:
        """Why the throughput speed-up is not a fair test in this run; empty when it is."""
        reasons = []
        if self.cpu_count < 2:
            reasons.append(f"this machine has {self.cpu_count} core")
        if math.isnan(self.others_cores):
            reasons.append("other programs' CPU use was not measured")
        elif self.others_cores >= FREE_CORE_OTHERS:
            reasons.append(f"other programs kept {self.others_cores:.2f} cores busy")
        if math.isnan(self.cpu_ratio):
            reasons.append("the CPU time per request was not measured")
        elif self.cpu_ratio > SAME_SPEED_CPU_RATIO:
            reasons.append(
                f"a request cost {self.cpu_ratio:.2f}x the CPU time of the baseline's: the cores ran slower"
                " (on a virtual machine the host decides how fast its virtual cores run)"
            )
        return reasons

    def __str__(self) -> str:
        return (
            f"{self.throughput_ratio:.2f}x the throughput = {self.cores_ratio:.2f}x the cores used"
            f" / {self.cpu_ratio:.2f}x the CPU per request (other programs: {self.others_cores:.2f} cores)"
        )


def speedup(run: Run, baseline: Run) -> Speedup:
    """Compare two runs of the same requests, both measured with ``load(..., cpu_of=[server])``."""
    if run.server_cpu_s is None or baseline.server_cpu_s is None:
        raise ValueError("speedup() needs runs measured with load(..., cpu_of=[server])")
    return Speedup(
        throughput_ratio=_ratio(run.throughput_rps, baseline.throughput_rps),
        cores_ratio=_ratio(run.cores_used, baseline.cores_used),
        cpu_ratio=_ratio(run.cpu_per_request_s, baseline.cpu_per_request_s),
        others_cores=run.others_cores if run.others_cores is not None else math.nan,  # unknown: not free
        cpu_count=usable_cores(),
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan
