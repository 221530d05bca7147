"""The one rule every server and load of the course follows: this machine's loopback only."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import MutableMapping
from urllib.parse import urlsplit

from asgilab.i18n import _f

__all__ = ["LOOPBACK_HOSTS", "NO_PROXY_BEFORE", "bypass_proxies_for_loopback", "check_loopback", "is_loopback"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# ``no_proxy`` and ``NO_PROXY`` as this process's environment had them before the first call below
# changed them (``import asgilab`` makes it): `python -m asgilab doctor` reports them, and gives them
# back to the kernel it starts, as a learner's Jupyter would.
NO_PROXY_BEFORE: dict[str, str | None] = {}


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
        raise ValueError(_f("expected an http:// or https:// URL, got {url!r}", url=url))
    try:
        parts.port  # noqa: B018 (parsing it is the check: ``http://127.0.0.1:8000hello`` has no port)
    except ValueError:
        raise ValueError(_f("the port of {url!r} is not a number from 0 to 65535", url=url)) from None
    if not allow_remote and not is_loopback(parts.hostname):
        raise ValueError(
            _f(
                "refusing to send load to {host!r}: the course loads only this machine's loopback"
                " (127.0.0.1, ::1, localhost). Pass allow_remote=True only for a server you own.",
                host=parts.hostname,
            )
        )


def bypass_proxies_for_loopback(environ: MutableMapping[str, str] = os.environ) -> str:
    """Add `LOOPBACK_HOSTS` to ``NO_PROXY`` and ``no_proxy``, keeping the entries of both; return the value.

    ``import asgilab`` calls it, so that with ``HTTP_PROXY`` (or ``HTTPS_PROXY``, ``ALL_PROXY``) set, a
    notebook's plain ``httpx.get`` or ``requests.get`` to the course's servers, aiohttp with
    ``trust_env=True``, and the server processes `asgilab.serve` starts (they inherit the environment)
    all go straight to 127.0.0.1 instead of through the proxy. Both spellings get the same value:
    requests and urllib (which httpx and aiohttp read) prefer the lower-case one when both are set.
    httpx 0.29 turns a plain IPv4 entry into ``all://127.0.0.1``, ``::1`` into ``all://[::1]`` and
    ``localhost`` into ``all://localhost``, each for any port (``httpx/_utils.py``,
    `get_environment_proxies`); requests 2.34 compares IPv4 hosts whole and other hosts by suffix
    (``requests/utils.py``, `should_bypass_proxies`).
    """
    if environ is os.environ and not NO_PROXY_BEFORE:
        NO_PROXY_BEFORE.update({name: environ.get(name) for name in ("no_proxy", "NO_PROXY")})
    entries: list[str] = []
    for name in ("no_proxy", "NO_PROXY"):
        for entry in environ.get(name, "").split(","):
            if entry.strip() and entry.strip() not in entries:
                entries.append(entry.strip())
    entries += [host for host in LOOPBACK_HOSTS if host not in entries]
    value = ",".join(entries)
    environ["no_proxy"] = environ["NO_PROXY"] = value
    return value
