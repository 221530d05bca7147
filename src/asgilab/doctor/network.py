"""The checks of this machine's network for the course: proxy settings and free loopback ports."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asgilab.doctor.budget import JUPYTER_PORT, PORTS_NEEDED
from asgilab.doctor.report import Finding, Problem
from asgilab.loopback import NO_PROXY_BEFORE

PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
CHECKED_HOSTS = ("127.0.0.1", "localhost")
SET_NO_PROXY = "export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1"


def proxy(environ: Mapping[str, str] = os.environ, before: Mapping[str, str | None] = NO_PROXY_BEFORE) -> Finding:
    """Which proxy variables are set, and whether loopback bypasses them. ``environ`` is read as
    Python's HTTP clients read it (urllib, httpx, aiohttp and requests prefer ``no_proxy`` to
    ``NO_PROXY``); ``before`` is what ``NO_PROXY`` and ``no_proxy`` were before ``import asgilab``
    added loopback to them. Fails only when a request to 127.0.0.1 or localhost would go through one."""
    found = {name: _redacted(value) for name in PROXY_NAMES if (value := _either(environ, name))}
    no_proxy = _either(environ, "NO_PROXY") or ""
    bypassed = {host: _bypassed(host, no_proxy) for host in CHECKED_HOSTS}
    earlier = _either(before, "NO_PROXY") if before else no_proxy
    figures = {"set": found, "no_proxy": no_proxy, "no_proxy_before_import": earlier, "loopback_bypassed": bypassed}
    if not found:
        return Finding("no proxy variables set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, or lower case)", figures)
    named = ", ".join(f"{name}={value}" for name, value in found.items())
    through = [host for host, ok in bypassed.items() if not ok]
    if through:
        raise Problem(
            f"{named} is set and NO_PROXY ({no_proxy!r}) does not cover {', '.join(through)}: requests to the"
            " course's servers would go to the proxy",
            figures,
        )
    covered = all(_bypassed(h, earlier or "") for h in CHECKED_HOSTS)
    if covered:
        return Finding(f"{named}; NO_PROXY covers loopback ({no_proxy})", figures)
    notes = [
        f"proxy: NO_PROXY did not cover loopback before `import asgilab` ({earlier!r}); Python in the course is"
        f" fine, but curl, wrk or a browser on this machine would use the proxy: {SET_NO_PROXY}"
    ]
    return Finding(f"{named}; `import asgilab` added loopback to NO_PROXY ({no_proxy})", figures, notes)


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``no_proxy`` exempts ``host`` as urllib decides it (aiohttp asks urllib; httpx and
    requests accept these entries too): ``*``, the host itself, or a domain it ends in."""
    if no_proxy.strip() == "*":
        return True
    for entry in no_proxy.split(","):
        name = entry.strip().lstrip(".").lower()
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _either(environ: Mapping[str, str | None], name: str) -> str | None:
    return environ.get(name.lower()) or environ.get(name)


def _redacted(url: str) -> str:
    """A proxy URL without its user name and password (the report is shared with an instructor)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc=f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")).geturl()


def ports(needed: int = PORTS_NEEDED, jupyter_port: int = JUPYTER_PORT) -> Finding:
    """Bind ``needed`` ephemeral loopback ports at once (a lesson's servers, PostgreSQL, a kernel),
    and see whether Jupyter's default port is free (a note when it is not, never a failure)."""
    bound = 0
    with ExitStack() as stack:
        try:
            for _ in range(needed):
                stack.enter_context(socket.socket()).bind(("127.0.0.1", 0))
                bound += 1
        except OSError as exc:
            raise Problem(f"bound only {bound} of {needed} loopback ports at once: {exc}", {"bound": bound}) from None
    free, holder = _port_free(jupyter_port)
    low, high = _ephemeral_range()
    figures: dict[str, Any] = {"bound": bound, "ephemeral_range": [low, high] if low else None}
    figures.update(jupyter_port=jupyter_port, jupyter_port_free=free, jupyter_port_holder=holder)
    span = f" (ephemeral range {low}-{high})" if low else ""
    detail = (
        f"{bound} loopback ports bound at once{span}; Jupyter's port {jupyter_port} is {'free' if free else 'taken'}"
    )
    notes = []
    if not free:
        notes.append(
            f"port {jupyter_port} is taken{f' by {holder}' if holder else ''}: a new `make lab` moves to the next free"
            f" port ({jupyter_port + 1}, ...), so open the URL Jupyter prints and forward that port"
            f" (ssh -L {jupyter_port + 1}:127.0.0.1:{jupyter_port + 1} ...)"
        )
    return Finding(detail, figures, notes)


def _port_free(port: int) -> tuple[bool, str | None]:
    """Whether Jupyter could listen on 127.0.0.1:``port`` (it sets SO_REUSEADDR too), and who holds it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True, None
        except OSError:
            return False, _holder(port)


def _holder(port: int) -> str | None:
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
    except Exception:  # not allowed to see other users' sockets (macOS, no root): no name, same advice
        return None
    return None


def _ephemeral_range(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    try:
        low, high = path.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 0, 0
