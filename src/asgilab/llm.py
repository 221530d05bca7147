"""The course's model server (`asgilab.apps.llm`), served with its settings and read through its counters.

    from asgilab.llm import serve_model
    with serve_model(max_seqs=8, prefill_ms=100, token_ms=20) as model:
        client = AsyncOpenAI(base_url=model.url + "/v1", api_key="course")
        ...
        model.stats()   # started, finished, cancelled, tokens_generated, tokens_after_client_left, ...

It counts the TCP connections it is sent (``connections_opened``), as lesson 04's upstream does, so
a gateway that opens a client per request shows here.
"""

from __future__ import annotations

from typing import Any

from asgilab.server import Server

__all__ = ["ModelServer", "serve_model", "CHAT_PATH"]

CHAT_PATH = "/v1/chat/completions"


class ModelServer(Server):
    """A `Server` of the model, with `stats` and `reset` (each call on a connection of its own, left out)."""

    _own_connections = 0

    @property
    def chat_url(self) -> str:
        return self.url + CHAT_PATH

    def stats(self) -> dict[str, Any]:
        import httpx

        self._own_connections += 1
        with httpx.Client(base_url=self.url, timeout=5, trust_env=False) as client:
            figures: dict[str, Any] = client.get("/stats").raise_for_status().json()
        figures["connections_opened"] -= self._own_connections
        figures["connections_open"] -= 1  # this call's own, open while it was answered
        return figures

    def reset(self) -> None:
        """Zero the counters (sequences still running keep running)."""
        import httpx

        self._own_connections = 0  # this call opened its connection before the count was zeroed
        with httpx.Client(base_url=self.url, timeout=5, trust_env=False) as client:
            client.post("/stats/reset").raise_for_status()


def serve_model(
    max_seqs: int = 8,
    prefill_ms: float = 100,
    token_ms: float = 20,
    batch_slowdown: float = 0.05,
    max_queue: int = 1000,
    abort_on_disconnect: bool = True,
    **options: Any,
) -> ModelServer:
    """A `ModelServer`; start it with ``with``. Its settings are those of `asgilab.apps.llm`."""
    if max_seqs < 1 or max_queue < 0 or prefill_ms < 0 or token_ms < 0 or batch_slowdown < 0:
        raise ValueError("max_seqs must be 1 or more; max_queue, prefill_ms, token_ms and batch_slowdown 0 or more")
    env = {
        "ASGILAB_LLM_MAX_SEQS": str(max_seqs),
        "ASGILAB_LLM_PREFILL_MS": str(prefill_ms),
        "ASGILAB_LLM_TOKEN_MS": str(token_ms),
        "ASGILAB_LLM_BATCH_SLOWDOWN": str(batch_slowdown),
        "ASGILAB_LLM_MAX_QUEUE": str(max_queue),
        "ASGILAB_LLM_ABORT_ON_DISCONNECT": "1" if abort_on_disconnect else "0",
        **options.pop("env", {}),
    }
    return ModelServer("asgilab.apps.llm:app", http="asgilab.apps.upstream:CountingProtocol", env=env, **options)
