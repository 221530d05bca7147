"""Reading back what `asgilab.apps.lifespan_probe` saw inside a check's server process: `read_report`
finds its line in the server's output and `judge_report` turns it into criteria."""

from __future__ import annotations

import json
from typing import Any

from asgilab.apps.lifespan_probe import MARKER, TARGET_ENV, import_app
from asgilab.checks.criteria import tail
from asgilab.checks.feedback import Criterion
from asgilab.i18n import _, _f

__all__ = ["APP", "PER_REQUEST_APP", "MARKER", "TARGET_ENV", "read_report", "judge_report", "import_app"]

APP = "asgilab.apps.lifespan_probe:app"  # serve this with env {TARGET_ENV: "learner_module:app"}
PER_REQUEST_APP = "asgilab.apps.lifespan_probe:per_request_app"  # needs env UPSTREAM_URL


def read_report(logs: str) -> dict[str, Any] | None:
    """The probe's report from a stopped server's output, or None when shutdown never completed."""
    lines = [line for line in logs.splitlines() if line.startswith(MARKER)]
    return json.loads(lines[-1][len(MARKER) :]) if lines else None


def judge_report(report: dict[str, Any] | None, logs: str) -> list[Criterion]:
    """Criteria on a report: clients were made during startup, and closed when shutdown completed."""
    if report is None:
        return [
            Criterion(
                False,
                _("the app's lifespan shutdown completes"),
                _("no report of a completed shutdown; last lines of the server's output:") + "\n" + tail(logs),
                _("the part of the lifespan after `yield` raised or hung for seconds: read the lines above."),
            )
        ]
    created, at_import = report["created_at_startup"], report["at_import"]
    kinds = ", ".join(c["type"] for c in created)
    closed = sum(c["closed"] for c in created)
    return [
        Criterion(
            bool(created),
            _("a client is created while the app starts, in its lifespan"),
            _f(
                "{n} client(s) created during startup ({kinds}); {at_import} created at import",
                n=len(created),
                kinds=kinds,
                at_import=at_import,
            )
            if created
            else _f("{n} client(s) created during startup; {at_import} created at import", n=0, at_import=at_import),
            _f(
                "{at_import} client(s) made at import, before the server started: look at where your module makes its client.",
                at_import=at_import,
            )
            if at_import
            else _("no HTTP client existed once startup was over: look at your app's lifespan function."),
        ),
        Criterion(
            bool(created) and closed == len(created),
            _("every client made at startup is closed when shutdown completes"),
            _f("{closed} of {n} closed", closed=closed, n=len(created)) if created else _("no client to close"),
            _("a client was left open when the server stopped: look at what your lifespan does after `yield`."),
        ),
    ]
