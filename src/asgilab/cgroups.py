"""The CPU and memory limits on this process's cgroup: a container's, a Hub pod's, a systemd unit's.

    limits = read_limits()              # cgroup v2 or v1, whichever this machine mounts
    limits.cpu_cores, limits.cpu_source  # 1.5, "cpu.max = 150000 100000 at /sys/fs/cgroup/..."
    limits.memory_free                   # bytes the limit leaves: limit - (usage - inactive file cache)

`os.cpu_count()` and `psutil.virtual_memory()` describe the host, not the container: a 2-CPU, 1 GiB
pod on a 64-core host sees 64 cores and the host's free memory. The limit can sit on any ancestor
of the process's cgroup (a pod's limit is on the pod, its containers below it), so each level from
the process's own cgroup up to the root counts, and the tightest wins. Where the path in
``/proc/self/cgroup`` is not under the mount (a container's own cgroup mounted at the root without
a cgroup namespace), its longest tail that is there is used, then the mount itself.

``root`` and ``proc_cgroup`` are parameters so that tests can point them at a fake tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CGROUP_ROOT", "PROC_CGROUP", "Limits", "cpu_limit", "memory_limit", "read_limits"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
UNLIMITED = 2**60  # cgroup v1 writes "no limit" as the largest page-aligned 64-bit number (9223372036854771712)


@dataclass(frozen=True)
class Limits:
    """What the cgroup allows this process; None where no limit is set (or no cgroup exists)."""

    version: str | None  # "v2", "v1", or None: no cgroup filesystem (macOS, Windows)
    cpu_cores: float | None = None  # quota / period: 1.5 is one and a half cores' time per period
    cpu_source: str | None = None  # the file(s), values and folder it came from
    memory_limit: int | None = None  # bytes, at the level that leaves the least free
    memory_used: int | None = None  # bytes used at that level, less its inactive file cache (reclaimable)
    memory_source: str | None = None

    @property
    def limited(self) -> bool:
        return self.cpu_cores is not None or self.memory_limit is not None

    @property
    def memory_free(self) -> int | None:
        if self.memory_limit is None or self.memory_used is None:
            return None
        return max(self.memory_limit - self.memory_used, 0)


def read_limits(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> Limits:
    """The CPU and memory limits of this process's cgroup, v2 or v1."""
    version = _version(root)
    if version is None:
        return Limits(None)
    cores, cpu_source = cpu_limit(root, proc_cgroup)
    limit, used, memory_source = memory_limit(root, proc_cgroup)
    return Limits(version, cores, cpu_source, limit, used, memory_source)


def cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> tuple[float | None, str | None]:
    """The tightest CPU quota in cores (``cpu.max`` in v2, ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``
    in v1) from this process's cgroup up to the root, and where it was read; (None, None) for none."""
    best: tuple[float | None, str | None] = (None, None)
    for folder in _levels(root, proc_cgroup, "cpu"):
        try:
            found = _cpu_at(folder)
        except ValueError:  # a file that is not what the kernel writes: no limit read there
            continue
        if found is not None and (best[0] is None or found[0] < best[0]):
            best = found
    return best


def memory_limit(
    root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP
) -> tuple[int | None, int | None, str | None]:
    """(limit, used, source) at the level from this process's cgroup up to the root that leaves the
    least memory free (``memory.max``/``memory.current`` in v2, ``memory.limit_in_bytes``/
    ``memory.usage_in_bytes`` in v1; used less ``inactive_file``, the cache the kernel reclaims first,
    as the kubelet counts a container's working set); (None, None, None) for no limit."""
    best: tuple[int | None, int | None, str | None] = (None, None, None)
    for folder in _levels(root, proc_cgroup, "memory"):
        try:
            found = _memory_at(folder)
        except ValueError:
            continue
        if found is not None and (best[0] is None or best[1] is None or found[0] - found[1] < best[0] - best[1]):
            best = found
    return best


def _version(root: Path) -> str | None:
    if (root / "cgroup.controllers").is_file():
        return "v2"
    if (root / "memory").is_dir() or (root / "cpu").is_dir() or (root / "cpu,cpuacct").is_dir():
        return "v1"
    return None


def _memberships(proc_cgroup: Path) -> list[tuple[list[str], str]]:
    """The lines of /proc/self/cgroup as (controllers, path): ``4:memory:/a/b`` is (["memory"], "/a/b"),
    and v2's ``0::/a/b`` is ([], "/a/b")."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            found.append(([name for name in parts[1].split(",") if name], parts[2]))
    return found


def _levels(root: Path, proc_cgroup: Path, controller: str) -> Iterator[Path]:
    """This process's cgroup folder for ``controller``, then each parent up to the mount."""
    memberships = _memberships(proc_cgroup)
    if _version(root) == "v2":
        mount, path = root, next((p for names, p in memberships if not names), "/")
    else:
        names, path = next(((n, p) for n, p in memberships if controller in n), ([controller], "/"))
        candidates = [root / ",".join(names), root / controller]
        mount = next((folder for folder in candidates if folder.is_dir()), candidates[-1])
    folder = _deepest(mount, path)
    while True:
        yield folder
        if folder == mount:
            return
        folder = folder.parent


def _deepest(mount: Path, path: str) -> Path:
    parts = [part for part in path.split("/") if part]
    for start in range(len(parts) + 1):
        folder = mount.joinpath(*parts[start:])
        if folder.is_dir():
            return folder
    return mount


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpu_at(folder: Path) -> tuple[float, str] | None:
    if (text := _read(folder / "cpu.max")) is not None:  # v2: "quota period", or "max period"
        quota, _, period = text.partition(" ")
        if quota == "max" or not period:
            return None
        return int(quota) / int(period), f"cpu.max = {text} at {folder}"
    quota_text, period_text = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota_text is None or period_text is None or int(quota_text) < 0:  # v1: -1 is no limit
        return None
    source = f"cpu.cfs_quota_us = {quota_text}, cpu.cfs_period_us = {period_text} at {folder}"
    return int(quota_text) / int(period_text), source


def _memory_at(folder: Path) -> tuple[int, int, str] | None:
    for limit_name, usage_name, cache_key in (
        ("memory.max", "memory.current", "inactive_file"),  # v2
        ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),  # v1, hierarchical
    ):
        limit_text, usage_text = _read(folder / limit_name), _read(folder / usage_name)
        if limit_text is None or usage_text is None:
            continue
        if limit_text == "max" or int(limit_text) >= UNLIMITED:
            return None
        cache = _stat(folder / "memory.stat", cache_key)
        used = max(int(usage_text) - cache, 0)
        source = f"{limit_name} = {limit_text}, {usage_name} = {usage_text} less {cache_key} {cache} at {folder}"
        return int(limit_text), used, source
    return None


def _stat(path: Path, key: str) -> int:
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0
