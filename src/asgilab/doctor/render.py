"""Show a report: OK/FAIL lines for a learner, one summary line for a room, JSON for the collector."""

from __future__ import annotations

import json
from typing import Any

from asgilab.doctor.report import CheckResult, Report


def result_lines(result: CheckResult) -> str:
    """``OK    name: detail``, or ``FAIL  name: detail`` and a ``      fix: ...`` line below it."""
    if result.ok:
        return f"OK    {result.name}: {result.detail}"
    return f"FAIL  {result.name}: {result.detail}\n      fix: {result.fix}"


def ending(report: Report) -> str:
    """The ``note`` lines, then ``all good`` or ``N problem(s) found``."""
    lines = [f"note  {note}" for note in report.notes]
    lines.append(f"{len(report.failed)} problem(s) found" if report.failed else "all good")
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    """One line for a room: ``host: all good (8 checks, 4.1 s); 2 cores, 22.7 GiB available (host), ...``."""
    from asgilab import __version__

    if report.failed:
        verdict = f"{len(report.failed)} problem(s) ({', '.join(report.failed)})"
    else:
        verdict = f"all good ({len(report.checks)} checks, {report.seconds:.1f} s)"
    facts = [
        *machine_facts(report.figures("this machine")),
        container_fact(report.figures("container limits")),
        proxy_fact(report.figures("proxy"), "proxy" in report.failed),
        f"course {__version__}",
    ]
    return f"{report.hostname}: {verdict}; {', '.join(fact for fact in facts if fact)}"


def machine_facts(figures: dict[str, Any]) -> list[str]:
    if "cores" not in figures:
        return []
    free = figures["memory_available_mib"] / 1024
    return [f"{figures['cores']} core(s)", f"{free:.1f} GiB available ({figures['memory_source']})"]


def container_fact(figures: dict[str, Any]) -> str:
    if not figures:
        return ""
    if figures.get("cgroup") is None:
        return "no cgroups"
    if not figures.get("limited"):
        return "container without limits" if figures.get("container") else "no container limits"
    parts = []
    if figures.get("cpu_limit_cores") is not None:
        parts.append(f"CPU {figures['cpu_limit_cores']:g}")
    if figures.get("memory_limit_mib") is not None:
        parts.append(f"memory {figures['memory_limit_mib'] / 1024:.1f} GiB")
    return f"limited container ({', '.join(parts)})"


def proxy_fact(figures: dict[str, Any], failed: bool) -> str:
    if failed:
        return "LOOPBACK GOES THROUGH THE PROXY"
    if not figures:
        return ""
    return "proxy set, loopback bypasses it" if figures.get("set") else "no proxy"


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(summary_line(report)), indent=2)
