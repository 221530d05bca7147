"""Hand-built measurements for testing a lab's ``judge_stepN`` functions in milliseconds.

run = made_run(ok=58, failed={"status 500": 2}, wall_s=0.9)
criteria = lab04.judge_step1(lab04.Pooling(run, made_run(60, wall_s=2.0), {...}, logs="..."))
"""

from __future__ import annotations

from asgilab.results import Record, Run

__all__ = ["made_run"]


def made_run(
    ok: int,
    failed: dict[str, int] | None = None,
    wall_s: float = 1.0,
    latency_s: float = 0.1,
    requests: int | None = None,
) -> Run:
    """A `Run` of ``ok`` successful requests (each ``latency_s``) and ``failed`` ones by kind
    ("status 500" or an error name such as "timeout"), over ``wall_s``. ``requests`` (default: all
    of them) larger than the records models a run cut short by its deadline."""
    records = [Record(0.0, latency_s, 200) for _ in range(ok)]
    for kind, count in (failed or {}).items():
        status = int(kind.split()[1]) if kind.startswith("status ") else None
        records += [Record(0.0, latency_s, status, None if status else kind) for _ in range(count)]
    total = requests if requests is not None else len(records)
    return Run(url="http://test/", requests=total, concurrency=total, engine="made", records=records, wall_s=wall_s)
