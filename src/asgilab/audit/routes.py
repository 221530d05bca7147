"""Find an app's routes and build a request for each: the first room of ``asgilab audit``.

The app is imported here, in the auditor's own process, so that bad input (a module that does not
import, no such attribute, not an ASGI app) is one sentence before any server starts. Requests come
from the app's OpenAPI schema (FastAPI): path and query parameters from their types, defaults,
examples and enums, a JSON body from its schema; ``--param``, ``--header`` and ``--body`` fill in
what the schema cannot, and a route that still cannot be called is skipped with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
FRAMEWORKS = ("fastapi.", "starlette.")


class BadInput(ValueError):
    """The audit cannot start: the message is one sentence for the learner."""


@dataclass
class Route:
    method: str
    path: str  # as declared, e.g. /items/{item_id}
    kind: str  # "async", "def" or "unknown" (not a route whose endpoint the audit can read)
    endpoint: str = ""  # module.function, for the report
    call: dict[str, Any] | None = None  # what to send: method, path, query, headers, body
    skipped: str = ""  # why no request could be built


@dataclass
class Inputs:
    """What the learner gave on the command line to fill in requests."""

    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    bodies: dict[tuple[str, str], str] = field(default_factory=dict)  # (METHOD, path) -> JSON text


def import_app(target: str, app_dir: Path) -> Any:
    """The object ``module:attribute`` names, importing from ``app_dir``; `BadInput` otherwise."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise BadInput(f"expected MODULE:APP (for example main:app), got {target!r}")
    sys.path.insert(0, str(app_dir))
    # Fresh each time: a notebook that audits again after an edit must see the edited routes, in the
    # app's module and in the modules of its folder that it imports (a reload would keep those).
    for name in {path.stem for path in app_dir.glob("*.py")} - set(sys.stdlib_module_names):
        sys.modules.pop(name, None)
    top = module_name.split(".")[0]
    if (app_dir / top).is_dir():  # a package of the folder (not an installed one): its submodules too
        for name in [name for name in sys.modules if name == top or name.startswith(top + ".")]:
            sys.modules.pop(name, None)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise BadInput(f"could not import module {module_name!r} from {app_dir}: {type(exc).__name__}: {exc}") from None
    app: Any = module
    for part in attribute.split("."):
        if not hasattr(app, part):
            raise BadInput(f"module {module_name!r} has no attribute {attribute!r}")
        app = getattr(app, part)
    _check_asgi(app, target)
    return app


def _check_asgi(app: Any, target: str) -> None:
    if not callable(app):
        raise BadInput(f"{target} is a {type(app).__name__}, not an ASGI app")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(call):
        return
    try:
        parameters = [p for p in inspect.signature(app).parameters.values() if p.kind != p.VAR_KEYWORD]
    except (TypeError, ValueError):
        return
    if len(parameters) == 2:
        raise BadInput(f"{target} looks like a WSGI app (it takes environ and start_response), not an ASGI app")
    if len(parameters) != 3 and not any(p.kind == p.VAR_POSITIONAL for p in parameters):
        raise BadInput(f"{target} is not an ASGI app: it does not take (scope, receive, send)")


def app_modules(app_dir: Path, target: str) -> list[str]:
    """Names of the imported modules whose files are under ``app_dir`` (the learner's own code, not
    an installed library nor the course's kit), and the target's own module."""
    root = app_dir.resolve()
    libraries = {Path(p).resolve() for p in sys.path if p.endswith("site-packages")}
    names = {target.partition(":")[0]}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name == "asgilab" or name.startswith("asgilab."):
            continue
        path = Path(file).resolve()
        if path.is_relative_to(root) and not any(path.is_relative_to(lib) for lib in libraries):
            names.add(name)
    return sorted(names)


def module_paths(names: list[str]) -> list[Path]:
    """The files (or package folders) of imported modules: where the learner's frames live."""
    paths = []
    for name in names:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if file:
            path = Path(file).resolve()
            paths.append(path.parent if path.name == "__init__.py" else path)
    return paths


def find_routes(app: Any, inputs: Inputs) -> list[Route]:
    """Every HTTP route of a Starlette or FastAPI app, each with a request built for it."""
    schema = _openapi(app)
    routes = []
    for route in _walk(getattr(app, "routes", [])):
        path, endpoint = getattr(route, "path", None), getattr(route, "endpoint", None)
        if path is None or endpoint is None or path.startswith("/__audit__"):
            continue
        if getattr(endpoint, "__module__", "").startswith(FRAMEWORKS):
            continue  # FastAPI's own /docs and /openapi.json
        for method in sorted(set(getattr(route, "methods", None) or {"GET"}) - SKIPPED_METHODS):
            found = Route(method, path, _kind(endpoint), f"{endpoint.__module__}.{endpoint.__qualname__}")
            _build(found, schema, inputs)
            routes.append(found)
    return routes


