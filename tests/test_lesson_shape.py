"""The shape every lesson keeps (COURSE_STYLE.md): claims through expect(), no bare assert, and the
size bounds a newcomer can finish: at most 1,600 words of prose and 250 lines of code per lesson, no
code cell over 30 lines in lessons, labs and solutions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import LABS, NOTEBOOKS, SOLUTIONS

LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
EVERY_NOTEBOOK = LESSONS + sorted(LABS.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*.ipynb"))
MAX_WORDS, MAX_CODE_LINES, MAX_CELL_LINES = 1600, 250, 30
FENCED = re.compile(r"```.*?```", re.S)
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def cells(path: Path, kind: str) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == kind]


def prose_words(path: Path) -> int:
    """Words of the markdown cells, without fenced code and link targets (URLs)."""
    return sum(len(LINK_TARGET.sub("]", FENCED.sub("", source)).split()) for source in cells(path, "markdown"))


def test_prose_words_skip_code_and_urls(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("Two words [and a link](https://example.org/a/b)\n```\nx = 1\n```")]
    )
    nbformat.write(notebook, tmp_path / "n.ipynb")
    assert prose_words(tmp_path / "n.ipynb") == 5


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_a_lesson_states_its_claims_with_expect(path: Path) -> None:
    bare = [s.splitlines()[0] for s in cells(path, "code") if re.search(r"^\s*assert\b", s, re.M)]
    assert not bare, f"{path.name}: use expect(...) instead of assert, in cells starting {bare}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_a_lesson_fits_its_bounds(path: Path) -> None:
    words = prose_words(path)
    code_lines = sum(len(source.splitlines()) for source in cells(path, "code"))
    assert words <= MAX_WORDS, f"{path.name}: {words} words of prose, at most {MAX_WORDS}: split or cut it"
    assert code_lines <= MAX_CODE_LINES, f"{path.name}: {code_lines} lines of code, at most {MAX_CODE_LINES}"


@pytest.mark.parametrize("path", EVERY_NOTEBOOK, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_code_cell_is_over_30_lines(path: Path) -> None:
    long = {s.splitlines()[0]: len(s.splitlines()) for s in cells(path, "code") if len(s.splitlines()) > MAX_CELL_LINES}
    assert not long, f"{path.name}: cells over {MAX_CELL_LINES} lines (first line: count): {long}"
