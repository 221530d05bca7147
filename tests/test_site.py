"""The course website (`make site`): every lesson, appendix and lab has a page, the links work, the
figures are images, no page shows an error, the labs are starters without solutions, and the site
works offline: nothing it loads comes from the network, it has a sidebar, a search page with its
index, and a table of contents of each page's sections."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from conftest import LABS, NOTEBOOKS, ROOT

pytest.importorskip("sphinx", reason="the site extra is not installed: pip install -e '.[site]'")
pytest.importorskip("myst_nb", reason="the site extra is not installed: pip install -e '.[site]'")
sys.path.insert(0, str(ROOT / "scripts"))
import build_site

EXECUTED = ROOT / "build" / "executed" / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
LAB_FILES = sorted(LABS.glob("lab*.ipynb"))
LINK = re.compile(r'\b(?:href|src)="([^"]*)"')
# myst-nb renders an error output as `output traceback`; a failed claim is asgilab's own box.
ERROR_CLASS = re.compile(r'class="[^"]*\b(?:traceback|output_error|asgilab-claim-failed)\b')
OUTPUT_CLASS = re.compile(r'class="[^"]*\bcell_output\b')
# What a page loads by itself (as opposed to an <a href> a reader may follow to a cited source).
LOADED = re.compile(r'<(?:script|link|img|iframe|source|embed|video|audio|track)\b[^>]*?\b(?:src|href)="([^"]*)"')
OBJECT_DATA = re.compile(r'<object\b[^>]*?\bdata="([^"]*)"')
CSS_IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')\s;]+)')
CSS_URL = re.compile(r'url\(\s*["\']?([^"\')]+)')
STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S)
CDN = re.compile(r"//(?:cdn[\w.-]*|[\w.-]*(?:jsdelivr|unpkg|cdnjs|googleapis|gstatic|mathjax)[\w.-]*)\b", re.I)
CSS_LIMIT, PAGE_LIMIT = 100_000, 1_000_000
SOURCES = {
    "notebooks/00_start_here.ipynb",
    "notebooks/10_scaling_out.ipynb",
    "labs/lab02_x.ipynb",
}


def text_of(page_html: str) -> str:
    """A page's text, without its tags."""
    return re.sub(r"<[^>]+>", "", page_html)


def hrefs(page_html: str) -> list[str]:
    return re.findall(r'<a\b[^>]*\bhref="([^"]*)"', page_html)


def is_remote(url: str) -> bool:
    return bool(re.match(r"\s*(?:https?:)?//", url, re.I))


def network_references(text: str, suffix: str) -> list[str]:
    """Every reference in a page (``.html``) or a style sheet (``.css``) that the browser would fetch
    from the network, and any CDN address in any file (``.js`` too)."""
    found = []
    if suffix == ".html":
        found += [url for url in LOADED.findall(text) + OBJECT_DATA.findall(text) if is_remote(url)]
        css = "".join(STYLE_BLOCK.findall(text)) + " ".join(re.findall(r'\bstyle="([^"]*)"', text))
    else:
        css = text if suffix == ".css" else ""
    found += [url for url in CSS_IMPORT.findall(css) + CSS_URL.findall(css) if is_remote(url)]
    return found + CDN.findall(text)


# --- link rewriting and the checks themselves, on hand-made input (fast, no build) ------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("10_scaling_out.ipynb", "10_scaling_out.ipynb"),
        ("10_scaling_out.ipynb#workers", "10_scaling_out.ipynb#workers"),
        ("../labs/lab02_x.ipynb", "../labs/lab02_x.ipynb"),
        ("../README.md", "../index.md"),
        ("../CONTRIBUTING.md#checks", "../index.md"),
        ("https://example.com/a.ipynb", "https://example.com/a.ipynb"),
        ("#heading", "#heading"),
        ("apps/l01_app.py", None),
        ("missing.ipynb", None),
        ("/etc/passwd", None),
    ],
)
def test_resolve_link(href: str, expected: str | None) -> None:
    assert build_site.resolve_link(href, "notebooks/00_start_here.ipynb", SOURCES) == expected


def test_home_page_drops_links_to_itself() -> None:
    assert build_site.resolve_link("CONTRIBUTING.md", "README.md", SOURCES) is None
    assert (
        build_site.resolve_link("notebooks/10_scaling_out.ipynb", "README.md", SOURCES)
        == "notebooks/10_scaling_out.ipynb"
    )


