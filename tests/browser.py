"""Helpers for the browser test: a JupyterLab server of our own, and a notebook driven in Chromium.

JupyterLab runs with ``--LabApp.expose_app_in_browser=True``, so the page can read the notebook's model
(execution counts, outputs, kernel status) through ``window.jupyterapp``. Every wait has a timeout.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# No autosave (the test must never write a notebook), and every cell attached to the page.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def chromium() -> str | None:
    """The Chromium (or Chrome) executable to drive: $ASGILAB_CHROMIUM, else the first one on PATH."""
    names = [os.environ.get("ASGILAB_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"]
    return next((found for name in names if name and (found := shutil.which(name))), None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab server: where it answers, and its token."""

    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def tree_url(self, path: str) -> str:
        """The address a learner opens a notebook at, in a fresh workspace (``reset``)."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5) -> int:
        """Call the server's REST API; return the HTTP status."""
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _lab_command(root: Path, port: int, token: str, home: Path) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    return [*command, "--allow-root"] if os.geteuid() == 0 else command


def _write_settings(folder: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def _wait_until_answering(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {lab.process.returncode}:\n{lab.log_tail()}")
        try:
            if lab.api("/api/status", timeout=2) == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")


@contextmanager
def jupyter_lab(root: Path, home: Path, timeout: float = 60) -> Iterator[Lab]:
    """Start JupyterLab on ``root`` (settings, workspaces, runtime files under ``home``), kernels strict;
    stop it and every process it started on leaving, even on failure."""
    _write_settings(home / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ, ASGILAB_STRICT="1", JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython")
    )
    log = home / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _lab_command(root, port, token, home), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        _wait_until_answering(lab, timeout)
        yield lab
    finally:
        stop(lab)


def stop(lab: Lab) -> None:
    """Ask the server to shut down (it ends its kernels); then end whatever is left of it, bounded."""
    family = [psutil.Process(lab.process.pid)]
    try:
        family += family[0].children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    try:
        lab.api("/api/shutdown", method="POST")
        lab.process.wait(20)
    except (OSError, subprocess.TimeoutExpired):
        lab.process.send_signal(signal.SIGTERM)
    for proc in family:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=10)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=5)
    lab.process.wait(5)


# The notebook panel a learner sees, read through the JupyterLab application object.
_PANEL = "const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
_READY = (
    "(path) => {" + _PANEL + " const session = panel && panel.sessionContext;"
    " if (document.querySelector('.jp-Dialog')) return true;"
    " return !!(panel && panel.context && panel.context.path === path && panel.context.isReady"
    " && session.session && session.session.kernel && session.kernelDisplayStatus === 'idle');}"
)
# Done: the kernel is idle and every cell of `cells` ran, or one of them failed (the rest are aborted).
_DONE = (
    "(cells) => {" + _PANEL + " if (panel.sessionContext.kernelDisplayStatus !== 'idle') return false;"
    " const code = panel.content.widgets.slice(0, cells).filter((c) => c.model.type === 'code');"
    " const failed = code.some((c) => c.model.outputs.toJSON().some((o) => o.output_type === 'error'));"
    " return failed || code.every((c) => c.model.executionCount !== null);}"
)
_CELLS = (
    "() => {" + _PANEL + " return panel.content.widgets.map((cell) => ({"
    " type: cell.model.type, source: cell.model.sharedModel.getSource(),"
    " count: cell.model.type === 'code' ? cell.model.executionCount : null,"
    " errors: cell.model.type === 'code' ? cell.model.outputs.toJSON().filter((o) => o.output_type === 'error').length : 0,"
    " text: [...cell.node.querySelectorAll('.jp-OutputArea-output')].map((n) => n.innerText).join('\\n'),"
    " stderr: [...cell.node.querySelectorAll('" + STDERR_OUTPUT + "')].map((n) => n.innerText),"
    " bold: [...cell.node.querySelectorAll('.jp-RenderedHTMLCommon b')].map((n) => n.innerText.trim()),"
    " images: cell.node.querySelectorAll('.jp-RenderedImage img').length }));}"
)
# Close without saving: shut the kernel down (10 s at most), mark the document clean (no "save?" dialog),
# close it.
_CLOSE = (
    "async () => {" + _PANEL + " const late = new Promise((done) => setTimeout(done, 10000));"
    " await Promise.race([panel.sessionContext.shutdown(), late]);"
    " panel.context.model.dirty = false; panel.close(); return true;}"
)


_OPEN = "async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'}); return true; }"


def open_notebook(page: Any, lab: Lab, path: str, timeout_s: float = 90) -> None:
    """Open ``path`` at its /lab/tree URL, or, in a page where JupyterLab already runs, as its file
    browser does (loading JupyterLab again costs 4 s a notebook); wait until its kernel is idle; fail on
    a dialog."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.commands)"):
        page.evaluate(_OPEN, path)
    else:
        page.goto(lab.tree_url(path), timeout=timeout_s * 1000)
    try:
        page.wait_for_function(_READY, arg=path, timeout=timeout_s * 1000, polling=250)
    except PlaywrightTimeout:
        raise AssertionError(f"{path}: its kernel was not idle {timeout_s:.0f} s after opening it") from None
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"{path}: a dialog opened with the notebook: {dialog.first.inner_text()}")


def cells_of(page: Any) -> list[dict[str, Any]]:
    """Every cell's type, source, execution count, error outputs, and what its outputs show."""
    return page.evaluate(_CELLS)


def run(page: Any, command: str, timeout_s: float, upto: int = 1_000_000) -> list[dict[str, Any]]:
    """Execute a JupyterLab command (e.g. ``notebook:run-all-cells``) and wait until the first ``upto``
    cells ran, or one failed; return every cell's state. On timeout, say which cell was still running."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("(command) => { window.jupyterapp.commands.execute(command); }", command)
    try:
        page.wait_for_function(_DONE, arg=upto, timeout=timeout_s * 1000, polling=500)
    except PlaywrightTimeout:
        state = cells_of(page)
        index = next((i for i, c in enumerate(state[:upto]) if c["type"] == "code" and c["count"] is None), 0)
        cell = state[index]
        raise AssertionError(
            f"{command}: cell {index} ({first_line(cell)!r}) had not finished after {timeout_s:.0f} s;"
            f" it showed:\n{cell['text'][-3000:]}"
        ) from None
    return cells_of(page)


def run_through(page: Any, index: int, timeout_s: float) -> list[dict[str, Any]]:
    """Run cells 0 to ``index`` included (the cells above cell ``index + 1``), as a learner would."""
    page.evaluate(f"() => {{ {_PANEL} panel.content.activeCellIndex = {index + 1}; }}")
    return run(page, "notebook:run-all-above", timeout_s, index + 1)


def close_notebook(page: Any) -> None:
    """Shut the notebook's kernel down and close it without saving."""
    page.evaluate(_CLOSE)


def cell_locator(page: Any, index: int) -> Any:
    """The DOM node of cell ``index`` (markdown cells included, as in the notebook file)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def first_line(cell: dict[str, Any]) -> str:
    """A cell's first line of source, to name it in a message."""
    return cell["source"].strip().splitlines()[0] if cell["source"].strip() else "(empty)"
