"""The one rule every server and load of the course follows: this machine's loopback only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["check_loopback", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback(url: str, allow_remote: bool = False) -> None:
    """Refuse any host but this machine's loopback unless ``allow_remote`` is given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    try:
        parts.port  # noqa: B018 (parsing it is the check: ``http://127.0.0.1:8000hello`` has no port)
    except ValueError:
        raise ValueError(f"the port of {url!r} is not a number from 0 to 65535") from None
    if not allow_remote and not is_loopback(parts.hostname):
        raise ValueError(
            f"refusing to send load to {parts.hostname!r}: the course loads only this machine's loopback"
            " (127.0.0.1, ::1, localhost). Pass allow_remote=True only for a server you own."
        )