def test_rewrite_links_keeps_code_and_drops_links_to_files_outside_the_book() -> None:
    markdown = (
        "See [`serve`](10_scaling_out.ipynb), [a module](apps/l01_app.py), [home](../README.md) and"
        " ![a figure](fig.png).\n\n```python\nroutes[0](scope)\n```\nthen [lab](../labs/lab02_x.ipynb)."
    )
    rewritten = build_site.rewrite_links(markdown, "notebooks/00_start_here.ipynb", SOURCES)
    assert "[`serve`](10_scaling_out.ipynb)" in rewritten and "[home](../index.md)" in rewritten
    assert ", a module, " in rewritten and "![a figure](fig.png)" in rewritten
    assert "routes[0](scope)" in rewritten and "[lab](../labs/lab02_x.ipynb)" in rewritten


def test_starter_drops_solutions_and_outputs() -> None:
    solution = nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]})
    work = nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="1\n")])
    lab = build_site.starter(nbformat.v4.new_notebook(cells=[solution, work]), "lab99_x.ipynb")
    assert [cell.source for cell in lab.cells] == ["x = 1"] and lab.cells[0].outputs == []
    with pytest.raises(SystemExit, match="contains a solution"):
        build_site.starter(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION")]), "x")


def test_outputs_come_from_the_run_and_the_cells_from_the_notebook() -> None:
    title, first, second = "# Title", "x = 1", "print(x)"
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(title),
            nbformat.v4.new_code_cell(first),
            nbformat.v4.new_code_cell(second),
        ]
    )
    printed = nbformat.v4.new_output("stream", text="1\n")
    executed = nbformat.v4.new_notebook(  # a run that put a cell of its own in place of the title
        cells=[
            nbformat.v4.new_code_cell("os.environ['PATH'] = '/secret'"),
            nbformat.v4.new_code_cell(first, execution_count=1),
            nbformat.v4.new_code_cell(second, outputs=[printed], execution_count=2),
        ]
    )
    merged = build_site.with_outputs(notebook, executed, "x.ipynb")
    assert [cell.source for cell in merged.cells] == [title, first, second]
    assert merged.cells[2].outputs == [printed] and merged.cells[2].execution_count == 2
    notebook.cells[2].source, notebook.cells[2].outputs = "print(x + 1)", []  # edited since the run
    assert build_site.with_outputs(notebook, executed, "x.ipynb").cells[2].outputs == []


def test_only_lessons_without_an_executed_copy_are_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = build_site.course_pages()
    lessons = [page for page in pages if page.kind != "lab"]
    first = ROOT / lessons[0].source
    nbformat.write(nbformat.read(first, as_version=4), tmp_path / first.name)
    ran: list[str] = []

    def pretend_to_execute(path: Path) -> nbformat.NotebookNode:
        ran.append(path.name)
        return nbformat.read(path, as_version=4)

    monkeypatch.setattr(build_site, "execute_notebook", pretend_to_execute)
    found = build_site.executed_lessons(pages, tmp_path, "execute")
    assert set(found) == {page.source for page in lessons}
    assert ran == [Path(page.source).name for page in lessons[1:]]
    with pytest.raises(SystemExit, match="no executed copy"):
        build_site.executed_lessons(pages, tmp_path, "error")


def test_course_table_links_lessons_and_labs() -> None:
    pages = [
        build_site.Page("notebooks/01_a.ipynb", "notebooks/01_a.html", "A", "lesson"),
        build_site.Page("labs/lab01_a.ipynb", "labs/lab01_a.html", "Lab A", "lab"),
    ]
    table = "| # | Lesson | Lab | What |\n|---|---|---|---|\n| 01 | WSGI to ASGI | lab 01 | raw |\n| 09 | Later | | x |"
    linked = build_site.link_course_table(table, pages)
    assert "| [WSGI to ASGI](notebooks/01_a.ipynb) | [lab 01](labs/lab01_a.ipynb) |" in linked
    assert "| 09 | Later | | x |" in linked


