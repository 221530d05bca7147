"""Build the course website: a static HTML book in build/site/, offline.

    python scripts/build_site.py               # render, executing any lesson that has no executed copy
    python scripts/build_site.py --no-execute  # render what exists; a missing executed copy is an error
    python scripts/build_site.py --out DIR     # somewhere else than build/site/
    python scripts/build_site.py --executed DIR  # executed copies from elsewhere than build/executed/notebooks/

Pages: the syllabus (README.md's intro and course table) as index.html, every lesson and appendix in
notebooks/ with the outputs of an executed run (the copies the notebook tests keep in
build/executed/notebooks/), and every lab in labs/ as a starter, without outputs. Never solutions/.
"""

from __future__ import annotations

import argparse
import html
import os
import posixpath
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import mistune
import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS, LABS = ROOT / "notebooks", ROOT / "labs"
EXECUTED = ROOT / "build" / "executed" / "notebooks"
DEFAULT_OUT = ROOT / "build" / "site"
HOME = "index.html"
CELL_TIMEOUT_S = 240
# Pages of the repository that are not in the book: links to them go to the home page.
TO_HOME = ("README.md", "CONTRIBUTING.md")
CLAIM_FAILED = ("NOT AS EXPECTED", "asgilab-claim-failed")
NAV_CSS = (
    "<style>nav.site{display:flex;gap:1.5em;padding:0.6em 1em;margin:0.5em 0;background:#f3f5f7;"
    "border-radius:4px;font-family:sans-serif;font-size:0.95em}nav.site a{text-decoration:none}"
    "nav.site .next{margin-left:auto}</style>"
)
HOME_CSS = (
    "body{max-width:60em;margin:2em auto;padding:0 1em;font-family:sans-serif;line-height:1.5}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:0.3em 0.6em;vertical-align:top}"
    "code{background:#f3f5f7;padding:0 0.2em}pre{background:#f3f5f7;padding:0.6em}"
)


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


def make_page(path: Path, kind: str) -> Page:
    """The `Page` of one notebook in notebooks/ or labs/."""
    source = path.relative_to(ROOT).as_posix()
    title = notebook_title(nbformat.read(path, as_version=4), path.stem)
    return Page(source, source.removesuffix(".ipynb") + ".html", title, kind)


def course_pages() -> list[Page]:
    """Every page but the home page, in reading order: each lesson followed by its lab, then the
    appendices, then any lab without a lesson of its number."""
    lessons = [make_page(p, "lesson") for p in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))]
    appendices = [make_page(p, "appendix") for p in sorted(NOTEBOOKS.glob("A*.ipynb"))]
    labs = [make_page(p, "lab") for p in sorted(LABS.glob("lab*.ipynb"))]
    ordered: list[Page] = []
    for lesson in lessons:
        number = Path(lesson.source).name.split("_")[0]
        ordered += [lesson] + [lab for lab in labs if Path(lab.source).name.startswith(f"lab{number}_")]
    return ordered + appendices + [lab for lab in labs if lab not in ordered]


def relative(from_target: str, to_target: str) -> str:
    """The link from the page ``from_target`` to ``to_target`` (both relative to the site's root)."""
    return posixpath.relpath(to_target, posixpath.dirname(from_target) or ".")


def resolve_link(href: str, source: str, target: str, targets: dict[str, str]) -> str | None:
    """Where a link ``href`` written in ``source`` (rendered to ``target``) points in the site: the
    same ``href`` when it leaves the site or stays on the page, the page it names, or None (no link)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return href
    if parts.path.startswith("/"):
        return None
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(parts.path)))
    if wanted in targets.values():  # a link to a page of the site already (the navigation)
        return href
    if wanted not in targets:
        return None
    fragment = f"#{parts.fragment}" if parts.fragment and targets[wanted] != HOME else ""
    return relative(target, targets[wanted]) + fragment


def rewrite_links(page_html: str, source: str, target: str, targets: dict[str, str]) -> str:
    """Point each ``<a href>`` of a page at the site's pages; a link to a file that is not in the
    site loses its href and stays as text."""

    def replace(match: re.Match[str]) -> str:
        link = resolve_link(html.unescape(match["href"]), source, target, targets)
        if link is None:
            return match["open"] + match["rest"]
        return f'{match["open"]} href="{html.escape(link)}"{match["rest"]}'

    pattern = re.compile(r'(?P<open><a\b[^>]*?)\s+href="(?P<href>[^"]*)"(?P<rest>[^>]*>)')
    return pattern.sub(replace, page_html)


def nav_html(pages: list[Page], index: int) -> str:
    """Home, previous and next links for ``pages[index]`` (index -1: the home page)."""
    here = pages[index].target if index >= 0 else HOME
    links = [f'<a href="{relative(here, HOME)}">⌂ Home</a>']
    if index > 0:
        before = pages[index - 1]
        links.append(f'<a class="prev" href="{relative(here, before.target)}">← {html.escape(before.title)}</a>')
    if index + 1 < len(pages):
        after = pages[index + 1]
        links.append(f'<a class="next" href="{relative(here, after.target)}">{html.escape(after.title)} →</a>')
    return '<nav class="site">' + " ".join(links) + "</nav>"


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


def executed_lessons(pages: list[Page], executed: Path, execute: bool) -> dict[str, nbformat.NotebookNode]:
    """The executed notebook of every lesson and appendix: its copy in ``executed``, or, when it has
    none and ``execute`` is set, a run made now. Exits listing the missing copies otherwise."""
    lessons = [page for page in pages if page.kind != "lab"]
    missing = [page for page in lessons if not (executed / Path(page.source).name).exists()]
    if missing and not execute:
        names = ", ".join(Path(page.source).name for page in missing)
        sys.exit(f"build_site: no executed copy in {executed} of: {names} (run make test, or drop --no-execute)")
    found = {}
    for page in lessons:
        copy = executed / Path(page.source).name
        if copy.exists():
            if copy.stat().st_mtime < (ROOT / page.source).stat().st_mtime:
                print(f"build_site: warning: {copy.name}: the executed copy is older than the notebook")
            found[page.source] = nbformat.read(copy, as_version=4)
            continue
        print(f"build_site: {Path(page.source).name} has no executed copy: executing it now", flush=True)
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


def render_page(exporter: HTMLExporter, notebook: nbformat.NotebookNode, page: Page, nav: str) -> str:
    """One notebook as a full HTML page with the site's navigation above and below it."""
    resources = {"metadata": {"name": page.title, "path": str(ROOT / Path(page.source).parent)}}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    if "<main>" not in body or "</main>" not in body:
        raise RuntimeError("nbconvert's lab template no longer has a <main> element")
    body = body.replace("<main>", f"<main>\n{NAV_CSS}{nav}", 1)
    head, _, tail = body.rpartition("</main>")
    return f"{head}{nav}\n</main>{tail}"


