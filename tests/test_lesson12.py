"""Lesson 12's claims that rest on the installed packages' sources, and the kit behaviour it needs:
if an upgrade changes one of them, the lesson's prose is out of date."""

from __future__ import annotations

import inspect
import textwrap
import time

import httpx
import pytest

from asgilab import load_sync, serve
from asgilab.streams import LEFT_BEFORE_ANSWER


def test_uvicorn_reports_asgi_2_3_and_its_send_after_a_disconnect_returns_silently() -> None:
    from uvicorn.protocols.http import h11_impl, httptools_impl

    for module in (httptools_impl, h11_impl):
        source = inspect.getsource(module)
        assert '"spec_version": "2.3"' in source
        assert "if self.disconnected:\n            return" in source


def test_starlette_listens_for_the_disconnect_below_2_4_only() -> None:
    from starlette.responses import StreamingResponse

    source = inspect.getsource(StreamingResponse.__call__)
    assert "spec_version >= (2, 4)" in source and "listen_for_disconnect" in source


def test_gzip_skips_event_streams_and_flushes_each_chunk_it_compresses() -> None:
    from starlette.middleware import gzip

    assert "text/event-stream" in gzip.DEFAULT_EXCLUDED_CONTENT_TYPES
    assert "Z_SYNC_FLUSH" in inspect.getsource(gzip.GZipResponder)


def test_gunicorn_reports_2_4_and_its_http1_send_returns_silently() -> None:
    from gunicorn.asgi import protocol

    source = inspect.getsource(protocol)
    assert '"type": "http",\n            "asgi": {"version": "3.0", "spec_version": "2.4"}' in source
    assert "silently ignore send attempts" in source


APP = """
from fastapi import FastAPI, Request
app = FastAPI()

@app.post("/probe")
async def probe(request: Request):
    await request.body()
    return [await request.is_disconnected() for _ in range(3)]
"""


@pytest.mark.parametrize(
    ("server", "options", "answers"),
    [
        ("uvicorn", {}, [False, False, False]),
        ("gunicorn", {"worker_class": "asgi"}, [False, True, True]),  # the quirk lesson 12 warns about
    ],
)
def test_is_disconnected_while_the_client_waits(tmp_path, server, options, answers) -> None:
    (tmp_path / "probe_app.py").write_text(textwrap.dedent(APP))
    with serve("probe_app:app", server=server, app_dir=tmp_path, **options) as running:
        assert httpx.post(running.url + "/probe", content=b"x", trust_env=False).json() == answers


def test_leave_after_seconds_leaves_an_answer_that_has_not_begun(tmp_path) -> None:
    (tmp_path / "late_headers_app.py").write_text(
        textwrap.dedent("""
        import asyncio
        from fastapi import FastAPI
        from fastapi.responses import StreamingResponse
        app = FastAPI()

        @app.get("/late")
        async def late():
            await asyncio.sleep(2)  # a buffering gateway: no headers until the whole answer
            return StreamingResponse(iter(["data: x\\n\\n"]), media_type="text/event-stream")
        """)
    )
    with serve("late_headers_app:app", app_dir=tmp_path) as running:
        started = time.perf_counter()
        run = load_sync(running.url + "/late", 3, 3, stream=True, leave_after=0.2)
        took = time.perf_counter() - started
    assert took < 1.5, took
    assert run.left == 3 and run.ok == 0 and run.tokens == 0
    assert run.error_kinds == {LEFT_BEFORE_ANSWER: 3}