@pytest.mark.parametrize(
    ("text", "suffix"),
    [
        ('<script src="https://cdn.example.org/require.min.js"></script>', ".html"),
        ('<link rel="stylesheet" href="//fonts.example.com/a.css">', ".html"),
        ('<img alt="x" src="http://example.com/x.png">', ".html"),
        ('<iframe src="https://www.youtube.com/embed/x"></iframe>', ".html"),
        ("<style>@import url(https://example.com/theme.css);</style>", ".html"),
        ("<div style=\"background: url('https://example.com/a.png')\">", ".html"),
        ('body { background: url("https://example.com/bg.png") }', ".css"),
        ('@import "https://example.com/more.css";', ".css"),
        ('loader.src = "https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"', ".js"),
    ],
)
def test_network_check_finds_a_remote_reference(text: str, suffix: str) -> None:
    assert network_references(text, suffix), text


def test_network_check_allows_local_files_data_uris_and_plain_links() -> None:
    page = (
        '<link href="../_static/theme.css?digest=1" rel="stylesheet"><script src="../searchindex.js"></script>'
        '<img src="../_images/plot.png"><a href="https://github.com/encode/httpx/issues/3215">httpx#3215</a>'
        "<style>.x{background:url(\"data:image/svg+xml;charset=utf-8,%3Csvg xmlns='http://www.w3.org/2000/svg'\")}</style>"
    )
    assert network_references(page, ".html") == []


# --- a hand-made book built with Sphinx: the patterns above match what myst-nb renders ----------------


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-page book: a lesson with a plot, an error and a failed claim, a lesson it links to,
    and a lab starter."""
    png = nbformat.v4.new_output("display_data", data={"image/png": build_site_png(), "text/plain": "<Figure>"})
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["ValueError: boom"])
    claim = nbformat.v4.new_output("display_data", data={"text/html": "<div class='asgilab-claim-failed'>x</div>"})
    lesson = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "# Hand-made\n\nSee [lesson 10](10_scaling_out.ipynb), [lab 02](../labs/lab02_x.ipynb),"
                " [the README](../README.md), [a module](apps/l01_app.py) and [the web](https://example.com/?a=1&b=2)."
            ),
            nbformat.v4.new_markdown_cell("## A section\n\nText."),
            nbformat.v4.new_code_cell("plot()", outputs=[png, error, claim], execution_count=1),
        ]
    )
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lesson 10\n\n## Workers")])
    lab = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab 02"), nbformat.v4.new_code_cell("x")])
    staged = tmp_path_factory.mktemp("small_book")
    source = staged / "source"
    for path, notebook in (
        ("notebooks/00_start_here", lesson),
        ("notebooks/10_scaling_out", other),
        ("labs/lab02_x", lab),
    ):
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        build_site.write_if_changed(
            source / f"{path}.ipynb", nbformat.writes(build_site.book_notebook(notebook, f"{path}.ipynb", SOURCES))
        )
    pages = [build_site.Page(s, s.removesuffix(".ipynb") + ".html", s, "lesson") for s in sorted(SOURCES)]
    (source / "index.md").write_text("# Home\n" + build_site.toctree_markdown(pages), encoding="utf-8")
    assert build_site.run_sphinx(source, staged / "out", staged / "doctrees") == []
    return staged / "out"


def build_site_png() -> str:
    """A 1x1 PNG, base64, as a notebook stores it."""
    return "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_small_book_links_point_at_pages(small_book: Path) -> None:
    page_html = (small_book / "notebooks" / "00_start_here.html").read_text(encoding="utf-8")
    links = hrefs(page_html)
    assert "10_scaling_out.html" in links and "../labs/lab02_x.html" in links and "../index.html" in links
    assert "https://example.com/?a=1&amp;b=2" in links
    assert not any(".ipynb" in link or link.endswith(".py") for link in links), links
    assert "a module" in text_of(page_html) and "apps/l01_app.py" not in page_html


def test_small_book_shows_what_the_checks_look_for(small_book: Path) -> None:
    page_html = (small_book / "notebooks" / "00_start_here.html").read_text(encoding="utf-8")
    assert page_html.count("<img") >= 1 and ERROR_CLASS.search(page_html) and OUTPUT_CLASS.search(page_html)
    assert "asgilab-claim-failed" in page_html and 'href="#a-section"' in page_html
    lab_html = (small_book / "labs" / "lab02_x.html").read_text(encoding="utf-8")
    assert not OUTPUT_CLASS.search(lab_html) and not ERROR_CLASS.search(lab_html)


# --- the whole site, from the executed copies the notebook tests keep --------------------------------


def has_executed_copy(path: Path) -> bool:
    return path.parent == NOTEBOOKS and (EXECUTED / path.name).exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make site` builds it; a lesson without an executed copy (no prior notebook run)
    is rendered without outputs, and the checks of its outputs skip."""
    complete = all(has_executed_copy(path) for path in LESSONS)
    out = tmp_path_factory.mktemp("site") / "site"
    mode = "--no-execute" if complete else "--unexecuted"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # in this process: Sphinx is imported once for the module
        build_site.main([mode, "--out", str(out)])
    assert f"{len(LESSONS) + len(LAB_FILES) + 1} pages" in printed.getvalue(), printed.getvalue()
    return out


