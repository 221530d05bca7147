"""Build the course website: a static HTML book in build/site/ that opens and searches offline.

    python scripts/build_site.py               # render, executing any lesson that has no executed copy
    python scripts/build_site.py --no-execute  # render what exists; a missing executed copy is an error
    python scripts/build_site.py --unexecuted  # a quick look: a lesson with no executed copy shows no outputs
    python scripts/build_site.py --out DIR     # somewhere else than build/site/
    python scripts/build_site.py --executed DIR  # executed copies from elsewhere than build/executed/notebooks/

Pages: the syllabus (README.md's intro and course table) as index.html, every lesson and appendix in
notebooks/ with the outputs of an executed run (the copies the notebook tests keep in
build/executed/notebooks/), and every lab in labs/ as a starter, without outputs. Never solutions/.
The pages are staged as a Sphinx project in build/site-work/ (kept, so that a second build only
redoes what changed) and built with Sphinx, myst-nb and sphinx-book-theme (site/conf.py says why).

The zh-TW edition (zh-TW/, written by scripts/translate.py) is a second book in build/site/zh-TW/, from
README.zh-TW.md and the edition's notebooks; its lessons show the English run's outputs, cell by cell id
(the code is the English's, comments aside: the edition is not executed a second time). Every page of
either book starts with a link to the same page in the other (or to its home page when it has none).
"""

from __future__ import annotations

import argparse
import io
import os
import posixpath
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS, LABS = ROOT / "notebooks", ROOT / "labs"
EXECUTED = ROOT / "build" / "executed" / "notebooks"
DEFAULT_OUT = ROOT / "build" / "site"
CONF = ROOT / "site"
HOME, HOME_SOURCE = "index.html", "index.md"
CELL_TIMEOUT_S = 240
LANGUAGE_CELL = "asgilab-language"  # the id of the cell that sets an edition's language (scripts/translate.py)
# Pages of the repository that are not in the book: links to them go to the home page.
TO_HOME = ("README.md", "CONTRIBUTING.md")
CLAIM_FAILED = ("NOT AS EXPECTED", "asgilab-claim-failed")
TOC_CAPTIONS = {"lesson": "Lessons and labs", "lab": "Lessons and labs", "appendix": "Appendices"}
# A Markdown link (not an image) whose text may hold `code`, and a fenced code block (left as it is).
MD_LINK = re.compile(r"(?<!!)\[(?P<text>(?:[^\[\]`]|`[^`]*`)*)\]\((?P<href>[^()\s]*)\)")
FENCE = re.compile(r"(?ms)^(```|~~~).*?^\1")


@dataclass(frozen=True)
class Edition:
    """One book of the site: where its notebooks and README are, and where it is written."""

    name: str  # "en", "zh-TW"
    folder: Path  # holds notebooks/ and labs/
    readme: Path
    course_heading: str  # the README section with the course table
    lab_word: str  # how the course table names a lab: "lab 01", "實作 01"
    label: str  # the language's name, in it: the switch to this book says it
    subfolder: str  # where in the site: "" or "zh-TW"
    sphinx: dict[str, str]  # Sphinx settings of its own


ENGLISH = Edition("en", ROOT, ROOT / "README.md", "## The course", "lab", "English", "", {})
ZH_TW = Edition(
    "zh-TW",
    ROOT / "zh-TW",
    ROOT / "README.zh-TW.md",
    "## 課程內容",
    "實作",
    "繁體中文",
    "zh-TW",
    {
        "language": "zh_TW",
        "html_title": "ASGI 與 FastAPI，實際量測",
        "project": "用 ASGI 與 FastAPI 打造高併發 Web 服務",
    },
)
SWITCH_CLASS = "asgilab-language"


@dataclass(frozen=True)
class Page:
    """One page of the book: its source notebook and output file, both relative to the site's root."""

    source: str  # "notebooks/10_scaling_out.ipynb"
    target: str  # "notebooks/10_scaling_out.html"
    title: str
    kind: str  # "lesson", "appendix" or "lab"


