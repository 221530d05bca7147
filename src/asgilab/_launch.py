"""Entry point of a server process: uvicorn's (or gunicorn's) own command line, plus a watchdog.

`asgilab.serve` starts ``python .../asgilab/_launch.py uvicorn|gunicorn <arguments>`` (a script, so that the
`asgilab` package, which the server does not need, is not imported) in a new process group and
hands it the read end of a pipe whose write end only the parent holds. When the parent dies in any
way (``kill -9`` of a Jupyter kernel included) the pipe reports end-of-file, and the watchdog ends
the whole process group, so uvicorn's worker processes go too.

``_launch.py --zygote FD`` is the same script as a fork server (see `asgilab._forkserver`): it imports
uvicorn and FastAPI once, then forks a process for each uvicorn server asked for on the socket FD,
which becomes that server exactly as a fresh ``_launch.py uvicorn ...`` would (0.3 s of imports saved
per start). It exits when the socket closes, which it does when the process that started it dies.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

GRACE_S = 2.0
PARENT_FD_ENV = "ASGILAB_PARENT_FD"  # which inherited pipe end to watch (set by `asgilab.serve`)
ZYGOTE_FLAG = "--zygote"
PRELOADED = ("uvicorn.main", "uvicorn.loops.auto", "uvicorn.protocols.http.auto", "fastapi")


def _end_group_when_parent_dies(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except OSError:
        pass
    group = os.getpgid(0)
    os.killpg(group, signal.SIGTERM)  # uvicorn shuts down gracefully and reaps its workers
    time.sleep(GRACE_S)
    os.killpg(group, signal.SIGKILL)


def _zygote(control_fd: int) -> dict[str, Any] | None:
    """Fork a child for each request on the socket; return the request in the child, None at the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel's interrupt is not meant for us
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except Exception:  # the server it is for reports the failure itself
            continue
    control, children = socket.socket(fileno=control_fd), set[int]()
    woken, wake = os.pipe()  # a child's exit writes to it, so the loop sleeps until there is work
    os.set_blocking(wake, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake)
    try:
        while True:
            ready, _, _ = select.select([control.fileno(), woken], [], [], 1.0)
            if woken in ready:
                os.read(woken, 512)
            _report_exits(control, children)
            if control.fileno() not in ready:
                continue
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
            if not data:
                return None  # the parent closed its end, or died
            pid = os.fork()
            if pid == 0:
                control.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                os.close(woken)
                os.close(wake)
                return {**json.loads(data), "fds": fds}
            for fd in fds:
                os.close(fd)
            children.add(pid)
            control.send(json.dumps({"pid": pid}).encode())
    except OSError:  # the parent went away mid-message
        return None


def _report_exits(control: socket.socket, children: set[int]) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            control.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def _become_server(request: dict[str, Any]) -> None:
    """In the forked child: the session, files, folder, environment and arguments of a fresh start."""
    log_fd, watched_fd = request["fds"]
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(devnull)
    os.close(log_fd)
    os.chdir(request["cwd"])
    ours = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [p for p in sys.path if p not in ours]
    sys.path[:0] = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ.clear()
    os.environ.update(request["env"], **{PARENT_FD_ENV: str(watched_fd)})
    sys.argv = [sys.argv[0], *request["argv"]]


def _stop_promptly() -> None:
    """uvicorn notices a shutdown signal at its next 0.1 s tick, then pauses 0.1 s for its connections
    to close, even when none is open: 0.15 s on average for every server a lesson or the test suite
    stops (several hundred in `make test`). Wake its loop on the signal instead, and skip that first
    pause when no connection is open. Everything else about its shutdown (closing connections, waiting
    for tasks, the lifespan's shutdown) is uvicorn's own."""
    import asyncio
    import types

    from uvicorn import server as uvicorn_server

    cls = uvicorn_server.Server
    handle_exit, shutdown = cls.handle_exit, cls.shutdown
    wake: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    skip_pause = [False]

    async def sleep(delay: float, result: Any = None) -> Any:
        if skip_pause[0]:  # only the pause right after asking the (no) connections to close
            skip_pause[0] = False
            return result
        return await asyncio.sleep(delay, result)

    async def main_loop(self: Any) -> None:
        wake[:] = [(asyncio.get_running_loop(), asyncio.Event())]
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(wake[0][1].wait(), 0.1)
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    def on_signal(self: Any, sig: int, frame: Any) -> None:
        handle_exit(self, sig, frame)
        if wake:  # threadsafe: it writes to the loop's wake-up pipe, so a select() in progress returns
            loop, event = wake[0]
            loop.call_soon_threadsafe(event.set)

    async def quick_shutdown(self: Any, sockets: Any = None) -> None:
        skip_pause[0] = not self.server_state.connections
        try:
            await shutdown(self, sockets)
        finally:
            skip_pause[0] = False

    # A namespace standing in for the asyncio module inside uvicorn.server only, and the methods replaced.
    uvicorn_server.asyncio = types.SimpleNamespace(**{**vars(asyncio), "sleep": sleep})  # type: ignore[attr-defined, assignment]  # a module's name rebound on purpose
    cls.main_loop, cls.handle_exit, cls.shutdown = main_loop, on_signal, quick_shutdown  # type: ignore[method-assign]  # patched on purpose


def _supervisor_acts_on_signals() -> None:
    """uvicorn's --workers supervisor queues a signal and reads the queue every 0.5 s (uvicorn 0.55's
    `Multiprocess.run`): 0.25 s on average for every multi-worker stop. Its handlers also act on the
    queue at once, in the main thread as Python runs every handler, by uvicorn's own `handle_signals`."""
    import signal as signals

    from uvicorn.supervisors import multiprocess

    init = multiprocess.Multiprocess.__init__

    def acting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for sig in (signals.SIGTERM, signals.SIGINT):
            queue_it = signals.getsignal(sig)
            if callable(queue_it):
                signals.signal(sig, _then_act(queue_it, self))

    multiprocess.Multiprocess.__init__ = acting_init  # type: ignore[method-assign]  # patched on purpose


def _then_act(queue_it: Any, supervisor: Any) -> Any:
    def handler(sig: int, frame: Any) -> None:
        queue_it(sig, frame)
        supervisor.handle_signals()

    return handler


def main() -> None:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).parent.resolve():
        del sys.path[0]  # run as a script: the package's folder must not shadow the app's modules
    if sys.argv[1:2] == [ZYGOTE_FLAG]:
        request = _zygote(int(sys.argv[2]))
        if request is None:
            return
        _become_server(request)
    fd = os.environ.pop(PARENT_FD_ENV, None)
    if fd is not None:
        threading.Thread(target=_end_group_when_parent_dies, args=(int(fd),), daemon=True).start()
    program, args = sys.argv[1], sys.argv[2:]
    if program == "gunicorn":
        from gunicorn.app.wsgiapp import run  # type: ignore[import-untyped]  # gunicorn ships no types

        sys.argv = ["gunicorn", *args]
        run(prog="gunicorn")
    else:
        from uvicorn.main import main as uvicorn_main

        _stop_promptly()
        _supervisor_acts_on_signals()
        uvicorn_main(args=args, prog_name="uvicorn")


if __name__ == "__main__":
    main()