def page_of(site: Path, notebook: Path) -> Path:
    return site / notebook.parent.name / (notebook.stem + ".html")


def pages_of(site: Path) -> list[Path]:
    return [page for page in site.rglob("*.html") if "_static" not in page.parts]


def test_every_lesson_appendix_and_lab_has_a_page(site: Path) -> None:
    missing = [path.name for path in LESSONS + LAB_FILES if not page_of(site, path).exists()]
    assert not missing and (site / "index.html").exists(), missing


def test_home_page_links_to_every_page(site: Path) -> None:
    links = set(hrefs((site / "index.html").read_text(encoding="utf-8")))
    unlinked = [
        path.name for path in LESSONS + LAB_FILES if page_of(site, path).relative_to(site).as_posix() not in links
    ]
    assert not unlinked, unlinked


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    broken = []
    for page in pages_of(site):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or not parts.path:
                continue
            target = (page.parent / parts.path).resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif parts.fragment and f'id="{parts.fragment}"' not in target.read_text(encoding="utf-8"):
                broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert not broken, broken


def test_nothing_in_the_site_is_loaded_from_the_network(site: Path) -> None:
    """No script, style sheet, image or frame from an http(s) or protocol-relative address, no remote
    CSS @import or url(), no CDN address anywhere. Plain <a href> links to cited sources are allowed:
    a reader may follow them, the page does not load them."""
    found = []
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css", ".js"):
            found += [
                f"{path.relative_to(site)}: {ref}" for ref in network_references(path.read_text("utf-8"), path.suffix)
            ]
    assert not found, found


def test_no_page_is_over_a_megabyte(site: Path) -> None:
    """Figures are image files, not inlined: nbconvert's pages were several hundred KB each."""
    sizes = {page.relative_to(site).as_posix(): page.stat().st_size for page in pages_of(site)}
    assert max(sizes.values()) <= PAGE_LIMIT, {page: size for page, size in sizes.items() if size > PAGE_LIMIT}


def test_no_page_inlines_more_than_100_kb_of_css(site: Path) -> None:
    inlined = {
        page.relative_to(site).as_posix(): sum(map(len, STYLE_BLOCK.findall(page.read_text("utf-8"))))
        for page in pages_of(site)
    }
    assert max(inlined.values()) <= CSS_LIMIT, {page: size for page, size in inlined.items() if size > CSS_LIMIT}


def test_every_page_has_the_sidebar_of_every_page(site: Path) -> None:
    targets = [page_of(site, path) for path in LESSONS + LAB_FILES]
    for page in targets + [site / "index.html"]:
        page_html = page.read_text(encoding="utf-8")
        sidebar = page_html[page_html.index("bd-docs-nav") :]
        sidebar = sidebar[: sidebar.index("</nav>")]
        paths = [urlsplit(link).path for link in hrefs(sidebar)]  # the page itself: "#"
        linked = {(page.parent / path).resolve() if path else page for path in paths}
        assert set(targets) <= linked, f"{page.relative_to(site)}: {sorted(set(targets) - linked)} not in the sidebar"


def test_search_page_and_index_cover_every_page(site: Path) -> None:
    search_html = (site / "search.html").read_text(encoding="utf-8")
    assert 'src="searchindex.js' in search_html and "_static/searchtools.js" in search_html
    index_js = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(index_js.removeprefix("Search.setIndex(").removesuffix(")"))
    wanted = {page_of(site, path).relative_to(site).with_suffix("").as_posix() for path in LESSONS + LAB_FILES}
    assert wanted <= set(index["docnames"]), sorted(wanted - set(index["docnames"]))
    found = [index[table].get("pool", []) for table in ("terms", "titleterms")]  # a number for one page
    pooled = {index["docnames"][n] for hits in found for n in ([hits] if isinstance(hits, int) else hits)}
    assert "notebooks/05_database_pools" in pooled, "the search index does not find 'pool' in lesson 05"


