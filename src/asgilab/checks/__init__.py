"""Lab checks: serve the learner's app live, measure it, and say what passed and what to look at.

A lab's checks live in ``asgilab.checks.labNN`` as plain functions ``step1(app=..., app_dir=...)``.
Each returns a `Feedback` when every criterion holds and raises `CheckFailed` otherwise; in Jupyter
the failure shows as its teaching message, not as a traceback. Criteria are ratios with generous
bounds, so they pass on a slow laptop and still fail on the starter code.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from asgilab.server import Server, ServerError

__all__ = [
    "Criterion",
    "Feedback",
    "CheckFailed",
    "Hint",
    "verdict",
    "hints",
    "not_started",
    "app_error",
]


@dataclass
class Criterion:
    """One thing a check asserts, with the measured figure behind it."""

    passed: bool
    what: str  # what was required, e.g. "50 requests served together"
    measured: str  # what we saw, e.g. "effective concurrency 1.0 of 50"
    advice: str = ""  # what to look at when it fails

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        text = f"[{mark}] {self.what}: {self.measured}"
        if not self.passed and self.advice:
            text += f"\n       -> {self.advice}"
        return text


@dataclass
class Feedback:
    """The outcome of one check step: its criteria, and the runs it measured."""

    title: str
    criteria: list[Criterion] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    def __str__(self) -> str:
        head = f"{self.title}: {'passed' if self.passed else 'not yet'}"
        return "\n".join([head, *(c.line() for c in self.criteria)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.passed else "#b42318"
        items = "".join(
            f"<li><b style='color:{'#1a7f37' if c.passed else '#b42318'}'>{'PASS' if c.passed else 'FAIL'}</b> "
            f"{html.escape(c.what)}: {html.escape(c.measured)}"
            + (f"<br><i>{html.escape(c.advice)}</i>" if not c.passed and c.advice else "")
            + "</li>"
            for c in self.criteria
        )
        verdict_text = "passed" if self.passed else "not yet"
        return f"<div><b style='color:{color}'>{html.escape(self.title)}: {verdict_text}</b><ul>{items}</ul></div>"


class CheckFailed(AssertionError):
    """A check step did not pass. Carries the `Feedback`; Jupyter shows only its message."""

    def __init__(self, feedback: Feedback):
        super().__init__(str(feedback))
        self.feedback = feedback

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return ["\033[31m" + line + "\033[0m" if "[FAIL]" in line else line for line in str(self.feedback).splitlines()]


def verdict(feedback: Feedback) -> Feedback:
    """Return the feedback when it passed, raise `CheckFailed` when it did not."""
    if not feedback.passed:
        raise CheckFailed(feedback)
    return feedback


class Hint(str):
    """A hint's text; shown as plain text (no quotes) when a cell displays it."""

    def __repr__(self) -> str:
        return str(self)


def hints(table: dict[int, str], step: int) -> Hint:
    """The hint for ``step`` from a lab's table of hints, or a clear error for an unknown step."""
    if step not in table:
        raise ValueError(f"there is no step {step}; steps with hints: {sorted(table)}")
    return Hint(table[step])


def not_started(app: str, exc: ServerError) -> Criterion:
    """A failed criterion for a learner's app that would not start, with the server's last lines."""
    lines = str(exc).splitlines()
    tail = [line for line in lines[2:] if line.strip()][-6:]
    return Criterion(
        False,
        f"the app {app!r} starts",
        "\n".join([lines[0], *tail]),
        "the server could not import or start your module: read its last lines above (a typo? a"
        " missing import? an exception in the lifespan? did you run the %%writefile cell?)",
    )


_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit)\b.*")


def app_error(server: Server) -> str:
    """The last exception line the server logged (e.g. 'NotImplementedError: your code here'), or ''."""
    for line in reversed(server.logs().splitlines()):
        if _EXCEPTION_LINE.match(line.strip()):
            return line.strip()
    return ""
