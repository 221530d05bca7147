"""asgilab: run real ASGI servers and measure them, for the course notebooks.

    from asgilab import serve, load
    with serve("asgilab.apps.demo:app") as server:
        run = await load(server.url + "/async-sleep?ms=100", requests=100, concurrency=100)
    run

Importing it adds 127.0.0.1, localhost and ::1 to ``NO_PROXY`` and ``no_proxy`` (see
`asgilab.loopback.bypass_proxies_for_loopback`): with ``HTTP_PROXY`` set, calls to the course's servers
then go straight to them.

`plots`, `upstream`, `postgres`, `external`, `model` and `checks` are imported on first use, so a server
process started by `serve` does not pay for matplotlib or FastAPI it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from asgilab.claims import ClaimFailed, expect
from asgilab.env import versions
from asgilab.load import ENGINES, bursts, load, load_sync
from asgilab.loopback import bypass_proxies_for_loopback
from asgilab.machine import CpuWatch, Speedup, cpu_watch, speedup
from asgilab.results import Record, Run, table
from asgilab.server import Server, ServerError, serve, stop_all

__version__ = "0.1.0"

# Every loopback call of the course bypasses a proxy set in the environment, ours and the learner's alike.
bypass_proxies_for_loopback()

__all__ = [
    "ENGINES",
    "Record",
    "bursts",
    "ClaimFailed",
    "CpuWatch",
    "cpu_watch",
    "expect",
    "Run",
    "Server",
    "ServerError",
    "load",
    "load_sync",
    "plots",
    "postgres",
    "serve",
    "Speedup",
    "speedup",
    "stop_all",
    "table",
    "upstream",
    "versions",
]

if TYPE_CHECKING:
    from asgilab import plots, postgres, upstream


def __getattr__(name: str) -> Any:
    if name in ("plots", "upstream", "postgres", "checks", "external", "model", "llm", "streams"):
        return importlib.import_module(f"asgilab.{name}")
    raise AttributeError(f"module 'asgilab' has no attribute {name!r}")
