"""How busy the rest of the machine was while we measured.

    with cpu_watch() as watch:
        run = await load(...)
    watch.others_cores  # average cores that *other* programs kept busy meanwhile

A second worker or a process pool can only speed things up when a second core is free. The course's
machines are shared: before asserting a multi-core speed-up, a notebook checks how many cores went
to programs that are not this Python process or one it started (servers, their workers and pools,
`wrk`, `hey`).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

__all__ = ["CpuWatch", "cpu_watch"]


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
            f"other programs used {self.others_cores:.2f} of {os.cpu_count()} cores on average"
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


def _machine_seconds() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # already counted in user
    return sum(times) - idle - guest


def _our_seconds() -> float:
    # This process, the children it has reaped (with their reaped descendants: a stopped server's
    # workers), and every live descendant with what it has reaped itself.
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = time.process_time() + reaped.ru_utime + reaped.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total
