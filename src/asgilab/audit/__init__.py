"""``python -m asgilab audit MODULE:APP``: which routes of your app block the event loop, which wait
in the thread pool, which are CPU-bound, and where in your code.

Four rooms, one job each: `routes` (import the app, find its routes, build a request for each),
`probe` (serve it behind a canary, measure each route with and without blockbuster), `judge` (pure:
measurements to verdicts) and `render` (a table, JSON or Markdown); `cli` ties them together.
"""

from asgilab.audit.cli import main
from asgilab.audit.judge import Verdict
from asgilab.audit.routes import BadInput, Inputs
from asgilab.audit.run import Report, audit

__all__ = ["BadInput", "Inputs", "Report", "Verdict", "audit", "main"]
