"""Lab 07 step 2's model: `rank(item)` is `model.predict` plus a lookup in a table that takes about
half a second of pure Python to build, once per process (`build`). Its answers are meaningless; where
its table lives is the point: a spawned worker process starts without it."""

from __future__ import annotations

import functools
import math
from typing import Any

from asgilab import model

__all__ = ["build", "rank"]

TABLE_SIZE, TERMS = 4096, 500  # about two million pure-Python steps


@functools.cache
def build() -> tuple[float, ...]:
    """The ranker's table, built in this process the first time it is asked for (then cached)."""
    return tuple(sum(math.sin(i * k + 0.5) / k for k in range(1, TERMS)) for i in range(TABLE_SIZE))


def rank(item: int) -> dict[str, Any]:
    """A prediction for ``item`` (pure Python, holds the GIL) and its rank from the table."""
    answer = model.predict(item)
    answer["rank"] = round(build()[item % TABLE_SIZE], 6)
    return answer
