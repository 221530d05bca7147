"""Solution markers in a solution cell, and the cell as a learner sees it (one parser for
``scripts/make_labs.py`` and ``check.solution``).

    # BEGIN PROMPT          <- optional: these lines, without their leading "# ",
    # time.sleep(0.1)          are what the starter gets instead of the solution
    # END PROMPT
    # BEGIN SOLUTION step 2 <- solves step 2 ("steps 1-2": both); plain "# BEGIN SOLUTION": every step
    await asyncio.sleep(0.1)
    # END SOLUTION

A solution with no prompt just before it becomes ``raise NotImplementedError("your code here")``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["MARKER", "render", "starter_source", "steps_in"]

MARKER = re.compile(r"^(\s*)# (BEGIN|END) (SOLUTION|PROMPT)(?: steps? (\d+)(?:-(\d+))?)?\s*$")
Solved = Callable[[int | None], bool]


def _uncomment(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    return indent + (stripped[2:] if stripped.startswith("# ") else stripped.lstrip("#"))


def _marker(line: str, source: str) -> tuple[str, str, str, range | None] | None:
    """(indent, BEGIN|END, SOLUTION|PROMPT, the steps a BEGIN SOLUTION names or None), or None."""
    match = MARKER.match(line)
    if match is None:
        return None
    indent, edge, kind, first, last = match.groups()
    if first is not None and (edge, kind) != ("BEGIN", "SOLUTION"):
        raise ValueError(f"only BEGIN SOLUTION takes step numbers: {line.strip()!r} in:\n{source}")
    steps = range(int(first), int(last or first) + 1) if first else None
    if steps is not None and not steps:
        raise ValueError(f"empty step range: {line.strip()!r} in:\n{source}")
    return indent, edge, kind, steps


def render(source: str, solved: Solved = lambda step: False) -> str:
    """The cell with its markers removed: a SOLUTION block is kept (without its prompt) when
    ``solved(its first step)`` (None: a plain block); otherwise its prompt, or ``raise NotImplementedError``."""
    out: list[str] = []
    held: list[tuple[bool, str]] = []  # a prompt's lines (True) and blank lines after it, until we know its block
    mode, keep = None, False  # mode: None, "PROMPT" or "SOLUTION"
    for line in source.split("\n"):
        marker = _marker(line, source)
        if marker is None:
            if mode == "SOLUTION":
                out += [line] if keep else []
            elif mode == "PROMPT":
                held.append((True, _uncomment(line)))
            elif held and not line.strip():
                held.append((False, line))
            else:
                out += [text for _, text in held] + [line]
                held = []
            continue
        indent, edge, kind, step = marker
        if edge == "END":
            if mode != kind:
                raise ValueError(f"END {kind} without BEGIN in:\n{source}")
            mode = None
            continue
        if mode is not None:
            raise ValueError(f"nested {kind} block in:\n{source}")
        mode = kind
        if kind == "PROMPT":
            out += [text for _, text in held]
            held = []
            continue
        keep, prompted = solved(step[0] if step else None), any(is_prompt for is_prompt, _ in held)
        out += [text for is_prompt, text in held if not (keep and is_prompt)]
        out += [] if keep or prompted else [f'{indent}raise NotImplementedError("your code here")']
        held = []
    if mode is not None:
        raise ValueError(f"unclosed {mode} block in:\n{source}")
    return "\n".join(out + [text for _, text in held])


def starter_source(source: str) -> str:
    """The starter version of one cell's source: every solution replaced."""
    return render(source)


def steps_in(source: str) -> set[int | None]:
    """The steps a cell's SOLUTION blocks solve (``None`` for a plain block: every step)."""
    found: set[int | None] = set()
    for line in source.split("\n"):
        marker = _marker(line, source)
        if marker is not None and marker[1:3] == ("BEGIN", "SOLUTION"):
            found.update(marker[3] or [None])
    return found
