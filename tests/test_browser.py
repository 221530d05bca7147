"""The course in the program learners use: JupyterLab in Chromium, driven by Playwright.

Opens lesson 00 at its /lab/tree URL, then each other notebook in the same JupyterLab (as its file
browser does), runs their cells with JupyterLab's own commands in strict kernels, and reads what the
page shows. Screenshots go to
build/browser/. Skips when Playwright or Chromium is missing (CI installs both).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import (
    CHROMIUM_ARGS,
    STDERR_OUTPUT,
    Lab,
    cell_locator,
    cells_of,
    chromium,
    close_notebook,
    first_line,
    jupyter_lab,
    open_notebook,
    run,
    run_through,
)
from conftest import ROOT

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install playwright to run the browser test."
)
CHROMIUM = chromium()
if CHROMIUM is None:
    pytest.skip(
        "Chromium was not found (on PATH, or set ASGILAB_CHROMIUM): install it (Debian: apt-get install chromium) to run the browser test.",
        allow_module_level=True,
    )

pytestmark = pytest.mark.notebook
SHOTS = ROOT / "build" / "browser"
LESSON, LAB = "notebooks/00_start_here.ipynb", "lab01_wsgi_to_asgi.ipynb"
STREAMING = "notebooks/12_streaming_gateway.ipynb"  # its first section: streams measured, a timeline drawn
STREAMING_LAB = "lab12_streaming_gateway.ipynb"  # its starter, buffered: the first check fails
RUN_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyter_lab(ROOT, tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chrome
        finally:
            chrome.close()


@pytest.fixture(scope="module")
def jupyterlab_page(browser: Any) -> Iterator[Any]:
    """One page for the module: JupyterLab loads once, and each notebook opens in it as a learner opens
    the next one."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture
