"""The translatable units of a notebook, and the notebook rebuilt with their translations.

A markdown cell is cut into units a translator can handle: each heading, paragraph, list item, table row
and blockquote paragraph (its code spans, links and math stay inside it), and each preformatted block
(a fence with no language, such as a diagram) as a whole. A code cell gives its comments only, where
translating them cannot change what the code does: comments in a cell that is not a cell magic (so
``%%writefile`` cells stay byte-identical), never a directive (``# noqa``, ``# type:``, ``# fmt:``), a solution
marker, or a line inside a ``# BEGIN PROMPT`` block (those lines become the starter's code). A run of
whole-line comments is one unit; a comment after code is one unit that stays on its line. Python
fences in markdown give their comments the same way. Docstrings and strings are code: never translated.

    units = cell_units(cell)                      # [Unit(text="...", kind="paragraph", ...), ...]
    source = rebuilt(cell, {unit.text: "..."}.get)  # a unit without a translation keeps its English lines

Used by ``scripts/translate.py``; the English is the source, so a cell with no translation is rebuilt
byte for byte.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from asgilab.checks.markers import MARKER

__all__ = ["Unit", "cell_units", "code_units", "markdown_units", "rebuilt"]

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
HEADING = re.compile(r"^(\s{0,3}#{1,6}\s+)(.*?)\s*$")
ITEM = re.compile(r"^(\s*(?:[-*+]|\d{1,9}[.)])\s+)(?=\S)")
QUOTE = re.compile(r"^\s{0,3}>\s?")
TABLE = re.compile(r"^\s*\|")
DELIMITER = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?$")
RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
PREFORMATTED = ("", "text", "txt")  # fence languages whose block is prose laid out by hand
PYTHON = ("python", "py", "python3", "ipython", "ipython3")
DIRECTIVE = re.compile(r"^(noqa|type:|fmt:|pragma|pylint:|mypy:|ruff:|isort:|nosec|-\*-|!)", re.IGNORECASE)
LETTER = re.compile(r"[^\W\d_]")

KINDS = {  # what a translator is told about each kind of unit (the catalog's "#." comment)
    "heading": "heading",
    "paragraph": "paragraph",
    "list item": "list item",
    "table row": "table row: keep its | separators, one cell between each",
    "preformatted": "preformatted block: keep its line breaks; align it as it reads best",
    "comment": "code comment: each line of the translation becomes a comment line",
    "end comment": "code comment after code on its line: one line only",
}


@dataclass(frozen=True)
class Unit:
    """One translatable piece of a cell: ``text`` (the catalog's msgid) from line ``start`` to ``end``
    (exclusive) of the cell's source. A translation is written as ``first`` + its first line, and
    ``rest`` + each further line (``rest`` None: the translation must fit on one line)."""

    text: str
    kind: str
    start: int
    end: int
    first: str
    rest: str | None

    def lines(self, translation: str) -> list[str]:
        """The source lines that replace this unit's English."""
        parts = translation.split("\n")
        if self.rest is None:
            return [self.first + " ".join(part.strip() for part in parts)]
        return [self.first + parts[0]] + [(self.rest + part) if part else self.rest.rstrip() for part in parts[1:]]


def _starts_block(line: str) -> bool:
    return any(p.match(line) for p in (FENCE, HEADING, ITEM, QUOTE, TABLE, RULE))


def _fence_end(lines: list[str], start: int, fence: str) -> int:
    """The index of the line closing the fence opened at ``start`` (or the end: an unclosed fence)."""
    for index in range(start + 1, len(lines)):
        if lines[index].strip().startswith(fence[0] * len(fence)) and not lines[index].strip().strip(fence[0]):
            return index
    return len(lines)


def _fenced(lines: list[str], start: int, language: str) -> list[Unit]:
    """A preformatted block as one unit; a Python block's comments; nothing for other languages."""
    if language.lower() in PREFORMATTED and LETTER.search("".join(lines)):
        return [Unit("\n".join(lines), "preformatted", start, start + len(lines), "", "")]
    if language.lower() in PYTHON:
        return [replace(u, start=u.start + start, end=u.end + start) for u in code_units("\n".join(lines))]
    return []


def _paragraph(lines: list[str], index: int) -> Unit:
    """The paragraph or list item that starts at ``index``: its lines up to a blank line or a new block."""
    item = ITEM.match(lines[index])
    first = item.group(1) if item else lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    end = index + 1
    while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
        end += 1
    text = " ".join([lines[index][len(first) :].strip()] + [line.strip() for line in lines[index + 1 : end]])
    return Unit(text, "list item" if item else "paragraph", index, end, first, " " * len(first) if item else first)


def markdown_units(lines: list[str]) -> Iterator[Unit]:
    """The units of markdown ``lines``, in order."""
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or RULE.match(line):
            index += 1
        elif fence := FENCE.match(line):
            end = _fence_end(lines, index, fence.group(2))
            yield from _fenced(lines[index + 1 : end], index + 1, fence.group(3))
            index = end + 1
        elif QUOTE.match(line):
            end = index
            while end < len(lines) and QUOTE.match(lines[end]):
                end += 1
            inner = [QUOTE.sub("", text, count=1) for text in lines[index:end]]
            for unit in markdown_units(inner):
                rest = None if unit.rest is None else "> " + unit.rest
                yield replace(unit, start=unit.start + index, end=unit.end + index, first="> " + unit.first, rest=rest)
            index = end
        elif heading := HEADING.match(line):
            yield Unit(heading.group(2), "heading", index, index + 1, heading.group(1), None)
            index += 1
        elif TABLE.match(line):
            if not DELIMITER.match(line):
                yield Unit(line.strip(), "table row", index, index + 1, line[: len(line) - len(line.lstrip())], None)
            index += 1
        else:
            unit = _paragraph(lines, index)
            yield unit
            index = unit.end


def _comments(source: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of each comment token; magics and shell lines are masked; [] if it does not tokenize."""
    masked = "\n".join(" " * len(line) if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(masked + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return [(t.start[0] - 1, t.start[1], t.string) for t in tokens if t.type == tokenize.COMMENT]


def _translatable(comments: list[tuple[int, int, str]]) -> Iterator[tuple[int, int, str, str]]:
    """(line, column, marker such as "# ", body) of each comment a translator may change."""
    in_prompt = False
    for row, col, text in comments:
        marker = MARKER.match(text)
        if marker:
            in_prompt = marker.group(3) == "PROMPT" and marker.group(2) == "BEGIN"
            continue
        lead = re.match(r"#+\s*", text)
        body = text[lead.end() :].rstrip() if lead else text
        if not in_prompt and LETTER.search(body) and not DIRECTIVE.match(body) and not body.startswith("%%"):
            yield row, col, text[: lead.end()] if lead else "#", body


def code_units(source: str) -> list[Unit]:
    """The comment units of Python ``source``: runs of whole-line comments, and comments after code."""
    lines, units = source.split("\n"), []
    for row, col, marker, body in _translatable(_comments(source)):
        code = lines[row][:col]
        if code.strip():
            units.append(Unit(body, "end comment", row, row + 1, code + marker, None))
            continue
        last = units[-1] if units else None
        if last and last.kind == "comment" and last.end == row and last.first == code + marker:
            units[-1] = replace(last, text=f"{last.text} {body}", end=row + 1)
        else:
            units.append(Unit(body, "comment", row, row + 1, code + marker, code + marker))
    return units


def is_cell_magic(source: str) -> bool:
    """A cell run by a cell magic (``%%writefile``, ``%%script``, ...): its text is not Python to translate."""
    return source.lstrip().startswith("%%")


def cell_units(cell_type: str, source: str) -> list[Unit]:
    """The units of one cell (markdown prose; comments of a code cell that is not a cell magic)."""
    if cell_type == "markdown":
        return list(markdown_units(source.split("\n")))
    if cell_type == "code" and not is_cell_magic(source):
        return code_units(source)
    return []


def rebuilt(source: str, units: list[Unit], translation: Callable[[Unit], str | None]) -> str:
    """``source`` with each unit that has a translation replaced by it; the rest byte for byte."""
    lines, out, done = source.split("\n"), [], 0
    for unit in sorted(units, key=lambda u: u.start):
        out += lines[done : unit.start]
        text = translation(unit)
        out += lines[unit.start : unit.end] if text is None else unit.lines(text)
        done = unit.end
    return "\n".join(out + lines[done:])
