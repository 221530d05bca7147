"""``python -m asgilab doctor --collect results/``: the room at a glance, from each machine's ``--json``.

A table with a row per machine, those with a problem first (which checks failed, its cores, memory
available and where that figure came from, its container's CPU and memory limits, whether a proxy is
set and loopback bypasses it, the course version, when it ran), then each failing check with the machines that fail it, what each said, and the fix. Runs no check itself.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KIND = "asgilab doctor"
COLUMNS = ("machine", "result", "failed", "cores", "memory free", "limits", "proxy", "course", "when (UTC)")
ORDER = {"FAIL": 0, "UNREADABLE": 1, "ok": 2}  # the machines that need a helper first


@dataclass
class Machine:
    path: Path
    name: str
    report: dict[str, Any] | None  # None: the file is not a doctor report
    unreadable: str = ""  # why
    failures: list[dict[str, Any]] = field(default_factory=list)

    def figures(self, check: str) -> dict[str, Any]:
        checks = (self.report or {}).get("checks", [])
        return next((c.get("figures") or {} for c in checks if c.get("name") == check), {})


def report_paths(arguments: list[str]) -> list[Path]:
    """Files as given, and the ``*.json`` files in folders. A path that is not there is bad input."""
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            inside = sorted(path.glob("*.json"))
            if not inside:
                raise ValueError(f"no .json files in {argument}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"no such file or folder: {argument}")
    return found


def read(path: Path) -> Machine:
    """One machine's report. Text before the JSON (a login banner in an ssh capture) is skipped."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return Machine(path, path.stem, None, f"cannot read it ({exc.strerror or exc})")
    if "{" not in text:
        return Machine(path, path.stem, None, "no JSON in it" if text.strip() else "empty")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[text.index("{") :])
    except ValueError as exc:
        return Machine(path, path.stem, None, f"not JSON ({exc})")
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return Machine(path, path.stem, None, "not an `asgilab doctor --json` report")
    failures = [c for c in data.get("checks", []) if isinstance(c, dict) and not c.get("ok")]
    return Machine(path, str(data.get("hostname") or path.stem), data, failures=failures)


def room(arguments: list[str]) -> tuple[str, int]:
    """The room's table and the exit status: 0 when every machine is all good, 1 otherwise."""
    machines = [read(path) for path in report_paths(arguments)]
    names = Counter(m.name for m in machines)
    for machine in machines:  # hub pods or cloned VMs may share a host name: tell them apart by file
        if names[machine.name] > 1:
            machine.name = f"{machine.name} ({machine.path.name})"
    rows = sorted((_row(m) for m in machines), key=lambda row: (ORDER[row[1]], row[0]))
    lines = [_table(rows), "", _footer(machines)]
    lines += _by_check(machines)
    status = 0 if all(m.report is not None and not m.failures for m in machines) else 1
    return "\n".join(lines), status


def _row(m: Machine) -> list[str]:
    if m.report is None:
        return [m.name, "UNREADABLE", m.unreadable, "", "", "", "", "", ""]
    machine, limits = m.figures("this machine"), m.figures("container limits")
    failed = [str(c.get("name")) for c in m.failures]
    memory = machine.get("memory_available_mib")
    return [
        m.name,
        "FAIL" if m.failures else "ok",
        ", ".join(failed),
        str(machine.get("cores", "?")),
        f"{memory / 1024:.1f} GiB {machine.get('memory_source', '')}".strip() if memory is not None else "?",
        _limits(limits),
        "THROUGH" if "proxy" in failed else ("bypassed" if m.figures("proxy").get("set") else "none"),
        str(m.report.get("course_version", "?")),
        str(m.report.get("when", "?"))[5:16].replace("T", " "),
    ]


def _limits(figures: dict[str, Any]) -> str:
    if not figures:
        return "?"
    if figures.get("cgroup") is None:
        return "no cgroups"
    parts = []
    if figures.get("cpu_limit_cores") is not None:
        parts.append(f"CPU {figures['cpu_limit_cores']:g}")
    if figures.get("limited") and figures.get("memory_limit_mib") is not None:
        parts.append(f"{figures['memory_limit_mib'] / 1024:.1f} GiB")
    return ", ".join(parts) or "none"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [list(COLUMNS), *rows]
    ]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])


def _footer(machines: list[Machine]) -> str:
    read_ok = [m for m in machines if m.report is not None]
    good = sum(not m.failures for m in read_ok)
    line = f"{len(machines)} report(s): {good} all good, {len(read_ok) - good} with problems"
    line += f", {len(machines) - len(read_ok)} unreadable"
    versions = Counter(str(m.report.get("course_version")) for m in read_ok if m.report is not None)
    if len(versions) > 1:
        counts = ", ".join(f"{version} on {count}" for version, count in versions.most_common())
        line += f"\ncourse versions differ ({counts}): update the odd ones (git pull, then make install)"
    return line


def _by_check(machines: list[Machine]) -> list[str]:
    """Each failing check, most common first: the machines, what each said, and the fix(es)."""
    failing: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for machine in machines:
        for check in machine.failures:
            failing.setdefault(str(check.get("name")), []).append((machine.name, check))
    lines = []
    for name, cases in sorted(failing.items(), key=lambda item: -len(item[1])):
        lines += ["", f"{name}: fails on {len(cases)} of {len(machines)}"]
        width = max(len(machine) for machine, _ in cases)
        lines += [f"  {machine.ljust(width)}  {check.get('detail', '')}" for machine, check in cases]
        fixes = list(dict.fromkeys(str(check.get("fix")) for _, check in cases if check.get("fix")))
        lines += [f"  fix: {fix}" for fix in fixes]
    return lines
