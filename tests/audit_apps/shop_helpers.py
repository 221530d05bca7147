"""Helpers of learner_shop, in a module of their own (the blocking call is here, not in the route)."""

import time


def reserve_stock(item_id: int) -> None:
    time.sleep(0.03)  # a legacy client, called from an async route


def crunch(n: int) -> int:
    return sum(i * i for i in range(n))  # pure Python: holds the GIL throughout
