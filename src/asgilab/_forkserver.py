"""Start uvicorn servers by forking a process that has already imported uvicorn and FastAPI.

A fresh interpreter spends about 0.3 s importing them, for every server a lesson, a lab check or the
test suite starts (several hundred in `make test`). `spawn` asks a fork server (``_launch.py
--zygote``, started on first use, one per Python process) for a child that becomes the server as a
fresh ``_launch.py uvicorn ...`` would: its own session, the log file, the folder, the environment and
the parent's pipe (the watchdog). It returns a `Forked`, which `asgilab.Server` uses as it would a
`subprocess.Popen`. Where a fork could differ from a fresh start (gunicorn, another interpreter setting
in the environment, not Linux) or the fork server fails, `spawn` returns None and the caller starts a
fresh process. ``ASGILAB_FORKSERVER=0`` turns it off.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from asgilab._launch import ZYGOTE_FLAG

LAUNCHER = Path(__file__).with_name("_launch.py")
# Environment variables the interpreter reads at startup (a fork keeps the fork server's settings),
# except those the child sets again itself or that are read later, when used.
_RUNTIME_READ = {"PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONASYNCIODEBUG"}
REPLY_TIMEOUT_S = 5.0


class Forked:
    """A forked server process, answering as much of `subprocess.Popen` as `asgilab.Server` uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.pid, self._zygote = pid, zygote
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid, 0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The fork server of this Python process, and the exit codes of the servers it forked."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.environ = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), ZYGOTE_FLAG, str(theirs.fileno())],
            env={**self.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,  # a kernel's interrupt goes to its group, not to us
        )
        theirs.close()
        self.control, self.exits, self.lock = ours, dict[int, int](), threading.Lock()

    def fork(self, argv: list[str], cwd: Path, env: dict[str, str], fds: tuple[int, int]) -> Forked:
        with self.lock:
            request = json.dumps({"argv": argv, "cwd": str(cwd), "env": env}).encode()
            socket.send_fds(self.control, [request], list(fds))
            deadline = time.monotonic() + REPLY_TIMEOUT_S
            while (message := self._next(deadline - time.monotonic())) is not None:
                if "pid" in message:
                    return Forked(self, int(message["pid"]))
            raise OSError("the fork server did not answer")

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """``pid``'s exit code, waiting up to ``timeout`` seconds (None: as long as it runs)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while pid not in self.exits:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    while self._next(0.0) is not None:  # what has arrived already
                        pass
                    return self.exits.get(pid)
                if self.alive:
                    self._next(left)
                elif not psutil.pid_exists(pid):  # the fork server died; init reaped its servers
                    self.exits[pid] = -signal.SIGKILL
                else:
                    time.sleep(0.02 if left is None else min(0.02, left))
            return self.exits[pid]

    def _next(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message, or None when none came within ``timeout`` (exit notices are kept)."""
        ready, _, _ = select.select([self.control], [], [], None if timeout is None else max(timeout, 0.0))
        if not ready:
            return None
        data = self.control.recv(1 << 16)
        if not data:
            return None
        message: dict[str, Any] = json.loads(data)
        if "exit" in message:
            self.exits[int(message["exit"])] = int(message["code"])
        return message

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def spawn(argv: list[str], cwd: Path, env: dict[str, str], fds: tuple[int, int]) -> Forked | None:
    """A forked ``_launch.py`` with ``argv`` (uvicorn's), or None where a fresh process must start."""
    global _zygote
    if sys.platform != "linux" or os.environ.get("ASGILAB_FORKSERVER") == "0" or argv[:1] != ["uvicorn"]:
        return None
    try:
        with _zygote_lock:
            if _zygote is not None and not _zygote.alive:
                _zygote = None
            if not _same_settings(env, _zygote.environ if _zygote is not None else dict(os.environ)):
                return None  # checked first: no fork server is started for a request it cannot take
            _zygote = _zygote or Zygote()
            zygote = _zygote
        return zygote.fork(argv, cwd, env, fds)
    except OSError:
        return None


def _same_settings(env: dict[str, str], zygote_env: dict[str, str]) -> bool:
    """True when ``env`` sets the interpreter as the fork server's was set when it started."""
    settings = {k for k in {*env, *zygote_env} if k.startswith("PYTHON") and k not in _RUNTIME_READ}
    return all(env.get(k) == zygote_env.get(k) for k in settings)
