"""`serve`: starts for real, fails clearly and fast, and never leaves a process behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import psutil
import pytest

from asgilab import ServerError, serve, stop_all
from asgilab.server import STARTUP_TIMEOUT_S, running_servers
from conftest import ROOT, server_processes


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def write(folder, name: str, source: str) -> None:
    (folder / name).write_text(textwrap.dedent(source))


def test_serves_the_app_on_loopback_and_stops_the_whole_group():
    with serve("asgilab.apps.demo:app") as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, body = get(server.url + "/hello")
        assert status == 200 and b"hello" in body
        pid = server.pid
        assert "Started server process" in server.logs()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert pid not in [p.pid for p in server_processes()]


def test_start_and_stop_without_with_and_stop_all():
    first = serve("asgilab.apps.demo:app").start()
    second = serve("asgilab.apps.demo:app").start()
    assert {first, second} <= set(running_servers())
    assert stop_all() >= 2
    assert not first.running and not second.running
    first.stop()  # stopping twice is harmless


def test_workers_2_stop_ends_every_worker_promptly_and_gracefully():
    server = serve("asgilab.apps.demo:app", workers=2).start()
    members = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    assert len(members) >= 3, "expected a supervisor and two workers"
    assert get(server.url + "/ping")[0] == 200
    start = time.monotonic()
    server.stop()
    took = time.monotonic() - start
    # Every one has exited when stop() returns (a zombie has: some inits reap orphans only every few s).
    assert not [p for p in members if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # The supervisor acts on SIGTERM at once (uvicorn alone reads its signals every 0.5 s), workers shut
    # down gracefully: 0.3 s here, was 2.3 s when stop() also waited for init to reap the zombies.
    assert took < 1.5, f"stopping 2 workers took {took:.2f} s"
    logs = server.logs()
    assert "Received SIGTERM, exiting." in logs and logs.count("Application shutdown complete.") == 2, logs


def test_syntax_error_is_a_clear_error_with_the_servers_output(tmp_path):
    write(tmp_path, "broken_app.py", "def handler(:\n    pass\n")
    start = time.monotonic()
    with pytest.raises(ServerError) as err:
        serve("broken_app:app", app_dir=tmp_path).start()
    assert time.monotonic() - start < 10
    assert "SyntaxError" in str(err.value) and "exited with code" in str(err.value)


@pytest.mark.parametrize(
    "app, expected",
    [
        ("no_such_module:app", 'Could not import module "no_such_module"'),
        ("asgilab.apps.demo:nope", 'Attribute "nope" not found'),
    ],
)
def test_import_errors_are_clear(app, expected):
    with pytest.raises(ServerError, match=expected) as err:
        serve(app).start()
    # The server's own error is the first thing it printed: no runpy warning about asgilab._launch above it.
    output = str(err.value).split("--- last lines of its output ---\n", 1)[1]
    assert "Warning" not in output and output.startswith("ERROR:"), output


SERVER_MODULES_APP = """
import json, sys

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    loaded = json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("asgilab", "env", "model"))).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": loaded})
"""


def test_a_server_process_loads_neither_the_package_nor_its_modules_as_top_level_names(tmp_path):
    """The launcher runs as a script: the server skips `import asgilab` (0.2 s a start), and the package's
    folder, sys.path[0] of a script, is not left where an app's `import model` would find asgilab's."""
    (tmp_path / "modules_app.py").write_text(SERVER_MODULES_APP)
    with serve("modules_app:app", app_dir=tmp_path) as server:
        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            assert json.loads(response.read()) == []


def test_lifespan_crash_is_reported(tmp_path):
    write(
        tmp_path,
        "crash_app.py",
        """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            raise RuntimeError("database unreachable")
            yield

        app = FastAPI(lifespan=lifespan)
        """,
    )
    with pytest.raises(ServerError, match="database unreachable"):
        serve("crash_app:app", app_dir=tmp_path).start()


def test_startup_that_never_finishes_times_out_within_10_s(tmp_path):
    write(
        tmp_path,
        "hang_app.py",
        """
        import asyncio
        from contextlib import asynccontextmanager
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            await asyncio.sleep(3600)
            yield

        app = FastAPI(lifespan=lifespan)
        """,
    )
    # The default wait (8 s) with a shorter one: the same code, 6 s less of the suite spent waiting.
    assert serve("hang_app:app", app_dir=tmp_path).startup_timeout == STARTUP_TIMEOUT_S <= 8
    start = time.monotonic()
    with pytest.raises(ServerError, match="did not become ready within 2 s"):
        serve("hang_app:app", app_dir=tmp_path, startup_timeout=2).start()
    assert 2 <= time.monotonic() - start < 4
    assert not server_processes()


def test_port_clash_is_an_error_not_someone_elses_server():
    # Another program listens on the port; a naive readiness poll would reach it and call us ready.
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ServerError, match="address already in use"):
            serve("asgilab.apps.demo:app", port=port).start()


def test_refuses_to_bind_beyond_loopback():
    with pytest.raises(ValueError, match="loopback"):
        serve("asgilab.apps.demo:app", host="0.0.0.0")
    with pytest.raises(ValueError, match="module:attribute"):
        serve("asgilab.apps.demo")


def test_uvicorn_options_become_flags():
    server = serve("asgilab.apps.demo:app", limit_concurrency=5, access_log=True, header=["a:1", "b:2"])
    server.port = 1234
    command = server._command()
    assert command[command.index("--limit-concurrency") + 1] == "5"
    assert "--access-log" in command and command.count("--header") == 2


def test_gunicorn_serves_a_wsgi_app(tmp_path):
    write(
        tmp_path,
        "wsgi_app.py",
        """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"hello from WSGI"]
        """,
    )
    with serve("wsgi_app:app", server="gunicorn", app_dir=tmp_path) as server:
        assert get(server.url + "/")[1] == b"hello from WSGI"


KILLED_PARENT = """
import sys, time
from asgilab import serve
server = serve("asgilab.apps.demo:app", workers=2).start()
print(server.pid, flush=True)
time.sleep(60)
"""


def test_server_dies_by_itself_when_its_parent_is_killed_hard(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where the server's log would be left, if it were a named file
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        server_pid = int(parent.stdout.readline())
        group = [psutil.Process(server_pid), *psutil.Process(server_pid).children(recursive=True)]
        assert len(group) >= 3
        fork_server = psutil.Process(server_pid).parent()
        assert fork_server is not None and "--zygote" in fork_server.cmdline()  # it must go too
        group.append(fork_server)
    finally:
        parent.send_signal(signal.SIGKILL)  # like `kill -9` of a Jupyter kernel: no atexit, no cleanup
        parent.wait()
    gone, alive = psutil.wait_procs(group, timeout=8)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running after the parent was killed: {[p.pid for p in alive]}"
    assert not list(tmp_path.glob("asgilab-server-*")), "the server's log outlived the kernel that started it"


def test_servers_stop_at_interpreter_exit():
    code = "from asgilab import serve; s = serve('asgilab.apps.demo:app').start(); print(s.pid, flush=True)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT)
    pid = int(result.stdout.strip())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "server outlived the interpreter that started it"
        time.sleep(0.05)


def test_an_app_that_fails_its_first_response_is_still_served_at_once(tmp_path):
    # A learner's raw ASGI app with str headers: uvicorn closes the readiness probe's connection with
    # no answer. The server is up; the check, not an 8 s start-up timeout, must say what went wrong.
    (tmp_path / "bad_headers_app.py").write_text(
        textwrap.dedent(
            """
            async def app(scope, receive, send):
                if scope["type"] == "http":
                    await send({"type": "http.response.start", "status": 200, "headers": [("a", "b")]})
            """
        )
    )
    start = time.perf_counter()
    with serve("bad_headers_app:app", app_dir=tmp_path) as server:
        ready_s = time.perf_counter() - start
        assert "Exception in ASGI application" in server.logs() or "TypeError" in server.logs()
    assert ready_s < 5, f"took {ready_s:.1f} s to be ready"


SEEN_BY_APP = """
import json, os, signal, sys

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = {"cwd": os.getcwd(), "path": sys.path[:2], "argv": sys.argv[1:3], "course": os.environ.get("COURSE_VAR"),
            "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler, "pid": os.getpid(),
            "unbuffered": os.environ.get("PYTHONUNBUFFERED"), "session": os.getsid(0) == os.getpid()}
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})
"""


def test_a_forked_server_sees_what_a_fresh_one_sees(tmp_path, monkeypatch):
    """`serve` forks uvicorn servers from a process that imported uvicorn and FastAPI once (0.3 s a start):
    the app must find the same folder, import path, arguments, environment and session as in a fresh one."""
    (tmp_path / "seen_app.py").write_text(SEEN_BY_APP)
    views = {}
    for forked in ("1", "0"):
        monkeypatch.setenv("ASGILAB_FORKSERVER", forked)
        with serve("seen_app:app", app_dir=tmp_path, env={"COURSE_VAR": forked}) as server:
            views[forked] = json.loads(get(server.url + "/")[1])
            parent = psutil.Process(server.pid).parent()
            assert ("--zygote" in parent.cmdline()) == (forked == "1")
            server.logs()
    forked, fresh = views["1"], views["0"]
    assert (forked.pop("course"), fresh.pop("course")) == ("1", "0")
    forked.pop("pid"), fresh.pop("pid")
    assert forked == fresh and fresh["path"][0] == str(tmp_path) and fresh["session"]  # sigint: uvicorn's own, in both


def test_a_fork_server_is_not_used_where_the_interpreter_is_set_otherwise(tmp_path):
    # PYTHONDEVMODE and the like are read when the interpreter starts: a fork would keep the fork server's.
    (tmp_path / "seen_app.py").write_text(SEEN_BY_APP)
    with serve("seen_app:app", app_dir=tmp_path, env={"PYTHONDEVMODE": "1"}) as server:
        assert "--zygote" not in psutil.Process(server.pid).cmdline()


def test_an_idle_server_stops_promptly_and_still_runs_its_lifespan_shutdown(tmp_path):
    # _launch.py wakes uvicorn on the signal instead of at its next 0.1 s tick, and skips its 0.1 s
    # pause for connections to close when none is open (uvicorn alone: about 0.17 s per stop).
    write(
        tmp_path,
        "closing_app.py",
        """
        from contextlib import asynccontextmanager
        from pathlib import Path
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            yield
            Path("closed.txt").write_text("lifespan shutdown ran")

        app = FastAPI(lifespan=lifespan)
        """,
    )
    stops = []
    for _ in range(3):
        server = serve("closing_app:app", app_dir=tmp_path).start()
        start = time.perf_counter()
        server.stop()
        stops.append(time.perf_counter() - start)
        assert (tmp_path / "closed.txt").read_text() == "lifespan shutdown ran"
        (tmp_path / "closed.txt").unlink()
    assert min(stops) < 0.1, f"stopping an idle server took {min(stops):.3f} s at best of 3"


def test_a_request_in_flight_when_the_server_stops_is_still_answered():
    with serve("asgilab.apps.demo:app") as server:
        answers: list[int] = []
        caller = threading.Thread(target=lambda: answers.append(get(server.url + "/async-sleep?ms=400")[0]))
        caller.start()
        time.sleep(0.15)  # the request is in its 400 ms sleep
        server.stop()
        caller.join(5)
    assert answers == [200]


def test_the_workers_supervisor_acts_on_sigterm_at_once_not_at_its_next_half_second():
    """uvicorn's `Multiprocess` only queues a signal for its 0.5 s loop; `_launch.py` makes it act."""
    code = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import _launch
from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Multiprocess
if sys.argv[2] == "patched":
    _launch._supervisor_acts_on_signals()
supervisor = Multiprocess(Config("asgilab.apps.demo:app", workers=2), sockets=[])
os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before the next line
print(supervisor.should_exit.is_set(), supervisor.signal_queue)
"""
    launch_dir = str(ROOT / "src" / "asgilab")
    seen = {}
    for mode in ("patched", "uvicorn alone"):
        result = subprocess.run(
            [sys.executable, "-c", code, launch_dir, mode], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        seen[mode] = result.stdout.strip()
    assert seen == {"patched": "True []", "uvicorn alone": "False [15]"}  # queued for later