def notebook(lab: Lab, jupyterlab_page: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The notebook open in JupyterLab; on leaving, it is closed unsaved, and its file is unchanged on disk."""
    path, page = request.param, jupyterlab_page
    before = hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
    open_notebook(page, lab, path)
    try:
        yield page
    finally:
        close_notebook(page)
    assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == before, f"{path} was modified on disk"


def shoot(page: Any, name: str, index: int | None = None) -> Path:
    """Screenshot the page into build/browser/, with cell ``index`` scrolled into view if given."""
    if index is not None:
        cell_locator(page, index).scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")
    return SHOTS / f"{name}.png"


def problems(cell: dict[str, Any]) -> list[str]:
    """What is wrong in a cell's outputs: an error, a traceback, a failed claim's box."""
    found = []
    if cell["errors"]:
        found.append("an error output")
    if any("Traceback" in text for text in cell["stderr"]):
        found.append("a traceback")
    if "NOT AS EXPECTED" in cell["text"].upper():
        found.append("a NOT AS EXPECTED box")
    return found


def fail(page: Any, name: str, index: int, cell: dict[str, Any], what: str) -> None:
    """Fail the test naming the cell and what it showed, with a screenshot of it."""
    shot = shoot(page, f"{name}_failed", index)
    pytest.fail(f"{name}: cell {index} ({first_line(cell)!r}) {what}; it showed:\n{cell['text'][-3000:]}\n[{shot}]")


def assert_clean(page: Any, name: str, cells: list[dict[str, Any]]) -> None:
    """Every code cell ran and shows no error."""
    for index, cell in enumerate(cells):
        if cell["type"] == "code" and (cell["count"] is None or problems(cell)):
            fail(page, name, index, cell, "did not run" if cell["count"] is None else ", ".join(problems(cell)))


def is_check(cell: dict[str, Any]) -> bool:
    """A lab's check cell: it calls ``check.stepN(...)``."""
    return cell["type"] == "code" and cell["source"].lstrip().startswith("check.step")


@pytest.mark.parametrize("notebook", [LESSON], indirect=True)
def test_lesson_00_runs_clean_and_plots(notebook: Any) -> None:
    cells = run(notebook, "notebook:run-all-cells", RUN_TIMEOUT_S)
    assert_clean(notebook, "00_start_here", cells)
    plotted = [index for index, cell in enumerate(cells) if cell["images"]]
    shoot(notebook, "00_start_here", plotted[0] if plotted else None)
    assert plotted, "00_start_here: no cell rendered a plot (an img inside .jp-RenderedImage)"
    assert notebook.locator(".jp-RenderedImage img").first.is_visible()


@pytest.mark.parametrize("notebook", [STREAMING], indirect=True)
def test_lesson_12_streams_through_the_gateway_and_draws_its_timeline(notebook: Any) -> None:
    cells = cells_of(notebook)
    claims = next(i for i, cell in enumerate(cells) if cell["type"] == "code" and "expect(" in cell["source"])
    cells = run_through(notebook, claims, RUN_TIMEOUT_S)
    assert_clean(notebook, "12_streaming_gateway", cells[: claims + 1])
    plotted = [index for index, cell in enumerate(cells) if cell["images"]]
    shoot(notebook, "12_streaming_gateway", plotted[0] if plotted else None)
    assert plotted, "12_streaming_gateway: section 1 rendered no plot (an img inside .jp-RenderedImage)"
    assert "✓" in cells[claims]["text"], "12_streaming_gateway: section 1's claims showed no ✓ line"


@pytest.mark.parametrize("notebook", [f"zh-TW/{LESSON}"], indirect=True)
def test_zh_tw_lesson_00_reads_in_zh_tw_and_runs_through_its_first_claims(notebook: Any) -> None:
    cells = cells_of(notebook)
    claims = next(i for i, cell in enumerate(cells) if cell["type"] == "code" and "expect(" in cell["source"])
    cells = run_through(notebook, claims, RUN_TIMEOUT_S)
    assert_clean(notebook, "zh_00_start_here", cells[: claims + 1])
    prose = " ".join(cell["source"] for cell in cells if cell["type"] == "markdown")
    assert "預測" in prose, f"zh-TW lesson 00's cells are not in zh-TW: {prose[:300]!r}"
    heading = notebook.locator(".jp-RenderedMarkdown h1").first
    heading.scroll_into_view_if_needed()
    assert "從這裡開始" in heading.inner_text(), f"zh-TW lesson 00 shows the heading {heading.inner_text()!r}"
    assert "✓" in cells[claims]["text"], "zh-TW lesson 00: its first claims showed no ✓ line"
    shoot(notebook, "zh_00_start_here", claims)


@pytest.mark.parametrize("notebook", [f"solutions/{LAB}"], indirect=True)
def test_lab_solution_passes_every_check(notebook: Any) -> None:
    cells = run(notebook, "notebook:run-all-cells", RUN_TIMEOUT_S)
    assert_clean(notebook, "lab01_solution", cells)
    checks = [index for index, cell in enumerate(cells) if is_check(cell)]
    assert checks, f"{LAB}: no check cell found"
    for index in checks:
        if not any(text.endswith(": passed") for text in cells[index]["bold"]):
            fail(notebook, "lab01_solution", index, cells[index], "did not render a passed verdict")
        passed = cell_locator(notebook, index).locator(".jp-RenderedHTMLCommon b", has_text=": passed")
        passed.scroll_into_view_if_needed()
        assert passed.is_visible(), f"lab01_solution: cell {index}'s passed verdict is not visible"
    shoot(notebook, "lab01_solution", checks[-1])


@pytest.mark.parametrize("notebook", [f"labs/{LAB}", f"labs/{STREAMING_LAB}", f"zh-TW/labs/{LAB}"], indirect=True)
def test_lab_starter_fails_its_first_check(notebook: Any, request: pytest.FixtureRequest) -> None:
    path = request.node.callspec.params["notebook"]
    zh = path.startswith("zh-TW/")  # the edition: its checks' feedback is in zh-TW
    name = ("zh_" if zh else "") + Path(path).stem[:5] + "_starter"
    first = next(index for index, cell in enumerate(cells_of(notebook)) if is_check(cell))
    cells = run_through(notebook, first, RUN_TIMEOUT_S)
    assert_clean(notebook, name, cells[:first])
    check, verdict = cells[first], "：尚未通過" if zh else ": not yet"
    if not (check["errors"] and any("[FAIL]" in text and verdict in text for text in check["stderr"])):
        fail(notebook, name, first, check, f"did not render a failed verdict ({verdict!r})")
    if zh and not any("提示" in text or "檢查" in text for text in check["stderr"]):
        fail(notebook, name, first, check, "did not show its feedback in zh-TW")
    failed = cell_locator(notebook, first).locator(STDERR_OUTPUT, has_text="[FAIL]")
    failed.scroll_into_view_if_needed()
    assert failed.is_visible(), f"{name}: cell {first}'s failed verdict is not visible"
    shoot(notebook, name, first)
