"""Lab 08 step 3's database, imported by the learner's app: a few queries at once, the rest queued.
How many, and how long one takes, the learner measures (lab 08); the check knows them."""

from __future__ import annotations

import asyncio

LEDGER_SLOTS, LEDGER_QUERY_S = 4, 0.15


class Ledger:
    """Like lab 08's SlowDatabase, with slots and a query time nobody wrote down."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(LEDGER_SLOTS)

    async def query(self) -> dict[str, int]:
        async with self._slots:  # the rest wait in its queue, however long
            await asyncio.sleep(LEDGER_QUERY_S)
        return {"balance": 42}
