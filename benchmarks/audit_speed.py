"""How long ``python -m asgilab audit`` takes on an app of ten routes (target: under 30 s on 2 cores).

    python benchmarks/audit_speed.py

A benchmark, not a test: it prints the wall time of three audits and each route's verdict.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
TARGET_S = 30.0


def main() -> int:
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "asgilab", "audit", "ten_routes_app:app", "--app-dir", str(HERE)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        walls.append(time.perf_counter() - start)
    print(done.stdout)
    median = statistics.median(walls)
    print(
        f"audit of 10 routes: {', '.join(f'{w:.1f} s' for w in walls)} (median {median:.1f} s, target < {TARGET_S:.0f} s)"
    )
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
