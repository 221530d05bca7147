"""The course website (`make site`): every lesson, appendix and lab has a page, the links work, the
figures are images, no page shows an error, and the labs are starters without solutions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import LABS, NOTEBOOKS, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import build_site

EXECUTED = ROOT / "build" / "executed" / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
LAB_FILES = sorted(LABS.glob("lab*.ipynb"))
LINK = re.compile(r'\b(?:href|src)="([^"]*)"')
ERROR_CLASS = re.compile(r'class="[^"]*\b(?:jp-OutputArea-error|output_error|asgilab-claim-failed)\b')
TARGETS = {
    "notebooks/10_scaling_out.ipynb": "notebooks/10_scaling_out.html",
    "labs/lab02_x.ipynb": "labs/lab02_x.html",
    "README.md": "index.html",
    "CONTRIBUTING.md": "index.html",
}


def text_of(page_html: str) -> str:
    """A page's text, without its tags."""
    return re.sub(r"<[^>]+>", "", page_html)


def hrefs(page_html: str) -> list[str]:
    return re.findall(r'<a\b[^>]*\bhref="([^"]*)"', page_html)


# --- link rewriting, on hand-made input (fast, no execution) ---------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("10_scaling_out.ipynb", "10_scaling_out.html"),
        ("10_scaling_out.ipynb#Workers", "10_scaling_out.html#Workers"),
        ("../labs/lab02_x.ipynb", "../labs/lab02_x.html"),
        ("../README.md", "../index.html"),
        ("../CONTRIBUTING.md#checks", "../index.html"),
        ("https://example.com/a.ipynb", "https://example.com/a.ipynb"),
        ("#Heading", "#Heading"),
        ("apps/l01_app.py", None),
        ("missing.ipynb", None),
        ("/etc/passwd", None),
    ],
)
def test_resolve_link(href: str, expected: str | None) -> None:
    assert (
        build_site.resolve_link(href, "notebooks/00_start_here.ipynb", "notebooks/00_start_here.html", TARGETS)
        == expected
    )


def test_links_of_a_rendered_notebook_point_at_pages() -> None:
    source = (
        "# Hand-made\n\nSee [lesson 10](10_scaling_out.ipynb), [lab 02](../labs/lab02_x.ipynb#step-1),"
        " [the README](../README.md), [a module](apps/l01_app.py) and [the web](https://example.com/?a=1&b=2)."
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
    page = build_site.Page("notebooks/00_x.ipynb", "notebooks/00_x.html", "Hand-made", "lesson")
    rendered = build_site.render_page(build_site.HTMLExporter(template_name="lab"), notebook, page, "<nav>N</nav>")
    rewritten = build_site.rewrite_links(rendered, page.source, page.target, TARGETS)
    links = hrefs(rewritten)
    assert "10_scaling_out.html" in links and "../labs/lab02_x.html#step-1" in links
    assert "../index.html" in links and "https://example.com/?a=1&amp;b=2" in links
    assert not any(".ipynb" in link or link.endswith(".py") for link in links), links
    assert "a module</a>" in rewritten  # left as text
    assert rewritten.count("<nav>N</nav>") == 2


def test_starter_drops_solutions_and_outputs() -> None:
    solution = nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]})
    work = nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="1\n")])
    lab = build_site.starter(nbformat.v4.new_notebook(cells=[solution, work]), "lab99_x.ipynb")
    assert [cell.source for cell in lab.cells] == ["x = 1"] and lab.cells[0].outputs == []
    with pytest.raises(SystemExit, match="contains a solution"):
        build_site.starter(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION")]), "x")


def test_course_table_links_lessons_and_labs() -> None:
    pages = [
        build_site.Page("notebooks/01_a.ipynb", "notebooks/01_a.html", "A", "lesson"),
        build_site.Page("labs/lab01_a.ipynb", "labs/lab01_a.html", "Lab A", "lab"),
    ]
    table = "| # | Lesson | Lab | What |\n|---|---|---|---|\n| 01 | WSGI to ASGI | lab 01 | raw |\n| 09 | Later | | x |"
    linked = build_site.link_course_table(table, pages)
    assert "| [WSGI to ASGI](notebooks/01_a.html) | [lab 01](labs/lab01_a.html) |" in linked
    assert "| 09 | Later | | x |" in linked


# --- the whole site, from the executed copies the notebook tests keep --------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [path.name for path in LESSONS if not (EXECUTED / path.name).exists()]
    if missing:
        pytest.skip(f"build/executed lacks {', '.join(missing)}: run the notebook tests first (make test)")
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, str(ROOT / "scripts" / "build_site.py"), "--no-execute", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(LESSONS) + len(LAB_FILES) + 1} pages" in done.stdout, done.stdout
    return out


def page_of(site: Path, notebook: Path) -> Path:
    return site / notebook.parent.name / (notebook.stem + ".html")


def test_every_lesson_appendix_and_lab_has_a_page(site: Path) -> None:
    missing = [path.name for path in LESSONS + LAB_FILES if not page_of(site, path).exists()]
    assert not missing and (site / "index.html").exists(), missing


def test_home_page_links_to_every_page(site: Path) -> None:
    links = set(hrefs((site / "index.html").read_text(encoding="utf-8")))
    unlinked = [
        path.name for path in LESSONS + LAB_FILES if page_of(site, path).relative_to(site).as_posix() not in links
    ]
    assert not unlinked, unlinked


def test_every_internal_link_resolves(site: Path) -> None:
    broken = []
    for page in site.rglob("*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:|#|//", link):
                continue
            if not (page.parent / link.split("#")[0]).resolve().is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
    assert not broken, broken


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_page_shows_every_plot_and_no_error(site: Path, path: Path) -> None:
    executed = nbformat.read(EXECUTED / path.name, as_version=4)
    outputs = [output for cell in executed.cells for output in cell.get("outputs", [])]
    plots = sum("image/png" in output.get("data", {}) for output in outputs)
    page_html = page_of(site, path).read_text(encoding="utf-8")
    images = page_html.count("<img")
    assert images >= plots, f"{path.name}: {plots} plots in the run, {images} <img> on the page"
    if path.name[0].isdigit():
        assert images >= 1, f"{path.name}: a lesson page without a figure"
    assert not [output for output in outputs if output.output_type == "error"], f"{path.name}: error output"
    assert not ERROR_CLASS.search(page_html), f"{path.name}: an error or failed-claim block on the page"
    text = text_of(page_html)
    for sign in ("Traceback", "NOT AS EXPECTED", "Not as expected", "ClaimFailed"):
        assert sign not in text, f"{path.name}: {sign!r} on the page"


@pytest.mark.parametrize("path", LAB_FILES, ids=lambda p: p.name)
def test_lab_page_is_a_starter(site: Path, path: Path) -> None:
    page_html = page_of(site, path).read_text(encoding="utf-8")
    assert not re.search(r'class="[^"]*\bjp-OutputArea-output\b', page_html), f"{path.name}: the lab page shows outputs"
    assert "BEGIN SOLUTION" not in page_html and "celltag_solution" not in page_html, path.name