@pytest.mark.parametrize("path", LESSONS + LAB_FILES, ids=lambda p: p.name)
def test_page_lists_its_sections(site: Path, path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    sections = [
        line
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    page_html = page_of(site, path).read_text(encoding="utf-8")
    toc = page_html[page_html.index('id="pst-page-toc-nav"') :] if sections else ""
    toc = toc[: toc.find("</nav>")]
    anchors = [link[1:] for link in hrefs(toc) if link.startswith("#")]
    assert len(anchors) >= len(sections), f"{path.name}: {len(sections)} sections, {len(anchors)} in its contents"
    assert all(f'id="{anchor}"' in page_html for anchor in anchors), path.name


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_page_shows_every_plot_and_no_error(site: Path, path: Path) -> None:
    if not has_executed_copy(path):
        pytest.skip(f"no executed copy of {path.name} in build/executed (run the notebook tests first)")
    executed = nbformat.read(EXECUTED / path.name, as_version=4)
    outputs = [output for cell in executed.cells for output in cell.get("outputs", [])]
    # The plots of the cells the page shows with outputs: all of them, unless a cell changed since the run.
    shown = build_site.with_outputs(nbformat.read(path, as_version=4), executed, path.name)
    plots = sum("image/png" in output.get("data", {}) for cell in shown.cells for output in cell.get("outputs", []))
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
    assert not OUTPUT_CLASS.search(page_html), f"{path.name}: the lab page shows outputs"
    assert "BEGIN SOLUTION" not in page_html and "tag_solution" not in page_html, path.name


ZH_LESSONS = sorted((ROOT / "zh-TW" / "notebooks").glob("*.ipynb"))
ZH_LABS = sorted((ROOT / "zh-TW" / "labs").glob("lab*.ipynb"))
SWITCH = re.compile(r'<p class="asgilab-language"><a href="([^"]+)" hreflang="([^"]+)">')


def test_the_zh_tw_book_has_a_page_for_each_edition_notebook_and_is_in_zh_tw(site: Path) -> None:
    book = site / "zh-TW"
    missing = [p.name for p in ZH_LESSONS + ZH_LABS if not (book / p.parent.name / (p.stem + ".html")).exists()]
    assert ZH_LESSONS and not missing and (book / "index.html").exists(), missing
    home = (book / "index.html").read_text(encoding="utf-8")
    assert 'lang="zh-TW"' in home or 'lang="zh_TW"' in home, "the zh-TW book does not say its language"
    assert (
        "課程內容" in home
        and 'href="notebooks/00_start_here.html"' in home
        and 'href="labs/lab01_wsgi_to_asgi.html"' in home
    )


def test_every_page_of_both_books_switches_to_the_same_page_in_the_other(site: Path) -> None:
    wrong = []
    for page in pages_of(site):
        if page.name in ("search.html", "genindex.html"):
            continue
        found = SWITCH.search(page.read_text(encoding="utf-8"))
        zh = page.relative_to(site).parts[0] == "zh-TW"
        if not found or found[2] != ("en" if zh else "zh-TW"):
            wrong.append(f"{page.relative_to(site)}: no switch to the other edition")
            continue
        target = (page.parent / found[1]).resolve()
        twin = site / page.relative_to(site / "zh-TW") if zh else site / "zh-TW" / page.relative_to(site)
        expected = twin if twin.exists() else (site if zh else site / "zh-TW") / "index.html"
        if target != expected.resolve():
            wrong.append(f"{page.relative_to(site)} -> {found[1]}, not {expected.relative_to(site)}")
    assert not wrong, wrong


def test_zh_tw_lessons_show_the_english_runs_plots(site: Path) -> None:
    lesson = "03_def_vs_async_def"
    if not (EXECUTED / f"{lesson}.ipynb").exists():
        pytest.skip("no executed copy of lesson 03 (run the notebook tests first)")
    english = (site / "notebooks" / f"{lesson}.html").read_text(encoding="utf-8")
    chinese = (site / "zh-TW" / "notebooks" / f"{lesson}.html").read_text(encoding="utf-8")
    assert chinese.count("<img") == english.count("<img") >= 1
    assert "事件迴圈" in text_of(chinese) and not ERROR_CLASS.search(chinese)
