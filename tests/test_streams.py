"""The streaming model server (`asgilab.apps.llm`) and ``load(..., stream=True)``: what they count and time."""

from __future__ import annotations

import asyncio
import textwrap
import time

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError

from asgilab import load_sync, serve
from asgilab.apps.llm import token_text
from asgilab.streams import chat_body, is_token_event

FAST = {"ASGILAB_LLM_PREFILL_MS": "150", "ASGILAB_LLM_TOKEN_MS": "20", "ASGILAB_LLM_BATCH_SLOWDOWN": "0"}


@pytest.fixture(scope="module")
def model():
    with serve(
        "asgilab.apps.llm:app", env=FAST | {"ASGILAB_LLM_MAX_SEQS": "4", "ASGILAB_LLM_MAX_QUEUE": "4"}
    ) as server:
        yield server


def stats(server) -> dict:
    return httpx.get(server.url + "/stats", trust_env=False).json()


def reset(server) -> None:
    httpx.post(server.url + "/stats/reset", trust_env=False).raise_for_status()


def test_the_openai_sdk_streams_from_it_unchanged(model) -> None:
    async def chat() -> tuple[list[str], str, str]:
        async with AsyncOpenAI(base_url=model.url + "/v1", api_key="course", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="course-model", messages=[{"role": "user", "content": "Hi"}], stream=True, max_tokens=5
            )
            parts = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
            whole = await client.chat.completions.create(
                model="course-model", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
            )
            with pytest.raises(BadRequestError) as refused:
                await client.chat.completions.create(model="course-model", messages=[], max_tokens=5)
            return parts, whole.choices[0].message.content or "", str(refused.value)

    parts, whole, refused = asyncio.run(chat())
    assert parts == [token_text(i) for i in range(5)]
    assert whole == "".join(parts)
    assert "messages" in refused


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(model, body, field) -> None:
    answer = httpx.post(model.url + "/v1/chat/completions", json=body, trust_env=False)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == field
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_capacity_queues_beyond_max_seqs_and_refuses_beyond_the_queue(model) -> None:
    reset(model)
    run = load_sync(model.url + "/v1/chat/completions", 10, 10, stream=True, body=chat_body(5))
    counts = stats(model)
    assert counts["max_running"] == 4  # ASGILAB_LLM_MAX_SEQS
    assert counts["max_waiting"] == 4  # ASGILAB_LLM_MAX_QUEUE
    assert counts["rejected"] == 2 and run.error_kinds == {"status 503": 2}
    assert counts["started"] == counts["finished"] == 8 == run.ok
    # the second four waited one whole sequence (150 ms + 4 x 20 ms) for their slot
    ttfts = sorted(run.ttfts)
    assert ttfts[4] > ttfts[3] + 0.15, ttfts


def test_load_times_tokens_and_the_first_token(model) -> None:
    run = load_sync(model.url + "/v1/chat/completions", 4, 4, stream=True, body=chat_body(10))
    assert run.ok == 4 and run.tokens == 40
    assert 0.14 <= run.ttft_p50_s <= 0.30  # prefill 150 ms on a loopback: generous for a busy machine
    assert 0.015 <= run.itl_p50_s <= 0.05  # 20 ms a token
    assert all(r.first_byte is not None and r.first_byte < r.token_times[0] for r in run.records)
    d = run.to_dict()
    assert {"ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s", "tpot_mean_s"} <= d.keys()
    assert d["ttft_p50_s"] == run.ttft_p50_s


@pytest.mark.parametrize("leave_after", [3, 0.25])
def test_a_client_that_leaves_cancels_the_sequence(model, leave_after) -> None:
    reset(model)
    run = load_sync(model.url + "/v1/chat/completions", 4, 4, stream=True, body=chat_body(200), leave_after=leave_after)
    assert run.left == 4 and run.latencies == []  # no end-to-end time for a stream left on purpose
    if isinstance(leave_after, int):
        assert all(len(r.token_times) == 3 for r in run.records)
    time.sleep(0.3)
    counts = stats(model)
    assert counts["cancelled"] == 4 and counts["running"] == 0
    assert counts["tokens_generated"] < 4 * 30  # of 4 x 200 asked for
    assert counts["tokens_after_client_left"] <= 4  # at most the token in flight at each departure


