"""``python -m asgilab audit MODULE:APP``: check the input, then find routes, probe, judge, render.

Exit status: 0 when no route has a verdict in ``--fail-on`` (default ``blocks-loop``; a CPU-bound
route that runs on the event loop counts as blocking it), 1 when one has, 2 for bad input (said in
one sentence before any server starts).
"""

from __future__ import annotations

import argparse
import sys

from asgilab.audit import judge as judging
from asgilab.audit import probe, render
from asgilab.audit.routes import BadInput, Inputs
from asgilab.audit.run import audit
from asgilab.loopback import is_loopback
from asgilab.server import ServerError

EXAMPLE = "python -m asgilab audit main:app --route /items --param item_id=3 --json"


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]  # argparse's own
    audit = commands.add_parser("audit", help="a verdict for every route of your app", description=__doc__)
    audit.add_argument("target", help="MODULE:APP, imported from --app-dir (default: the current folder)")
    audit.add_argument("--app-dir", default=".", help="folder to import the module from")
    audit.add_argument("--route", action="append", default=[], help="audit only this path (repeatable)")
    audit.add_argument("--param", action="append", default=[], help="NAME=VALUE for a path or query parameter")
    audit.add_argument("--header", action="append", default=[], help="'Name: value' sent with every request")
    audit.add_argument("--body", action="append", default=[], help="'METHOD /path={json}' for a route's body")
    audit.add_argument("--env", action="append", default=[], help="NAME=VALUE in the server's environment")
    audit.add_argument("-c", "--concurrency", type=int, default=20, help="requests at once (default 20)")
    audit.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    audit.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    audit.add_argument("--fail-on", default="blocks-loop", help="comma-separated verdicts that exit 1")
    output = audit.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--markdown", action="store_true", help="print Markdown (a pull request comment)")
    audit.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        inputs, fail_on = _inputs(args), _fail_on(args.fail_on)
        env = _pairs(args.env, "=", "--env")
        settings = probe.Settings(concurrency=args.concurrency, timeout=args.timeout)
        report = audit(args.target, args.app_dir, routes=args.route, inputs=inputs, env=env, settings=settings)
    except BadInput as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    except ServerError as exc:
        print(f"audit: the app did not start: {exc}", file=sys.stderr)
        return 1
    status = 1 if any(_fails(v, fail_on) for v in report.verdicts) else 0
    if args.json:
        print(render.to_json(report.verdicts, args.target, status))
    elif args.markdown:
        print(render.to_markdown(report.verdicts, args.target))
    else:
        print(render.to_text(report.verdicts, args.target))
    return status


def _inputs(args: argparse.Namespace) -> Inputs:
    if args.concurrency < 1 or args.concurrency > 1000:
        raise BadInput(f"--concurrency must be between 1 and 1000, got {args.concurrency}")
    if args.timeout <= 0:
        raise BadInput(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if not is_loopback(args.host):
        raise BadInput(f"the audit serves on loopback only (127.0.0.1 or ::1), not {args.host!r}")
    bodies = {}
    for item in args.body:
        route, _, text = item.partition("=")
        method, _, path = route.strip().partition(" ")
        if not path.startswith("/") or not text:
            raise BadInput(f"--body wants 'METHOD /path={{json}}', got {item!r}")
        bodies[(method.upper(), path.strip())] = text
    headers = _pairs(args.header, ":", "--header")
    return Inputs(_pairs(args.param, "=", "--param"), {k: v.strip() for k, v in headers.items()}, bodies)


def _pairs(items: list[str], separator: str, option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, found, value = item.partition(separator)
        if not found or not name.strip():
            raise BadInput(f"{option} wants NAME{separator}VALUE, got {item!r}")
        pairs[name.strip()] = value
    return pairs


def _fail_on(text: str) -> set[str]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(judging.VERDICTS) - {"none"}
    if unknown:
        raise BadInput(
            f"--fail-on takes verdicts among {', '.join(judging.VERDICTS)} (or none), not {', '.join(sorted(unknown))}"
        )
    return names - {"none"}


def _fails(verdict: judging.Verdict, fail_on: set[str]) -> bool:
    return verdict.verdict in fail_on or ("blocks-loop" in fail_on and verdict.blocks_loop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asgilab")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
