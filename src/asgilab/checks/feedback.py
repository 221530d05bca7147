"""What a check says: `Criterion` lines, the `Feedback` of a step, and `verdict`."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from asgilab.i18n import _, _f
from asgilab.server import Server, ServerError

__all__ = [
    "Criterion",
    "Feedback",
    "CheckFailed",
    "Hint",
    "verdict",
    "not_started",
    "app_error",
    "logged",
    "stuck_line",
]

_GREEN, _RED = "#1a7f37", "#b42318"


@dataclass
class Criterion:
    """One thing a check asserts, with the measured figure behind it."""

    passed: bool
    what: str  # what was required, e.g. "50 requests served together"
    measured: str  # what we saw, e.g. "effective concurrency 1.0 of 50"
    advice: str = ""  # on failure: the symptom and where to look, never the fix

    def line(self) -> str:
        """``[PASS] what: measured``, with the advice under a failure."""
        mark = "PASS" if self.passed else "FAIL"  # [PASS] and [FAIL] stay as they are in every language
        text = f"[{mark}] " + _f("{what}: {measured}", what=self.what, measured=self.measured)
        if not self.passed and self.advice:
            text += f"\n       -> {self.advice}"
        return text

    def html(self) -> str:
        """The same line as an HTML list item."""
        color, mark = (_GREEN, "PASS") if self.passed else (_RED, "FAIL")
        advice = f"<br><i>{html.escape(self.advice)}</i>" if not self.passed and self.advice else ""
        shown = _f("{what}: {measured}", what=html.escape(self.what), measured=html.escape(self.measured))
        return f"<li><b style='color:{color}'>{mark}</b> {shown}{advice}</li>"


def stuck_line(step: int) -> str:
    """The last line of a failed step's feedback: where the hint ladder and the solution are."""
    return _f(
        "Stuck? check.hint({step}) says where to look, check.hint({step}, level=2) which tool,"
        " check.hint({step}, level=3) the key lines; check.solution({step}) shows the solution.",
        step=step,
    )


@dataclass
class Feedback:
    """The outcome of one check step: its criteria, the runs it measured, and its step number.

    With ``step`` set, a failed feedback ends with the line pointing to ``check.hint(step)``."""

    title: str
    criteria: list[Criterion] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)
    step: int | None = None

    @property
    def passed(self) -> bool:
        """Every criterion held (and there was at least one)."""
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    def _footer(self) -> list[str]:
        return [stuck_line(self.step)] if self.step is not None and not self.passed else []

    def __str__(self) -> str:
        head = _f("{title}: {verdict}", title=self.title, verdict=self._verdict())
        return "\n".join([head, *(c.line() for c in self.criteria), *self._footer()])

    __repr__ = __str__

    def _verdict(self) -> str:
        return _("passed") if self.passed else _("not yet")

    def _repr_html_(self) -> str:
        color = _GREEN if self.passed else _RED
        items = "".join(c.html() for c in self.criteria)
        footer = "".join(f"<p>{html.escape(line)}</p>" for line in self._footer())
        title = _f("{title}: {verdict}", title=html.escape(self.title), verdict=html.escape(self._verdict()))
        return f"<div><b style='color:{color}'>{title}</b><ul>{items}</ul>{footer}</div>"


class CheckFailed(AssertionError):
    """A check step did not pass. Carries the `Feedback`; Jupyter shows only its message."""

    def __init__(self, feedback: Feedback) -> None:
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
    """A hint's (or a solution's) text; shown as plain text (no quotes) when a cell displays it."""

    def __repr__(self) -> str:
        return str(self)


def not_started(app: str, exc: ServerError) -> Criterion:
    """A failed criterion for a learner's app that would not start, with the server's last lines."""
    lines = str(exc).splitlines()
    tail = [line for line in lines[2:] if line.strip()][-6:]
    return Criterion(
        False,
        _f("the app {app} starts", app=repr(app)),
        "\n".join([lines[0], *tail]),
        _(
            "the server could not import or start your module: read its last lines above (a typo? a"
            " missing import? an exception in the lifespan? did you run the %%writefile cell?)"
        ),
    )


_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit)\b.*")


def app_error(server: Server | str) -> str:
    """The last exception line a server (or its logs) shows, e.g. 'NotImplementedError: your code here', or ''."""
    logs = server if isinstance(server, str) else server.logs()
    for line in reversed(logs.splitlines()):
        if _EXCEPTION_LINE.match(line.strip()):
            return line.strip()
    return ""


def logged(measured: str, logs: str) -> str:
    """``measured``, plus the last exception line in ``logs`` when there is one."""
    error = app_error(logs)
    return _f("{measured}; the server logged: {error}", measured=measured, error=error) if error else measured