def notebook_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first Markdown heading, or ``fallback``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").replace("`", "").strip()
    return fallback


def make_page(path: Path, kind: str, folder: Path = ROOT) -> Page:
    """The `Page` of one notebook in notebooks/ or labs/ (of ``folder``: an edition's)."""
    source = path.relative_to(folder).as_posix()
    title = notebook_title(nbformat.read(path, as_version=4), path.stem)
    return Page(source, source.removesuffix(".ipynb") + ".html", title, kind)


def course_pages(folder: Path = ROOT) -> list[Page]:
    """Every page but the home page, in reading order: each lesson followed by its lab, then the
    appendices, then any lab without a lesson of its number."""
    notebooks, labs_folder = folder / "notebooks", folder / "labs"
    lessons = [make_page(p, "lesson", folder) for p in sorted(notebooks.glob("[0-9]*.ipynb"))]
    appendices = [make_page(p, "appendix", folder) for p in sorted(notebooks.glob("A*.ipynb"))]
    labs = [make_page(p, "lab", folder) for p in sorted(labs_folder.glob("lab*.ipynb"))]
    ordered: list[Page] = []
    for lesson in lessons:
        number = Path(lesson.source).name.split("_")[0]
        ordered += [lesson] + [lab for lab in labs if Path(lab.source).name.startswith(f"lab{number}_")]
    return ordered + appendices + [lab for lab in labs if lab not in ordered]


def relative(from_path: str, to_path: str) -> str:
    """The link from the file ``from_path`` to ``to_path`` (both relative to the site's root)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_path) or ".")


def resolve_link(href: str, source: str, sources: set[str]) -> str | None:
    """Where a link ``href`` written in ``source`` points in the staged book: the same ``href`` when it
    leaves the site, stays on the page or names a page of the book (Sphinx turns a link to a notebook
    into a link to its page), the home page for README.md and CONTRIBUTING.md (from another page), or
    None (no link)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return href
    if parts.path.startswith("/"):
        return None
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(parts.path)))
    if wanted in TO_HOME:  # on the home page itself (README.md), a link to it would go nowhere
        return None if source == "README.md" else relative(source, HOME_SOURCE)
    return href if wanted in sources else None


def rewrite_links(markdown: str, source: str, sources: set[str]) -> str:
    """Point each Markdown link of ``markdown`` (written in ``source``) at the book's pages; a link to a
    file that is not in the book becomes its text. Fenced code blocks stay as they are."""

    def replace(match: re.Match[str]) -> str:
        link = resolve_link(match["href"], source, sources)
        return match["text"] if link is None else f"[{match['text']}]({link})"

    pieces, start = [], 0
    for fence in FENCE.finditer(markdown):
        pieces += [MD_LINK.sub(replace, markdown[start : fence.start()]), fence.group()]
        start = fence.end()
    return "".join(pieces) + MD_LINK.sub(replace, markdown[start:])


def execute_notebook(path: Path) -> nbformat.NotebookNode:
    """Execute a lesson in a fresh kernel in its folder, with failed claims shown, not raised."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    try:
        client.execute(env=dict(os.environ, ASGILAB_STRICT="0"))
    except CellExecutionError as error:
        sys.exit(f"build_site: executing {path.name} failed:\n{error}")
    return notebook


def with_outputs(
    notebook: nbformat.NotebookNode, executed: nbformat.NotebookNode, name: str, by_id: bool = False
) -> nbformat.NotebookNode:
    """``notebook`` as committed, each code cell with the outputs of the cell of the same source in
    ``executed``, in order (``by_id``: of the same cell id, for an edition whose comments are translated;
    its own language cell has none). The executed copy's own cells are not used: a run may have put a cell
    of its own in place of one (the notebook tests put one that restores PATH in place of the title)."""
    ran = [cell for cell in executed.cells if cell.cell_type == "code"]
    position, unmatched = 0, 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or (by_id and cell.get("id") == LANGUAGE_CELL):
            continue
        key = "id" if by_id else "source"
        match = next((i for i in range(position, len(ran)) if ran[i].get(key) == cell.get(key)), None)
        if match is None:
            unmatched += 1
            continue
        cell.outputs, cell.execution_count, position = ran[match].outputs, ran[match].execution_count, match + 1
    if unmatched:
        print(f"build_site: warning: {name}: {unmatched} code cell(s) changed since this run: shown without outputs")
    return notebook


def executed_lessons(
    pages: list[Page], executed: Path, missing_mode: str, edition: Edition = ENGLISH
) -> dict[str, nbformat.NotebookNode]:
    """The executed notebook of every lesson and appendix: its copy in ``executed``, or, for one that
    has none, by ``missing_mode``: "execute" (run it now), "unexecuted" (the notebook as committed,
    without outputs) or "error" (exit listing the missing copies). Another edition than the English
    takes the English copy's outputs, by cell id, and is never executed."""
    lessons = [page for page in pages if page.kind != "lab"]
    missing = [page for page in lessons if not (executed / Path(page.source).name).exists()]
    if missing and missing_mode == "error":
        names = ", ".join(Path(page.source).name for page in missing)
        sys.exit(f"build_site: no executed copy in {executed} of: {names} (run make test, or drop --no-execute)")
    found, by_id = {}, edition is not ENGLISH
    for page in lessons:
        copy, committed = executed / Path(page.source).name, edition.folder / page.source
        if copy.exists():
            if copy.stat().st_mtime < (ROOT / page.source).stat().st_mtime:
                print(f"build_site: warning: {copy.name}: the executed copy is older than the notebook")
            notebook = nbformat.read(committed, as_version=4)
            found[page.source] = with_outputs(notebook, nbformat.read(copy, as_version=4), copy.name, by_id)
        elif missing_mode == "unexecuted" or by_id:
            print(f"build_site: {edition.name}/{copy.name} has no executed copy: its page shows no outputs", flush=True)
            found[page.source] = nbformat.read(committed, as_version=4)
        else:
            print(f"build_site: {copy.name} has no executed copy: executing it now", flush=True)
            found[page.source] = execute_notebook(ROOT / page.source)
    return found


def starter(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A lab as a learner gets it: no solution cells, no outputs. Refuses a lab that holds a solution."""
    notebook.cells = [cell for cell in notebook.cells if "solution" not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        if "BEGIN SOLUTION" in cell.source:
            sys.exit(f"build_site: {name} contains a solution (run make labs)")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def warnings_for(notebook: nbformat.NotebookNode, name: str) -> None:
    """Say so when an executed notebook shows an error or a claim that did not hold."""
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    errors = sum(output.output_type == "error" for output in outputs)
    claims = sum(any(mark in str(output) for mark in CLAIM_FAILED) for output in outputs)
    if errors or claims:
        print(f"build_site: warning: {name} shows {errors} error(s) and {claims} failed claim(s) in this run")


def book_notebook(notebook: nbformat.NotebookNode, source: str, sources: set[str]) -> nbformat.NotebookNode:
    """``notebook`` as the book stages it: its Markdown links pointed at the book's pages."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, source, sources)
    return notebook


def syllabus_markdown(readme: str, heading: str = "## The course") -> str:
    """README.md's intro (up to its first ``##`` section) and its ``## The course`` section (``heading``)."""
    sections = re.split(r"(?m)^(?=## )", readme)
    course = [section for section in sections[1:] if section.startswith(heading)]
    return sections[0] + "".join(course[:1])


def link_course_table(markdown: str, pages: list[Page], lab_word: str = "lab") -> str:
    """Link the lesson and lab cells of the course table (``| 00 | Start here | lab 01 | ...``; the
    edition's ``lab_word`` for "lab")."""
    by_prefix = {Path(page.source).name.split("_")[0]: page for page in pages}
    lines = []
    for line in markdown.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 4 and (lesson := by_prefix.get(cells[1].strip())):
            cells[2] = f" [{cells[2].strip()}]({lesson.source}) "
            lab = by_prefix.get(f"lab{cells[1].strip()}")
            for index, cell in enumerate(cells):  # the lab's column, wherever the table puts it
                if lab and cell.strip() == f"{lab_word} {cells[1].strip()}":
                    cells[index] = f" [{cell.strip()}]({lab.source}) "
            line = "|".join(cells)
        lines.append(line)
    return "\n".join(lines)


def toctree_markdown(pages: list[Page]) -> str:
    """The book's tables of contents (the sidebar's and the home page's): one per caption, in order."""
    by_caption: dict[str, list[Page]] = {}
    for page in pages:
        by_caption.setdefault(TOC_CAPTIONS[page.kind], []).append(page)
    parts = ["\n\n## All pages\n"]
    for caption, members in by_caption.items():
        entries = "\n".join(page.source.removesuffix(".ipynb") for page in members)
        parts.append(f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n{entries}\n```\n")
    return "".join(parts)


