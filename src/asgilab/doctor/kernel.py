"""Start a real Jupyter kernel, as JupyterLab would, and have a cell in it fetch a page from a server
on 127.0.0.1: the path every lesson takes (kernel, loopback, the environment's proxy settings)."""

from __future__ import annotations

import http.server
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from asgilab.doctor.budget import KERNEL_TIMEOUT_S
from asgilab.doctor.report import Finding, Problem
from asgilab.loopback import NO_PROXY_BEFORE

# The cell imports asgilab first, as every notebook does, then asks with urllib, which honours the
# proxy variables (so do httpx, aiohttp with trust_env=True, and requests).
CELL = """\
import json, sys, time, urllib.request
start = time.perf_counter()
import asgilab
with urllib.request.urlopen({url!r}, timeout=10) as response:
    body = response.read().decode()
print(json.dumps({{"body": body, "s": time.perf_counter() - start, "executable": sys.executable,
                  "asgilab": asgilab.__version__}}))
"""
INSTALL_IN_KERNEL = (
    "the kernel's Python lacks the course: open the course's Jupyter (`make lab`), pick the kernel of the"
    " course's Python, or install the course into that Python (`python -m pip install .` in the course folder)"
)


def kernel_reaches_loopback(kernel_name: str = "python3", timeout: float = KERNEL_TIMEOUT_S) -> Finding:
    """Start kernel ``kernel_name`` (with the environment a learner's Jupyter would give it), run
    `CELL` in it against a loopback server started here, and shut the kernel down whatever happens."""
    from jupyter_client.manager import KernelManager

    with _token_server() as (url, token), tempfile.TemporaryFile("w+") as errors:
        manager, begin = KernelManager(kernel_name=kernel_name), time.perf_counter()
        manager.start_kernel(env=_learner_env(), stdout=subprocess.DEVNULL, stderr=errors)
        client = manager.client()
        try:
            client.start_channels()
            _wait_ready(client, timeout, errors)
            started = time.perf_counter() - begin
            outputs = _run(client, CELL.format(url=url), timeout)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    seen = outputs.get("stdout", "")
    try:
        answer: dict[str, Any] = json.loads(seen.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Problem(f"the cell in the kernel printed {seen[:200]!r}, not its answer") from None
    if answer.get("body") != token:
        raise Problem(f"a kernel's request to {url} got {answer.get('body')!r}, not the doctor's page (a proxy?)")
    figures = {"kernel": kernel_name, "start_s": round(started, 3), "request_s": round(answer["s"], 3)}
    figures.update(executable=answer["executable"], asgilab=answer["asgilab"])
    return Finding(
        f"kernel {kernel_name!r} started in {started:.1f} s, imported asgilab and fetched a page from 127.0.0.1"
        f" in {answer['s']:.2f} s; shut down",
        figures,
    )


def _learner_env() -> dict[str, str]:
    """This environment with NO_PROXY as it was before ``import asgilab`` here: the kernel's own
    import must do the bypass, as it does in a learner's Jupyter."""
    env = dict(os.environ)
    for name, value in NO_PROXY_BEFORE.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _wait_ready(client: Any, timeout: float, errors: IO[str]) -> None:
    try:
        client.wait_for_ready(timeout=timeout)
    except RuntimeError as exc:  # it died, or did not answer in time
        errors.seek(0)
        last = [line for line in errors.read().splitlines() if line.strip()][-1:]
        raise Problem(f"the kernel did not start: {exc}{': ' + last[0] if last else ''}") from None


def _run(client: Any, code: str, timeout: float) -> dict[str, str]:
    """Run ``code``; its printed text by stream name. A cell that raised fails the check, with its error."""
    printed: dict[str, str] = {}
    raised: list[str] = []

    def output(message: dict[str, Any]) -> None:
        content = message["content"]
        if message["msg_type"] == "stream":
            printed[content["name"]] = printed.get(content["name"], "") + content["text"]
        elif message["msg_type"] == "error":
            raised.append(f"{content['ename']}: {content['evalue']}")

    try:
        reply = client.execute_interactive(code, timeout=timeout, output_hook=output, allow_stdin=False)
    except TimeoutError:
        raise Problem(f"the cell in the kernel did not finish within {timeout:g} s") from None
    if reply["content"]["status"] != "ok" or raised:
        error = raised[0] if raised else reply["content"].get("evalue", "?")
        fix = INSTALL_IN_KERNEL if "asgilab" in error and "No module" in error else None
        raise Problem(f"the cell in the kernel failed: {error}", fix=fix)
    return printed


@contextmanager
def _token_server() -> Iterator[tuple[str, str]]:
    """A server on 127.0.0.1 (a free port) that answers every GET with a token of its own."""
    token = secrets.token_hex(8)

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = token.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/doctor", token
    finally:
        server.shutdown()
        server.server_close()
