"""Command line: ``python -m asgilab bench ...``, ``doctor`` (`asgilab.doctor`) and ``audit`` (`asgilab.audit`).

python -m asgilab bench asgilab.apps.demo:app --path /async-sleep?ms=100 -n 100 -c 100 --probe /ping
python -m asgilab bench http://127.0.0.1:8000 --path /hello -n 2000 -c 50 --json
python -m asgilab bench asgilab.apps.llm:app --path /v1/chat/completions --stream -n 50 -c 50 --json
python -m asgilab doctor                    # OK/FAIL lines; --json, --summary, --collect for a room (asgilab.doctor)
python -m asgilab audit main:app --json     # a verdict for every route of your app (asgilab.audit)

``bench`` exits 0 when at least one request succeeded (the table counts the failures), 1 when none did,
when nothing answered at the URL or the server did not start, and 2 for bad input, which it reports in
one line before it starts anything.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, NoReturn
from urllib.parse import urlsplit

from asgilab.i18n import _, _f
from asgilab.load import ENGINES, MAX_REQUESTS, load_sync
from asgilab.loopback import check_loopback
from asgilab.results import table
from asgilab.server import ServerError, serve
from asgilab.streams import chat_body

CONNECT_TIMEOUT_S = 2.0  # a loopback server that is up accepts at once


def bench(args: argparse.Namespace) -> int:
    """Exit 0 when at least one request succeeded; 1 when none did, the URL did not answer or the server
    did not start; 2 for bad input, found before anything starts. Errors are one line on stderr."""
    target: str = args.target
    is_url = target.startswith(("http://", "https://"))
    problem = _bad_input(args, is_url)
    if problem is not None:
        return _error(problem, 2)
    if is_url and (refused := _no_answer(target)) is not None:
        said = _f(
            "nothing answers at {target} ({refused}): start the server first, or give module:app",
            target=target,
            refused=refused,
        )
        return _error(said, 1)
    options: dict[str, Any] = dict(
        timeout=args.timeout, deadline=args.deadline, engine=args.engine, warmup=args.warmup, rate=args.rate
    )
    if args.probe:
        options["probe"] = args.probe
    if args.stream:
        body = json.loads(args.body) if args.body else chat_body(args.max_tokens)
        options.update(stream=True, body=body, leave_after=args.leave_after, stall_timeout=args.stall_timeout)
    env = dict(item.split("=", 1) for item in args.env)
    try:
        server = nullcontext() if is_url else serve(target, workers=args.workers, env=env)
        with server as live:
            base = target.rstrip("/") if live is None else live.url
            run = load_sync(base + args.path, args.requests, args.concurrency, label=args.path, **options)
    except ServerError as exc:
        return _error(str(exc), 1)
    except ValueError as exc:
        return _error(str(exc), 2)
    print(json.dumps(run.to_dict()) if args.json else table([run]))
    if run.ok == 0:
        kinds = ", ".join(f"{kind} x{count}" for kind, count in run.error_kinds.items())
        said = _f(
            "none of the {requests} requests succeeded ({kinds}): check --path and the server",
            requests=run.requests,
            kinds=kinds,
        )
        return _error(said, 1)
    return 0


def _bad_input(args: argparse.Namespace, is_url: bool) -> str | None:
    """What is wrong with the command line that argparse cannot see, in one sentence, or None."""
    if not is_url and ":" not in args.target:
        return _f("TARGET must be module:app or a loopback URL, got {target!r}", target=args.target)
    if is_url:
        try:
            check_loopback(args.target)
        except ValueError as exc:
            return str(exc)
    if not args.stream and (args.body or args.leave_after or args.stall_timeout):
        return _("--body, --leave-after and --stall-timeout go with --stream")
    if args.body is not None:
        try:
            if not isinstance(json.loads(args.body), dict):
                return _('--body must be a JSON object, such as \'{"model": "m", "messages": [...]}\'')
        except ValueError as exc:
            return _f("--body is not valid JSON ({error})", error=exc)
    for flag, path in (("--path", args.path), ("--probe", args.probe)):
        if path is not None and not path.startswith("/"):
            return _f("{flag} must start with /, got {path!r} (did you mean {flag} /{path}?)", flag=flag, path=path)
    return None


def _no_answer(url: str) -> str | None:
    """Why nothing accepts a connection at ``url`` (e.g. "connection refused"), or None when something does."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except TimeoutError:
        return _f("no connection within {timeout:g} s", timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        return exc.strerror.lower() if exc.strerror else type(exc).__name__


def _error(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _count(low: int, high: int = MAX_REQUESTS) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_f("expected a whole number, got {text!r}", text=text)) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                _f("must be from {low} to {high}, got {value}", low=low, high=high, value=value)
            )
        return value

    return parse