def home_markdown(pages: list[Page], sources: set[str], edition: Edition = ENGLISH) -> str:
    """The home page: README.md's syllabus with its links pointed at the book, then the contents."""
    syllabus = syllabus_markdown(edition.readme.read_text(encoding="utf-8"), edition.course_heading)
    linked = link_course_table(rewrite_links(syllabus, "README.md", sources), pages, edition.lab_word)
    return linked.rstrip() + "\n" + toctree_markdown(pages)


def language_switch(target: str, edition: Edition, other: Edition, other_targets: set[str]) -> str:
    """The line at the top of a page of ``edition``: a link to the same page in ``other``, or to its home."""
    here = posixpath.join(edition.subfolder, target)
    there = posixpath.join(other.subfolder, target if target in other_targets else HOME)
    return (
        f'<p class="{SWITCH_CLASS}"><a href="{relative(here, there)}" hreflang="{other.name}">{other.label}</a></p>\n\n'
    )


def with_switch(notebook: nbformat.NotebookNode, switch: str) -> nbformat.NotebookNode:
    """``notebook`` with ``switch`` at the top of its first Markdown cell."""
    first = next((cell for cell in notebook.cells if cell.cell_type == "markdown"), None)
    if first is not None and SWITCH_CLASS not in first.source:
        first.source = switch + first.source
    return notebook


