"""Live uvicorn (or gunicorn) servers that always start (or fail clearly) and always die.

    with serve("asgilab.apps.demo:app") as server:
        ...  # server.url, server.pid, server.logs()
    with serve("flask_app:app", server="gunicorn", threads=8, worker_class="gthread"):
        ...

The server is the real ``uvicorn`` (or ``gunicorn``, Unix only) command line in a subprocess, on 127.0.0.1 and a free port, in a
process group of its own (a uvicorn server is forked from a process that has imported uvicorn and FastAPI
already: see `_forkserver`). Stopping ends the whole group (workers included) and reaps it; so does the
end of the Python process that started it, even a ``kill -9`` of a Jupyter kernel (see `_launch`).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import psutil

from asgilab import _forkserver
from asgilab._launch import PARENT_FD_ENV
from asgilab.i18n import _, _f
from asgilab.loopback import is_loopback
from asgilab.machine import process_cpu_s

__all__ = ["Server", "ServerError", "serve", "stop_all", "running_servers"]

LAUNCHER = _forkserver.LAUNCHER  # the server process's entry point (see _launch)
STARTUP_TIMEOUT_S = 8.0  # plus at most FAILED_STOP_GRACE_S: a failed start is reported within 10 s
STOP_GRACE_S = 3.0
FAILED_STOP_GRACE_S = 1.0
LOG_TAIL_LINES = 25

_running: set[Server] = set()
_lock = threading.Lock()


class ServerError(RuntimeError):
    """A server could not start. The message ends with the tail of the server's own output."""


