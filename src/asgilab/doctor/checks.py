"""The checks of the machine itself: the packages, a live server under a burst, PostgreSQL, the
container's limits, and the cores and memory a learner has. Each returns a `Finding` or raises."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from asgilab.cgroups import CGROUP_ROOT, PROC_CGROUP, Limits, read_limits
from asgilab.doctor.budget import JUPYTER_SERVER_MIB, LESSON_PEAK_RESIDENT_MIB, MEMORY_NEEDED_MIB
from asgilab.doctor.report import Finding, Problem

MIB = 2**20
CONTAINER_MARKS = ("/.dockerenv", "/run/.containerenv")  # Docker's and Podman's


def packages() -> Finding:
    from asgilab.env import versions

    found = versions("jupyterlab", "ipykernel")
    missing = [name for name, v in found.items() if v == "not installed"]
    if missing:
        raise Problem(f"not installed: {', '.join(missing)}", {"versions": found})
    return Finding(", ".join(f"{k} {v}" for k, v in found.items()), {"versions": found})


def server_and_burst() -> Finding:
    from asgilab.load import load_sync
    from asgilab.server import serve

    start = time.perf_counter()
    with serve("asgilab.apps.demo:app") as server:
        ready = time.perf_counter() - start
        run = load_sync(server.url + "/async-sleep?ms=100", 50, 50, timeout=5, deadline=20)
    figures = {"ready_s": round(ready, 3), "requests": 50, "errors": run.errors, "wall_s": round(run.wall_s, 3)}
    if run.errors:
        raise Problem(f"{run.errors} of 50 requests failed: {run.error_kinds}", figures)
    if run.wall_s > 1.0:
        raise Problem(f"50 concurrent 100 ms requests took {run.wall_s:.2f} s (expected about 0.1 s)", figures)
    return Finding(f"server ready in {ready:.2f} s; 50 x 100 ms concurrent in {run.wall_s:.3f} s", figures)


def postgres() -> Finding:
    import psycopg

    from asgilab.postgres import serve_postgres

    start = time.perf_counter()
    with serve_postgres() as pg:
        ready = time.perf_counter() - start
        with psycopg.connect(pg.dsn, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    version = str(row[0]) if row else "?"
    where = "embedded" if pg.owns_server else "ASGILAB_DATABASE_URL's server"
    figures = {"version": version, "embedded": pg.owns_server, "ready_s": round(ready, 3)}
    return Finding(f"PostgreSQL {version} ({where}) ready in {ready:.2f} s, answered a query, stopped", figures)


def container(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> Finding:
    """Never a failure: what the cgroup allows, said in words (`machine` judges the memory)."""
    limits, host_total = read_limits(root, proc_cgroup), psutil.virtual_memory().total
    marks = [mark for mark in CONTAINER_MARKS if Path(mark).exists()]
    binding = limits.memory_limit is not None and limits.memory_limit < host_total
    limited = limits.cpu_cores is not None or binding
    figures: dict[str, Any] = {
        "cgroup": limits.version,
        "limited": limited,
        "container": limited or bool(marks),
        "container_marks": marks,
        "cpu_limit_cores": limits.cpu_cores,
        "cpu_source": limits.cpu_source,
        "memory_limit_mib": _mib(limits.memory_limit),
        "memory_used_mib": _mib(limits.memory_used),
        "memory_source": limits.memory_source,
        "host_cores": os.cpu_count(),
        "host_memory_mib": _mib(host_total),
    }
    if limits.version is None:
        return Finding(f"no cgroups on this system ({sys.platform}): only the machine itself limits it", figures)
    if not limited:
        where = f"a container ({', '.join(marks)}) " if marks else ""
        return Finding(f"{where}without a CPU or memory limit (cgroup {limits.version})", figures)
    return Finding(f"limited container (cgroup {limits.version}): {_limits_text(limits, binding)}", figures)


def _limits_text(limits: Limits, memory_binding: bool) -> str:
    parts = []
    if limits.cpu_cores is not None:
        slow = " (under one core: every timing runs slower)" if limits.cpu_cores < 1 else ""
        parts.append(f"CPU limit {limits.cpu_cores:g} core(s){slow} ({limits.cpu_source})")
    else:
        parts.append("no CPU limit")
    if memory_binding and limits.memory_limit is not None and limits.memory_free is not None:
        parts.append(
            f"memory limit {limits.memory_limit / 2**30:.2f} GiB, {limits.memory_free / 2**30:.2f} GiB of it free"
            f" ({limits.memory_source})"
        )
    else:
        parts.append("no memory limit below the machine's")
    return "; ".join(parts)


def machine(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> Finding:
    """Cores this process may use, and memory available: the host's, or the container's limit less
    its usage when that is less. Fails below `MEMORY_NEEDED_MIB`."""
    from asgilab.machine import usable_cores

    cores, host = usable_cores(), psutil.virtual_memory().available
    limits = read_limits(root, proc_cgroup)
    container_free = limits.memory_free
    in_cgroup = container_free is not None and container_free < host
    free = container_free if in_cgroup and container_free is not None else host
    source = "the container's limit less its usage" if in_cgroup else "the host's available memory"
    kernels, kernels_mib = open_kernels()
    figures = {
        "cores": cores,
        "memory_available_mib": _mib(free),
        "memory_source": "cgroup" if in_cgroup else "host",
        "host_available_mib": _mib(host),
        "memory_needed_mib": MEMORY_NEEDED_MIB,
        "open_kernels": kernels,
        "open_kernels_mib": kernels_mib,
    }
    gib = f"{free / 2**30:.1f} GiB of memory available ({source})"
    if free < MEMORY_NEEDED_MIB * MIB:
        raise Problem(
            f"{gib}: the largest lesson needs {MEMORY_NEEDED_MIB} MiB (lesson 10's peak of"
            f" {LESSON_PEAK_RESIDENT_MIB} MiB plus {JUPYTER_SERVER_MIB} MiB for Jupyter)"
            + (f"; {_kernels_text(kernels, kernels_mib)}" if kernels else ""),
            figures,
        )
    note = "" if cores >= 2 else " (1 core: lessons skip their multi-core claims and say so)"
    notes = [_kernels_text(kernels, kernels_mib)] if kernels else []
    return Finding(f"{cores} core(s) for this process{note}, {gib}", figures, notes)


def open_kernels() -> tuple[int, int]:
    """How many Jupyter kernels of this user are running, and the memory they hold (MiB, resident)."""
    count, resident = 0, 0
    for proc in psutil.process_iter(["cmdline", "uids", "memory_info"]):
        cmdline = proc.info["cmdline"] or []
        if not any("ipykernel" in part for part in cmdline):
            continue
        uids, memory = proc.info["uids"], proc.info["memory_info"]
        if uids is not None and hasattr(os, "getuid") and uids.real != os.getuid():
            continue
        count, resident = count + 1, resident + (memory.rss if memory is not None else 0)
    return count, resident // MIB


def _kernels_text(count: int, mib: int) -> str:
    return (
        f"{count} Jupyter kernel(s) already running hold {mib} MiB: shut down the kernels of notebooks"
        " you finished (Kernel > Shut Down Kernel)"
    )


def _mib(value: int | None) -> int | None:
    return None if value is None else value // MIB