def write_if_changed(path: Path, text: str) -> None:
    """Write ``path`` only when its text changes, so that Sphinx rebuilds only the pages that did."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def stage(
    staged: Path,
    pages: list[Page],
    executed: Path,
    missing_mode: str,
    edition: Edition = ENGLISH,
    other: Edition = ZH_TW,
) -> None:
    """Write the Sphinx project of the book into ``staged``: index.md and one notebook per page, each
    with the switch to the ``other`` edition at its top."""
    sources = {page.source for page in pages}
    lessons = executed_lessons(pages, executed, missing_mode, edition)
    other_targets = {page.target for page in course_pages(other.folder)} if other.folder.is_dir() else set()
    wanted = {staged / HOME_SOURCE}
    for page in pages:
        name = Path(page.source).name
        if page.kind == "lab":
            notebook = starter(nbformat.read(edition.folder / page.source, as_version=4), name)
        else:
            notebook = lessons[page.source]
            warnings_for(notebook, name)
        if other_targets:
            notebook = with_switch(notebook, language_switch(page.target, edition, other, other_targets))
        write_if_changed(staged / page.source, nbformat.writes(book_notebook(notebook, page.source, sources)))
        wanted.add(staged / page.source)
    switch = language_switch(HOME, edition, other, other_targets) if other_targets else ""
    write_if_changed(staged / HOME_SOURCE, switch + home_markdown(pages, sources, edition))
    for path in staged.rglob("*"):
        if path.is_file() and path not in wanted:
            path.unlink()


def run_sphinx(staged: Path, out: Path, doctrees: Path, settings: dict[str, str] | None = None) -> list[str]:
    """Build ``staged`` into ``out`` with site/conf.py (and ``settings`` over it); return Sphinx's warnings."""
    from sphinx.application import Sphinx
    from sphinx.util.console import nocolor
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    nocolor()
    warnings = io.StringIO()
    # As sphinx-build does: docutils' directives and roles are global, and a second build in one
    # process (the tests) must not find the first one's.
    with patch_docutils(CONF), docutils_namespace():
        app = Sphinx(
            str(staged), str(CONF), str(out), str(doctrees), "html", status=None, warning=warnings,
            confoverrides=settings or {},
        )  # fmt: skip
        app.build()
    if app.statuscode:
        sys.exit(f"build_site: Sphinx failed:\n{warnings.getvalue()}")
    return [line for line in warnings.getvalue().splitlines() if line.strip()]


def remove_stale(out: Path, pages: list[Page]) -> None:
    """Remove the pages of notebooks that no longer exist from an earlier build into ``out``."""
    wanted = {out / page.target for page in pages}
    for folder in ("notebooks", "labs"):
        for path in (out / folder).glob("*.html"):
            if path not in wanted:
                path.unlink()


def build(out: Path, missing_mode: str = "execute", executed: Path = EXECUTED, work: Path | None = None) -> int:
    """Build the whole site into ``out`` (staging it in ``work``), the zh-TW book into ``out/zh-TW`` when
    the edition is there; return the number of English pages written."""
    work = work or out.parent / f"{out.name}-work"
    count = 0
    for edition, other in ((ENGLISH, ZH_TW), (ZH_TW, ENGLISH)):
        if not edition.folder.is_dir():
            continue
        pages, book, staged = course_pages(edition.folder), out / edition.subfolder, work / edition.name
        stage(staged / "source", pages, executed, missing_mode, edition, other)
        warnings = run_sphinx(staged / "source", book, staged / "doctrees", edition.sphinx)
        for line in warnings:
            print(f"build_site: sphinx ({edition.name}): {line}")
        if warnings:
            sys.exit(f"build_site: {len(warnings)} Sphinx warning(s): a broken link or page (see above)")
        remove_stale(book, pages)
        shutil.rmtree(book / ".doctrees", ignore_errors=True)
        count = count or len(pages) + 1
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    missing = parser.add_mutually_exclusive_group()
    missing.add_argument("--no-execute", action="store_true", help="never execute: every executed copy must exist")
    missing.add_argument("--unexecuted", action="store_true", help="render a lesson with no executed copy as is")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--executed", type=Path, default=EXECUTED, help=f"executed copies (default {EXECUTED})")
    args = parser.parse_args(argv)
    mode = "error" if args.no_execute else "unexecuted" if args.unexecuted else "execute"
    start = time.perf_counter()
    count = build(args.out.resolve(), missing_mode=mode, executed=args.executed.resolve())
    print(f"build_site: {count} pages in {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