class Server:
    """One uvicorn server process group. Use `serve` to make one."""

    def __init__(
        self,
        app: str,
        *,
        workers: int = 1,
        server: str = "uvicorn",
        host: str = "127.0.0.1",
        port: int | None = None,
        app_dir: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        **options: Any,
    ) -> None:
        if ":" not in app:
            raise ValueError(_f("app must look like 'module:attribute', e.g. 'lab02_app:app'; got {app!r}", app=app))
        if not is_loopback(host):
            raise ValueError(_f("course servers bind to loopback only (127.0.0.1, ::1); got host {host!r}", host=host))
        if server not in _READY_MARKERS:
            raise ValueError(
                _f("server must be one of {servers}, got {server!r}", servers=sorted(_READY_MARKERS), server=server)
            )
        if server == "gunicorn" and sys.platform == "win32":
            raise ValueError(_("gunicorn runs on Unix only; on Windows serve a WSGI app through a2wsgi under uvicorn"))
        if workers < 1:
            raise ValueError(_("workers must be at least 1"))
        if options.get("reload"):
            raise ValueError(_("reload is not supported: stop and serve again after an edit"))
        self.app = app
        self.workers = workers
        self.server = server
        self.host = host
        self.requested_port = port
        self.port: int | None = port
        self.app_dir = Path(app_dir) if app_dir is not None else Path.cwd()
        self.env = env or {}
        self.startup_timeout = startup_timeout
        defaults = {"log_level": "info", "access_log": False} if server == "uvicorn" else {"log_level": "info"}
        self.options = {**defaults, **options}
        self.scheme = "https" if "ssl_certfile" in options else "http"
        self.process: subprocess.Popen[bytes] | _forkserver.Forked | None = None
        self._log: Any = None  # an unnamed temporary file: nothing is left on disk, even after a kill -9
        self._parent_fd: int | None = None

    # -- public -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:53117`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("server not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("server not started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's whole process group: the server,
        its workers and process pools, including children that already exited. Read it before and
        after a run: the difference over the wall time is how many cores the server kept busy."""
        return sum(self.cpu_by_process().values()) + self._reaped_children_cpu()

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds so far of each live process of the server (supervisor, workers, pools)."""
        if self.process is None:
            raise RuntimeError("server not started")
        found = {}
        for proc in _group_members(self.process.pid):
            try:
                found[proc.pid] = process_cpu_s(proc)
            except psutil.NoSuchProcess:
                continue
        return found

    def _reaped_children_cpu(self) -> float:
        try:
            leader = psutil.Process(self.pid)
            return process_cpu_s(leader, reaped=True) - process_cpu_s(leader)
        except psutil.NoSuchProcess:
            return 0.0

    def logs(self) -> str:
        """Everything the server printed so far (stdout and stderr together)."""
        if self._log is None:
            return ""
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def start(self) -> Self:
        """Start and wait until *this* process answers HTTP; raise `ServerError` otherwise."""
        if self.running:
            return self
        attempts = 1 if self.requested_port is not None else 3
        for attempt in range(attempts):
            self._spawn()
            try:
                self._wait_until_ready()
                return self
            except _PortTaken:
                self.stop(FAILED_STOP_GRACE_S)  # another program took the free port we picked; pick another
                if attempt == attempts - 1:
                    raise ServerError(self._failure(_f("port {port} is in use", port=self.port))) from None
        raise AssertionError("unreachable")

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """End the process group (SIGTERM, then SIGKILL after ``grace`` seconds) and reap it."""
        process, self.process = self.process, None
        with _lock:
            _running.discard(self)
        if process is None:
            self._close_parent_pipe()
            return
        members = _group_members(process.pid)
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
        # Closed only now: the watchdog would otherwise cut the grace period short.
        self._close_parent_pipe()
        # Workers orphaned by a killed supervisor are reaped by init; wait until they are gone.
        _wait_ended(members, STOP_GRACE_S)

    def _close_parent_pipe(self) -> None:
        if self._parent_fd is not None:
            os.close(self._parent_fd)
            self._parent_fd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.url}, pid {self.pid}" if self.running else "stopped"
        return f"<Server {self.server} {self.app} workers={self.workers} {state}>"

    # -- internals ----------------------------------------------------------------------
    def _command(self) -> list[str]:
        # Run as a script, not `-m asgilab._launch`: importing the package would cost every server 0.2 s.
        args = [sys.executable, str(LAUNCHER), self.server, self.app]
        if self.server == "gunicorn":
            args += ["--bind", f"{self.url.split('://')[1]}", "--chdir", str(self.app_dir)]
            args += ["--workers", str(self.workers)]
        else:
            args += ["--host", self.host, "--port", str(self.port), "--app-dir", str(self.app_dir)]
            if self.workers > 1:
                args += ["--workers", str(self.workers)]
        for name, value in self.options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value is False:
                args.append("--no-" + name.replace("_", "-"))
            elif isinstance(value, (list, tuple)):
                for item in value:
                    args += [flag, str(item)]
            elif value is not None:
                args += [flag, str(value)]
        return args

    def _spawn(self) -> None:
        if self.requested_port is None:
            self.port = _free_port(self.host)
        read_fd, write_fd = os.pipe()  # both non-inheritable; the child gets read_fd via pass_fds
        if self._log is not None:  # a retry after a port clash starts a fresh log
            self._log.close()
        self._log = tempfile.TemporaryFile(prefix="asgilab-server-", suffix=".log")  # noqa: SIM115 (open for logs())
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", PARENT_FD_ENV: str(read_fd)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.app_dir), env.get("PYTHONPATH")]))
        try:
            command = self._command()
            self.process = _forkserver.spawn(command[2:], self.app_dir, env, (self._log.fileno(), read_fd))
            self.process = self.process or subprocess.Popen(
                command,
                cwd=self.app_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log.fileno(),
                stderr=subprocess.STDOUT,
                pass_fds=(read_fd,),
                start_new_session=True,  # its own process group, so stop() can end workers too
            )
        finally:
            os.close(read_fd)
        self._parent_fd = write_fd
        with _lock:
            _running.add(self)

    def _wait_until_ready(self) -> None:
        assert self.process is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                if self.requested_port is None and "address already in use" in self.logs().lower():
                    raise _PortTaken
                message = self._failure(_f("exited with code {code} before it was ready", code=code))
                self.stop(FAILED_STOP_GRACE_S)
                raise ServerError(message)
            if time.monotonic() > deadline:
                message = self._failure(
                    _f(
                        "did not become ready within {timeout:g} s"
                        " (a lifespan startup that never finishes? an import that hangs?)",
                        timeout=self.startup_timeout,
                    )
                )
                self.stop(FAILED_STOP_GRACE_S)
                raise ServerError(message)
            if self._listening_is_ours() and self._workers_started() and self._answers_http():
                return
            time.sleep(0.02)

    def _listening_is_ours(self) -> bool:
        """True when a process of our group listens on our port, so a clash cannot fool us."""
        assert self.process is not None
        for proc in _group_members(self.process.pid):
            try:
                conns = proc.net_connections(kind="inet")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port for c in conns):
                return True
        return False

    def _workers_started(self) -> bool:
        if self.options.get("log_level") not in ("info", "debug", "trace"):
            return True
        return self.logs().count(_READY_MARKERS[self.server]) >= self.workers

    def _answers_http(self) -> bool:
        """Any HTTP response to ``GET /`` (404 included) means the app is being served; so does a
        connection accepted and closed without one (the app failed on ``/``: the check says why)."""
        assert self.port is not None
        if self.scheme == "https":
            return True  # a TLS listener owned by us after startup is serving; skip the handshake
        try:
            with socket.create_connection((self.host, self.port), timeout=2.0) as sock:
                sock.sendall(f"GET / HTTP/1.1\r\nHost: {self.host}\r\nConnection: close\r\n\r\n".encode())
                return sock.recv(5) in (b"HTTP/", b"")
        except TimeoutError:
            return True  # accepted but `/` is slow: uvicorn only accepts once startup is complete
        except OSError:
            return False

    def _failure(self, what: str) -> str:
        tail = "\n".join(self.logs().splitlines()[-LOG_TAIL_LINES:]) or _("(the server printed nothing)")
        return _f(
            "server for {app!r} {what}.\n--- last lines of its output ---\n{tail}", app=self.app, what=what, tail=tail
        )