def _seconds(text: str) -> float:
    """A positive, finite number (of seconds, or of requests per second for --rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_f("expected a number, got {text!r}", text=text)) from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(_f("must be a positive number, got {text}", text=text))
    return value


def _leave_after(text: str) -> int | float:
    """``3`` is a number of tokens, ``0.5`` (with a point) a number of seconds."""
    if "." not in text:
        return _count(1)(text)
    return _seconds(text)


class _Parser(argparse.ArgumentParser):
    """Reports a bad command line in one line (and exit code 2), not the usage block above it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _key_value(text: str) -> str:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(_f("expected NAME=VALUE, got {text!r}", text=text))
    return text


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m asgilab", description="Measure ASGI servers live.")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = commands.add_parser(
        "bench",
        help="load an app (module:app, served for you) or a loopback URL",
        epilog="exit status: 0 when at least one request succeeded, 1 when none did, nothing answered at the"
        " URL or the server did not start, 2 for bad input (reported before anything starts)",
    )
    b.add_argument("target", help="module:app to serve, or a loopback URL such as http://127.0.0.1:8000")
    b.add_argument("--path", default="/", help="path (and query) to request, default /")
    b.add_argument("-n", "--requests", type=_count(1), default=100, help="number of requests (default 100)")
    b.add_argument("-c", "--concurrency", type=_count(1), default=10, help="requests in flight (default 10)")
    b.add_argument("--rate", type=_seconds, help="open loop: requests per second (latency counts from schedule)")
    b.add_argument("--probe", help="a cheap path polled during the run, e.g. /ping")
    b.add_argument("--engine", choices=sorted(ENGINES), default="aiohttp")
    b.add_argument("--timeout", type=_seconds, default=10.0, help="seconds per request (default 10)")
    b.add_argument("--deadline", type=_seconds, default=60.0, help="seconds for the whole run (default 60)")
    b.add_argument("--warmup", type=_count(0), default=0, help="requests sent before measuring (default 0)")
    b.add_argument("--workers", type=_count(1, 64), default=1, help="uvicorn workers when serving module:app")
    b.add_argument(
        "--env",
        action="append",
        default=[],
        type=_key_value,
        metavar="NAME=VALUE",
        help="environment variable for the served app, e.g. --env UPSTREAM_URL=http://127.0.0.1:8001",
    )
    b.add_argument("--stream", action="store_true", help="read server-sent events: TTFT, ITL and TPOT per stream")
    b.add_argument(
        "--max-tokens", type=_count(1, 4096), default=16, help="with --stream: tokens asked for (default 16)"
    )
    b.add_argument("--body", help="with --stream: the JSON body to POST (default: a chat completion, stream: true)")
    b.add_argument(
        "--leave-after", type=_leave_after, help="with --stream: leave each stream after N tokens or S.s seconds"
    )
    b.add_argument(
        "--stall-timeout", type=_seconds, help="with --stream: end a stream silent this long (default --timeout)"
    )
    b.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    b.set_defaults(func=bench)

    from asgilab.audit.cli import add_parser as add_audit  # its own room: asgilab/audit/
    from asgilab.doctor.cli import add_parser as add_doctor  # its own room: asgilab/doctor/

    add_doctor(commands)
    add_audit(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return _error(_("interrupted"), 130)  # the servers it started stop at exit, as ever


if __name__ == "__main__":
    sys.exit(main())
