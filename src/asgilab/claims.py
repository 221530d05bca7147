"""How a lesson states what it measured: ``expect(condition, claim, measured=...)``.

    expect(slow.wall_s >= 5 * fast.wall_s, "blocking is at least 5x slower", measured=[fast, slow])

A claim that holds prints one line: ``✓ claim — measured``. A claim that does not hold is shown to a
learner as a marked box (what was expected, what was measured, the likely causes, what to do) and the
notebook goes on; under the test runner (``ASGILAB_STRICT=1``, set by ``make test``, ``.ci/run`` and
the tests) it raises `ClaimFailed` with the same text, so CI fails with the figures.
"""

from __future__ import annotations

import html
import os
import sys
from typing import Any

from asgilab.i18n import N_, _, _f

__all__ = ["ClaimFailed", "Held", "STRICT_ENV", "expect", "strict"]

STRICT_ENV = "ASGILAB_STRICT"
LIKELY_CAUSES = N_(
    "other programs kept this machine's cores busy during the measurement (a browser tab, a build,"
    " another notebook), or it has fewer cores than the lesson assumes (2)"
)
WHAT_TO_DO = N_(
    "re-run this cell once; if the claim fails again, close other programs and run"
    " `python -m asgilab doctor`. The notebook goes on either way: the figures above are this run's."
)


class ClaimFailed(AssertionError):
    """A lesson's claim did not hold while running strict (CI). The message carries the figures."""


def strict() -> bool:
    """True under the test runner: a failed claim raises instead of explaining itself."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("", "0", "false", "no")


class Held:
    """Whether a claim held: true or false like a bool, and silent as a cell's last value (the line
    or box `expect` printed already said it)."""

    def __init__(self, held: bool) -> None:
        self.held = held

    def __bool__(self) -> bool:
        return self.held

    def __repr__(self) -> str:
        return repr(self.held)

    def _ipython_display_(self) -> None:
        pass


def expect(condition: object, claim: str, *, measured: Any = None, hint: str | None = None) -> Held:
    """State ``claim``; return whether it held (`Held`, usable as a bool).

    - ``measured``: what the claim rests on (a figure, a `Run`, a list of runs), shown either way.
    - ``hint``: the likely cause when it fails, if the lesson knows a better one than a busy machine.
    """
    figures = "" if measured is None else _shown(measured)
    if condition:
        print(f"✓ {claim}" + (f" — {figures}" if figures else ""))
        return Held(True)
    box = _Failed(claim, figures, hint or _(LIKELY_CAUSES))
    if strict():
        raise ClaimFailed(str(box))
    _display(box)
    return Held(False)


def _shown(measured: Any) -> str:
    if isinstance(measured, list | tuple) and len(measured) > 1:
        return "; ".join(str(item) for item in measured)
    if isinstance(measured, list | tuple) and measured:
        return str(measured[0])
    return str(measured)


class _Failed:
    def __init__(self, claim: str, figures: str, causes: str) -> None:
        self.claim, self.figures, self.causes = claim, figures, causes

    def _rows(self) -> list[tuple[str, str]]:
        rows = [(_("expected"), self.claim)]
        if self.figures:
            rows.append((_("measured"), self.figures))
        return [*rows, (_("likely cause"), self.causes), (_("what to do"), _(WHAT_TO_DO))]

    def __str__(self) -> str:
        rows = ["  " + _f("{name}: {text}", name=name, text=text) for name, text in self._rows()]  # a label, its text
        return "\n".join(["✗ " + _("NOT AS EXPECTED"), *rows])

    __repr__ = __str__  # a text front end (a terminal IPython) shows this

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em;vertical-align:top'>{name}</th>"
            f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
            for name, text in self._rows()
        )
        return (
            "<div class='asgilab-claim-failed' style='border:2px solid #d9822b;background:#fff6ec;"
            "padding:0.5em 1em;margin:0.3em 0'><b>✗ " + html.escape(_("Not as expected")) + "</b>"
            f"<table style='margin:0'>{rows}</table></div>"
        )


def _display(box: _Failed) -> None:
    if "IPython" in sys.modules:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(box)  # type: ignore[no-untyped-call]  # IPython's display() has no annotations
            return
    print(box, file=sys.stderr)
