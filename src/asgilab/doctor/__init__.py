"""``python -m asgilab doctor``: is this machine ready for the course, and is the room?

Four rooms, one job each: `checks` (the packages, a live server, PostgreSQL, the container's limits,
cores and memory), `network` (proxy settings, free loopback ports) and `kernel` (a real Jupyter
kernel fetching a page from 127.0.0.1) each return a `Finding` or raise; `report` runs them in turn;
`render` shows the result (OK/FAIL lines, one summary line, JSON); `collect` reads many machines'
JSON into a table of the room; `cli` ties them together. `budget` holds the figures it judges by,
each with where it was measured: ``MEMORY_NEEDED_MIB`` is the memory a learner needs available.
"""

from asgilab.doctor.budget import (
    JUPYTER_PORT,
    JUPYTER_SERVER_MIB,
    KERNEL_TIMEOUT_S,
    LESSON_PEAK_RESIDENT_MIB,
    MEMORY_NEEDED_MIB,
    PORTS_NEEDED,
)
from asgilab.doctor.cli import main, steps
from asgilab.doctor.report import SCHEMA_VERSION, CheckResult, Finding, Problem, Report, Step, run_checks

__all__ = [
    "JUPYTER_PORT",
    "JUPYTER_SERVER_MIB",
    "KERNEL_TIMEOUT_S",
    "LESSON_PEAK_RESIDENT_MIB",
    "MEMORY_NEEDED_MIB",
    "PORTS_NEEDED",
    "SCHEMA_VERSION",
    "CheckResult",
    "Finding",
    "Problem",
    "Report",
    "Step",
    "main",
    "run_checks",
    "steps",
]
