"""The versions a notebook runs on, printed at its top so every figure has a context."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from asgilab.machine import usable_cores

PACKAGES = ("fastapi", "starlette", "uvicorn", "anyio", "httpx", "httpx2", "aiohttp", "matplotlib")


def versions(*extra: str) -> dict[str, str]:
    """Python, the machine's core count and the course's main packages, as name -> version."""
    found = {
        "python": platform.python_version(),
        "platform": f"{sys.platform} ({usable_cores()} cores)",
    }
    for name in (*PACKAGES, *extra):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
