"""``python -m asgilab doctor``: check this machine for the course; ``--json`` and ``--summary`` for a
room's preflight, ``--collect`` to read a room's reports.

    python -m asgilab doctor                     # OK/FAIL lines, each FAIL with its fix
    python -m asgilab doctor --summary           # one line: host, verdict, cores, memory, container, proxy
    python -m asgilab doctor --json > $(hostname).json
    python -m asgilab doctor --collect results/  # the room: who fails what, and the fix

Exit status: 0 when every check passed, 1 when one failed (also with --json and --summary; with
--collect, when a machine has a problem or its report cannot be read), 2 for bad input.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from functools import partial

from asgilab.doctor import checks, collect, network, render
from asgilab.doctor.budget import MEMORY_NEEDED_MIB
from asgilab.doctor.kernel import kernel_reaches_loopback
from asgilab.doctor.report import CheckResult, Step, run_checks

DESCRIPTION = """Check this machine for the course: one OK/FAIL line per check, each FAIL with its fix.
For a room: --json on every machine (or --summary over ssh), then --collect on the reports.

  python -m asgilab doctor                     # OK/FAIL lines
  python -m asgilab doctor --summary           # one line: host, verdict, cores, memory, container, proxy
  python -m asgilab doctor --json > $(hostname).json
  python -m asgilab doctor --collect results/  # the room: who fails what, and the fix
"""
INSTALL = "run `make install` (or `pip install -e .`) in the course folder"
EPILOG = (
    "exit status: 0 when every check passed, 1 when one failed (with --collect: when a machine has a problem"
    " or its report cannot be read), 2 for bad input"
)


def steps(kernel: str = "python3") -> list[Step]:
    return [
        Step("packages", INSTALL, checks.packages),
        Step("proxy", f"before starting Jupyter: {network.SET_NO_PROXY}", network.proxy),
        Step(
            "free ports",
            "close programs that hold many local ports; or widen net.ipv4.ip_local_port_range",
            network.ports,
        ),
        Step(
            "live server and load",
            "read the error above; check that 127.0.0.1 is reachable and nothing blocks local ports",
            checks.server_and_burst,
        ),
        Step(
            "kernel reaches loopback",
            f"check that `jupyter kernelspec list` shows {kernel!r} (or pass --kernel NAME), and that a firewall"
            " or VPN client lets 127.0.0.1 through",
            partial(kernel_reaches_loopback, kernel),
        ),
        Step(
            "PostgreSQL",
            INSTALL + "; or set ASGILAB_DATABASE_URL to a server you can create databases on",
            checks.postgres,
        ),
        Step("container limits", "(never fails: it reports the limits)", checks.container),
        Step(
            "this machine",
            f"close other programs and the kernels of finished notebooks, or give the machine (or container)"
            f" more memory: at least {MEMORY_NEEDED_MIB} MiB available",
            checks.machine,
        ),
    ]


def load_tools() -> str:
    tools = ", ".join(f"{t} {'installed' if shutil.which(t) else 'missing'}" for t in ("wrk", "hey"))
    return f"optional load tools: {tools} (lessons 09 and 10 cross-check with them when installed)"


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]  # argparse's own
    doctor = commands.add_parser(
        "doctor",
        help="check this machine for the course (--json, --summary, --collect for a room)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    output = doctor.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object (for --collect)")
    output.add_argument("--summary", action="store_true", help="print one line (for ssh to every machine)")
    output.add_argument(
        "--collect",
        nargs="+",
        metavar="REPORT",
        help="read --json reports (files, or folders of *.json) and print the room's table; checks nothing",
    )
    doctor.add_argument("--kernel", help="the Jupyter kernel to start (default python3)")
    doctor.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.collect is not None:
        if args.kernel is not None:
            return _bad("--kernel goes with a check of this machine, not with --collect")
        try:
            text, status = collect.room(args.collect)
        except ValueError as exc:
            return _bad(str(exc))
        print(text)
        return status
    quiet = args.json or args.summary
    report = run_checks(steps(args.kernel or "python3"), [load_tools], _ignore if quiet else _print)
    if args.json:
        print(render.to_json(report))
    elif args.summary:
        print(render.summary_line(report))
    else:
        print(render.ending(report))
    return report.exit_status


def _print(result: CheckResult) -> None:
    print(render.result_lines(result), flush=True)


def _ignore(result: CheckResult) -> None:
    pass


def _bad(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    from asgilab.__main__ import main as asgilab_main

    return asgilab_main(["doctor", *(sys.argv[1:] if argv is None else argv)])