def syllabus_markdown(readme: str) -> str:
    """README.md's intro (up to its first ``##`` section) and its ``## The course`` section."""
    sections = re.split(r"(?m)^(?=## )", readme)
    course = [section for section in sections[1:] if section.startswith("## The course")]
    return sections[0] + "".join(course[:1])


def link_course_table(markdown: str, pages: list[Page]) -> str:
    """Link the lesson and lab cells of the course table (``| 00 | Start here | lab 01 | ...``)."""
    by_prefix = {Path(page.source).name.split("_")[0]: page for page in pages}
    lines = []
    for line in markdown.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 4 and (lesson := by_prefix.get(cells[1].strip())):
            cells[2] = f" [{cells[2].strip()}]({lesson.target}) "
            lab = by_prefix.get(f"lab{cells[1].strip()}")
            for index, cell in enumerate(cells):  # the lab's column, wherever the table puts it
                if lab and cell.strip() == f"lab {cells[1].strip()}":
                    cells[index] = f" [{cell.strip()}]({lab.target}) "
            line = "|".join(cells)
        lines.append(line)
    return "\n".join(lines)


def contents_markdown(pages: list[Page]) -> str:
    """A list of every page, by kind."""
    parts = ["\n\n## All pages\n"]
    for kind, heading in (("lesson", "Lessons"), ("appendix", "Appendices"), ("lab", "Labs (starters)")):
        items = [f"- [{page.title}]({page.target})" for page in pages if page.kind == kind]
        if items:
            parts.append(f"\n### {heading}\n\n" + "\n".join(items) + "\n")
    return "".join(parts)


def render_home(pages: list[Page], targets: dict[str, str]) -> str:
    """The home page: the syllabus from README.md, with its table linked, and a list of every page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    markdown = link_course_table(syllabus_markdown(readme), pages) + contents_markdown(pages)
    body = mistune.create_markdown(plugins=["table"])(markdown)
    body = rewrite_links(str(body), "README.md", HOME, targets)
    title = html.escape(readme.splitlines()[0].lstrip("# ").strip())
    nav = nav_html(pages, -1)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f"<style>{HOME_CSS}</style>\n{NAV_CSS}\n</head>\n<body>\n{nav}\n{body}\n{nav}\n</body>\n</html>\n"
    )


def remove_stale(out: Path, pages: list[Page]) -> None:
    """Remove the pages of notebooks that no longer exist from an earlier build into ``out``."""
    wanted = {out / page.target for page in pages}
    for folder in ("notebooks", "labs"):
        for path in (out / folder).glob("*.html"):
            if path not in wanted:
                path.unlink()


def write(out: Path, target: str, text: str) -> None:
    """Write one page of the site."""
    path = out / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build(out: Path, execute: bool = True, executed: Path = EXECUTED) -> int:
    """Build the whole site into ``out``; return the number of pages written."""
    pages = course_pages()
    targets = {page.source: page.target for page in pages} | dict.fromkeys(TO_HOME, HOME)
    lessons = executed_lessons(pages, executed, execute)
    exporter = HTMLExporter(template_name="lab")
    exporter.embed_images = True
    for index, page in enumerate(pages):
        name = Path(page.source).name
        if page.kind == "lab":
            notebook = starter(nbformat.read(ROOT / page.source, as_version=4), name)
        else:
            notebook = lessons[page.source]
            warnings_for(notebook, name)
        page_html = render_page(exporter, notebook, page, nav_html(pages, index))
        write(out, page.target, rewrite_links(page_html, page.source, page.target, targets))
    write(out, HOME, render_home(pages, targets))
    remove_stale(out, pages)
    return len(pages) + 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="never execute: every executed copy must exist")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--executed", type=Path, default=EXECUTED, help=f"executed copies (default {EXECUTED})")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    count = build(args.out.resolve(), execute=not args.no_execute, executed=args.executed.resolve())
    print(f"build_site: {count} pages in {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
