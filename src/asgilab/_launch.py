"""Entry point of a server process: uvicorn's (or gunicorn's) own command line, plus a watchdog.

`asgilab.serve` starts ``python .../asgilab/_launch.py uvicorn|gunicorn <arguments>`` (a script, so that the
`asgilab` package, which the server does not need, is not imported) in a new process group and
hands it the read end of a pipe whose write end only the parent holds. When the parent dies in any
way (``kill -9`` of a Jupyter kernel included) the pipe reports end-of-file, and the watchdog ends
the whole process group, so uvicorn's worker processes go too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

GRACE_S = 2.0
PARENT_FD_ENV = "ASGILAB_PARENT_FD"  # which inherited pipe end to watch (set by `asgilab.serve`)


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


def main() -> None:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).parent.resolve():
        del sys.path[0]  # run as a script: the package's folder must not shadow the app's modules
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

        uvicorn_main(args=args, prog_name="uvicorn")


if __name__ == "__main__":
    main()
