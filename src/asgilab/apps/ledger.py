"""Lab 08 step 3's database, imported by the learner's app: a few queries at once, the rest queued.
How many, and how long one takes, the learner measures (lab 08); the check knows them. They are
drawn from a seed rather than written down, so that this file has no figure to copy instead."""

from __future__ import annotations

import asyncio
import random


def _drawn(seed: int = 11) -> tuple[int, float]:
    """(slots, seconds per query), the same on every machine and run (`random.Random.random` is)."""
    rng = random.Random(seed)
    return 3 + int(rng.random() * 4), (120 + 10 * int(rng.random() * 7)) / 1000


LEDGER_SLOTS, LEDGER_QUERY_S = _drawn()  # the check's yardstick: capacity = slots / query time


class Ledger:
    """Like lab 08's SlowDatabase, with slots and a query time nobody wrote down."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(LEDGER_SLOTS)

    async def query(self) -> dict[str, int]:
        async with self._slots:  # the rest wait in its queue, however long
            await asyncio.sleep(LEDGER_QUERY_S)
        return {"balance": 42}
