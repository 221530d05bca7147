"""Run the checks, one after the other, and keep what each found: the report `render` shows."""

from __future__ import annotations

import platform
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["SCHEMA_VERSION", "CheckResult", "Finding", "Problem", "Report", "Step", "run_checks"]

SCHEMA_VERSION = 1  # of `Report.to_dict`: raise it when a key changes meaning or goes away


@dataclass
class Finding:
    """What a check found when it passed: one line for people, figures for tools."""

    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # printed as ``note  ...`` lines; never a failure


class Problem(Exception):
    """A check failed with a finding of its own (not a crash): its figures, and a fix when the
    step's usual one does not fit."""

    def __init__(self, detail: str, figures: dict[str, Any] | None = None, fix: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.figures, self.fix = detail, figures or {}, fix


@dataclass(frozen=True)
class Step:
    name: str
    fix: str  # what to do when it fails
    run: Callable[[], Finding]


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str | None
    figures: dict[str, Any]
    notes: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
            "figures": self.figures,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Report:
    checks: list[CheckResult]
    notes: list[str]
    when: datetime
    seconds: float
    hostname: str = field(default_factory=socket.gethostname)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0

    def figures(self, name: str) -> dict[str, Any]:
        """The figures of the check called ``name`` (empty when there is none)."""
        return next((check.figures for check in self.checks if check.name == name), {})

    def to_dict(self, summary: str) -> dict[str, Any]:
        from asgilab import __version__

        return {
            "kind": "asgilab doctor",
            "schema_version": SCHEMA_VERSION,
            "hostname": self.hostname,
            "when": self.when.isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "course_version": __version__,
            "checks": [check.to_dict() for check in self.checks],
            "notes": self.notes,
            "summary": {
                "ok": not self.failed,
                "problems": len(self.failed),
                "failed": self.failed,
                "checks": len(self.checks),
                "seconds": round(self.seconds, 1),
                "line": summary,
            },
            "exit_status": self.exit_status,
        }


def run_checks(
    steps: Sequence[Step], notes: Sequence[Callable[[], str]] = (), on_result: Callable[[CheckResult], None] = print
) -> Report:
    """Run each step in turn (``on_result`` sees each result as it comes: text mode prints it), then
    the ``notes`` (each returns a sentence)."""
    when, start = datetime.now(UTC), time.perf_counter()
    results = []
    for step in steps:
        result = run_step(step)
        on_result(result)
        results.append(result)
    all_notes = [note for result in results for note in result.notes] + [note() for note in notes]
    return Report(results, all_notes, when, time.perf_counter() - start)


def run_step(step: Step) -> CheckResult:
    """One check, timed: a `Finding` passes; a `Problem` or any other exception fails, with its fix."""
    start = time.perf_counter()
    try:
        found = step.run()
    except Problem as problem:
        took = time.perf_counter() - start
        return CheckResult(step.name, False, problem.detail, problem.fix or step.fix, problem.figures, [], took)
    except Exception as exc:
        lines = str(exc).splitlines()
        detail = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        return CheckResult(step.name, False, detail, step.fix, {}, [], time.perf_counter() - start)
    took = time.perf_counter() - start
    return CheckResult(step.name, True, found.detail, None, found.figures, found.notes, took)
