"""Lesson 08, section 6: a `def` endpoint cannot be cancelled, but it can stop itself by asking the
event loop, from its worker thread, whether its client has gone (`anyio.from_thread.run`)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from asgilab import serve

APP = """
import time
from collections import Counter

import anyio.from_thread
from fastapi import FastAPI, Request

app = FastAPI()
counts = Counter()


@app.get("/watchful-def")
def watchful_def(request: Request):
    for _ in range(20):  # one second of blocking work, in 50 ms steps, in a worker thread
        if anyio.from_thread.run(request.is_disconnected):
            counts["stopped early"] += 1
            return {"done": False}
        time.sleep(0.05)
    counts["finished"] += 1
    return {"done": True}


@app.get("/counts")
async def get_counts():
    return counts
"""


@pytest.mark.timeout(30)
def test_a_def_endpoint_stops_itself_when_its_client_leaves(tmp_path: Path) -> None:
    (tmp_path / "l08_def_disconnect_app.py").write_text(APP)
    with serve("l08_def_disconnect_app:app", app_dir=tmp_path) as server:
        with httpx.Client(base_url=server.url, trust_env=False) as client:
            assert client.get("/watchful-def", timeout=5).json() == {"done": True}  # a client that waits: all the work
            for _ in range(3):
                with pytest.raises(httpx.ReadTimeout):
                    client.get("/watchful-def", timeout=0.2)  # the client leaves after 0.2 s
            deadline, counts = time.monotonic() + 5, {}
            while sum(counts.values()) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
                counts = client.get("/counts", timeout=5).json()
    assert counts == {"finished": 1, "stopped early": 3}, counts