def _walk(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes, with those of included routers: FastAPI 0.165 keeps an included router as one entry
    whose `effective_candidates()` are its routes (prefix applied), where older versions copied them."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            yield from _walk(candidates())
        else:
            yield route


def _openapi(app: Any) -> dict[str, Any]:
    try:
        return dict(app.openapi()) if callable(getattr(app, "openapi", None)) else {}
    except Exception:
        return {}


def _kind(endpoint: Any) -> str:
    if not (inspect.isfunction(endpoint) or inspect.ismethod(endpoint)):
        return "unknown"  # a mounted app or a class endpoint
    return "async" if inspect.iscoroutinefunction(endpoint) else "def"


def _build(route: Route, schema: dict[str, Any], inputs: Inputs) -> None:
    operation = schema.get("paths", {}).get(route.path, {}).get(route.method.lower(), {})
    values: dict[str, dict[str, str]] = {"path": {}, "query": {}, "header": {}}
    for parameter in operation.get("parameters", []):
        where, name = parameter.get("in"), parameter["name"]
        if where not in values:
            continue
        value = inputs.params.get(name)
        if value is None:
            value = _example(parameter.get("schema", {}), schema, parameter.get("required", False))
        if value is not None:
            values[where][name] = value
    for name in PATH_PARAMETER.findall(route.path):
        if name not in values["path"] and name in inputs.params:
            values["path"][name] = inputs.params[name]
    missing = [name for name in PATH_PARAMETER.findall(route.path) if name not in values["path"]]
    if missing:
        route.skipped = f"no value for path parameter {', '.join(missing)}: give --param {missing[0]}=VALUE"
        return
    body = _body(route, operation, schema, inputs)
    if body is None:
        return
    path = PATH_PARAMETER.sub(lambda m: quote(values["path"][m.group(1)], safe=""), route.path)
    headers = {**values["header"], **inputs.headers}
    if body:
        headers.setdefault("content-type", "application/json")
    route.call = {"method": route.method, "path": path, "query": urlencode(values["query"]), "headers": headers}
    route.call["body"] = body


def _body(route: Route, operation: dict[str, Any], schema: dict[str, Any], inputs: Inputs) -> str | None:
    """The JSON body to send ('' for none), or None when the route must be skipped."""
    given = inputs.bodies.get((route.method, route.path))
    if given is not None:
        return given
    request_body = operation.get("requestBody")
    if not request_body:
        return ""
    content = request_body.get("content", {})
    if "application/json" not in content:
        kinds = ", ".join(content) or "no content type"
        route.skipped = f"its body is {kinds}, not JSON: give --body '{route.method} {route.path}=...'"
        return None
    example = _value(content["application/json"].get("schema", {}), schema, depth=0)
    return json.dumps(example)


def _example(parameter_schema: dict[str, Any], schema: dict[str, Any], required: bool) -> str | None:
    if not required and "default" not in parameter_schema:
        return None  # an optional parameter is left out, as most callers would
    value = _value(parameter_schema, schema, depth=0)
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _value(node: dict[str, Any], schema: dict[str, Any], depth: int) -> Any:
    """A plausible value for a JSON schema node: its default, example or first enum, else by type."""
    if "$ref" in node:
        node = schema.get("components", {}).get("schemas", {}).get(node["$ref"].rsplit("/", 1)[-1], {})
    for key in ("default", "example"):
        if key in node:
            return node[key]
    if node.get("examples"):
        return node["examples"][0]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, []) if o.get("type") != "null"]
        if options:
            return _value(options[0], schema, depth + 1)
    return _by_type(node, schema, depth)


def _by_type(node: dict[str, Any], schema: dict[str, Any], depth: int) -> Any:
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        if depth > 5:
            return {}
        required = set(node.get("required", []))
        properties = node.get("properties", {})
        return {k: _value(v, schema, depth + 1) for k, v in properties.items() if k in required}
    if kind == "array":
        return [_value(node.get("items", {}), schema, depth + 1)] if node.get("minItems") else []
    minimum = node.get("minimum", node.get("exclusiveMinimum", 0))
    simple: dict[str, Any] = {"integer": max(1, int(minimum) + 1), "number": float(max(1, minimum)), "boolean": True}
    if kind in simple:
        return simple[kind]
    formats = {"uuid": "00000000-0000-4000-8000-000000000000", "date": "2026-01-01", "email": "learner@example.com"}
    formats["date-time"] = "2026-01-01T00:00:00Z"
    text = formats.get(node.get("format", ""), "example")
    return text + "x" * max(0, int(node.get("minLength", 0)) - len(text))