class _PortTaken(Exception):
    pass


# A line each worker prints once it has imported the app (needs log level info).
_READY_MARKERS = {"uvicorn": "Started server process", "gunicorn": "Booting worker with pid"}


def serve(app: str, *, workers: int = 1, **options: Any) -> Server:
    """A `Server` for ``app`` ("module:attribute"); use it in ``with`` or call ``.start()``.

    Extra keyword arguments become command-line options of the server: ``limit_concurrency=10``
    becomes ``--limit-concurrency 10``, ``access_log=True`` becomes ``--access-log``,
    ``access_log=False`` becomes ``--no-access-log``. Our uvicorn defaults: ``log_level="info"``,
    ``access_log=False`` (logging every request slows the server down).
    ``server="gunicorn"`` runs gunicorn instead (Unix only), e.g. ``worker_class="gthread", threads=8``.
    Also: ``port`` (default: a free one), ``app_dir`` (default: the current directory),
    ``env`` (extra environment variables), ``startup_timeout`` (seconds, default 8; a failed start is reported within 10).
    """
    return Server(app, workers=workers, **options)


def running_servers() -> list[Server]:
    with _lock:
        return list(_running)


def stop_all() -> int:
    """Stop every server this Python process started and has not stopped; return how many."""
    servers = running_servers()
    for server in servers:
        server.stop()
    return len(servers)


atexit.register(stop_all)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _group_members(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _wait_ended(processes: list[psutil.Process], timeout: float) -> None:
    """Wait until each process has exited: gone, or a zombie (dead, waiting for whoever adopted it to
    reap it; `psutil.wait_procs` waits for that too, and some inits reap only every few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_is_running(process) for process in processes):
        time.sleep(0.01)


def _is_running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session made the server the leader: group id == pid
    except ProcessLookupError:
        pass