def test_a_model_server_that_does_not_abort_generates_for_nobody() -> None:
    env = FAST | {"ASGILAB_LLM_ABORT_ON_DISCONNECT": "0"}
    with serve("asgilab.apps.llm:app", env=env) as server:
        run = load_sync(server.url + "/v1/chat/completions", 2, 2, stream=True, body=chat_body(20), leave_after=2)
        assert run.left == 2
        time.sleep(0.15 + 20 * 0.02 + 0.3)
        counts = stats(server)
    assert counts["finished"] == 2 and counts["cancelled"] == 0
    assert counts["tokens_after_client_left"] >= 2 * 15  # about 18 of each 20 went to nobody


def test_stream_input_is_checked_before_anything_is_sent(model) -> None:
    url = model.url + "/v1/chat/completions"
    for options, words in [
        (dict(stream=True, engine="httpx"), "aiohttp engine"),
        (dict(leave_after=3), "needs stream=True"),
        (dict(stream=True, leave_after=0), "number of tokens"),
        (dict(stream=True, stall_timeout=-1), "stall_timeout"),
    ]:
        with pytest.raises(ValueError, match=words):
            load_sync(url, 1, 1, **options)


def test_an_endpoint_that_does_not_stream_is_said_in_one_sentence(model) -> None:
    with pytest.raises(ValueError, match=r"answered application/json, not text/event-stream"):
        load_sync(model.url + "/stats", 2, 2, stream=True)


def test_a_stalled_stream_ends_at_its_stall_timeout_and_counts_as_failed(tmp_path) -> None:
    (tmp_path / "stalling_stream_app.py").write_text(
        textwrap.dedent("""
        import asyncio
        from fastapi import FastAPI
        from fastapi.responses import StreamingResponse
        app = FastAPI()

        @app.get("/stall")
        async def stall():
            async def events():
                yield "data: first\\n\\n"
                await asyncio.sleep(3600)
            return StreamingResponse(events(), media_type="text/event-stream")
        """)
    )
    with serve("stalling_stream_app:app", app_dir=tmp_path) as server:
        started = time.perf_counter()
        run = load_sync(server.url + "/stall", 3, 3, stream=True, stall_timeout=0.3, timeout=5)
    assert time.perf_counter() - started < 3
    assert run.error_kinds == {"stalled": 3} and run.tokens == 3


def test_token_events() -> None:
    assert not is_token_event("[DONE]")
    assert not is_token_event('{"choices": [{"delta": {"role": "assistant", "content": ""}}]}')
    assert is_token_event('{"choices": [{"delta": {"content": "t0 "}}]}')
    assert is_token_event('{"choices": [{"text": "t0 "}]}')  # the completions API
    assert is_token_event("plain text event")


def test_bench_stream_json_prints_the_stream_keys() -> None:
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "asgilab", "bench", "asgilab.apps.llm:app", "--path", "/v1/chat/completions"]
    command += ["--stream", "-n", "6", "-c", "6", "--max-tokens", "4", "--json"]
    for name, value in FAST.items():
        command += ["--env", f"{name}={value}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["ok"] == 6 and figures["tokens"] == 24
    for key in ("ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s"):
        assert 0 < figures[key] < 1, (key, figures)
    assert figures["ttft_p50_s"] > 0.14  # the 150 ms prefill
    refused = subprocess.run(command[:7] + ["--leave-after", "3"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "go with --stream" in refused.stderr


def test_stream_plots_draw_a_tick_per_token(model) -> None:
    from asgilab import plots

    run = load_sync(model.url + "/v1/chat/completions", 3, 3, stream=True, body=chat_body(4), leave_after=2)
    fig = plots.stream_timeline(run)
    ticks = [line for line in fig.axes[0].lines if line.get_marker() == "|"]
    assert sum(len(line.get_xdata()) for line in ticks) == 6
    fig = plots.ttft([run, run])
    assert len(fig.axes[0].lines) == 2


def test_serve_model_counts_connections_and_its_settings_hold() -> None:
    from asgilab.llm import serve_model

    with serve_model(max_seqs=2, prefill_ms=50, token_ms=10, batch_slowdown=0) as model:
        model.reset()
        run = load_sync(model.chat_url, 6, 6, stream=True, body=chat_body(3))
        figures = model.stats()
    assert run.ok == 6 and figures["max_running"] == 2 and figures["max_seqs"] == 2
    assert figures["connections_opened"] == 6  # the kit opens one connection per stream in flight
    with pytest.raises(ValueError, match="max_seqs"):
        serve_model(max_seqs=0)
