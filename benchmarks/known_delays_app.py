"""An event stream with known delays, for benchmarks/streams.py: a plain ASGI app, no framework.

``GET /?prefill_ms=200&gap_ms=20&events=20``: the first event after ``prefill_ms``, then one every
``gap_ms``, each on a schedule fixed at the request's arrival (so a late event does not push the rest).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    query = {k: float(v[0]) for k, v in parse_qs(scope["query_string"].decode()).items()}
    prefill, gap, events = (
        query.get("prefill_ms", 200) / 1000,
        query.get("gap_ms", 20) / 1000,
        int(query.get("events", 20)),
    )
    arrived = time.perf_counter()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for i in range(events):
        await asyncio.sleep(max(arrived + prefill + i * gap - time.perf_counter(), 0))
        await send({"type": "http.response.body", "body": f"data: e{i}\n\n".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
