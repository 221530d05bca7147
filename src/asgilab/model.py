"""A small CPU-heavy "model" for lesson 07 and lab 07: fixed random weights, no downloads.

    from asgilab import model
    model.predict(7)                 # pure Python: tens of ms of one core, holding the GIL
    model.predict_batch([7, 8, 9])   # NumPy: one call for a whole batch of requests

Both are small neural networks that mix a request's features ``x`` into a hidden state ``h`` over
and over, a little like a language model that produces one token after another. Their answers are
meaningless; their *cost* is the point:

- `predict` is pure Python: ``h = tanh(W @ h + x)`` for 16 steps with one 256 x 256 matrix. Every
  multiply holds the GIL, so a thread pool cannot run two calls at once, which keeps the GIL story
  clean. The amount of work is fixed, not the time: on a slower or busier machine it takes longer.
- `predict_batch` is NumPy: ``h = tanh(h @ W_l + x)`` through 4 layers of 2048 x 2048 float32
  weights, 64 MB, more than most CPU caches hold. For one request each layer is a matrix-vector
  product that streams all 64 MB from memory to do very little arithmetic; for a batch of B requests
  the same weights are read once and used B times. So a batch of 16 costs far less than 16 single
  calls: the per-call cost (reading the weights) is large next to the per-item cost, which is when
  micro-batching pays. NumPy releases the GIL inside the matrix product, so this one *can* run on two
  threads at once.

Batching never changes an answer: ``predict_batch(items)[i] == predict_batch([items[i]])[0]`` (up
to float rounding).
"""

from __future__ import annotations

import functools
import math
import operator
import os
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NP_LAYERS", "NP_UNITS", "PY_STEPS", "PY_UNITS", "features", "load", "predict", "predict_batch", "warm"]

PY_UNITS = 256  # width of the pure-Python model
PY_STEPS = 16  # 16 x 256 x 256 = about 1 million multiply-adds in pure Python per call
NP_UNITS = 2048  # width of the NumPy model
NP_LAYERS = 4  # 4 x 2048 x 2048 float32 = 64 MB of weights, more than a typical CPU cache
SEED = 5


def features(item: int, units: int = PY_UNITS) -> list[float]:
    """The input of request ``item``: ``units`` numbers in [-1, 1), the same for the same item."""
    rng = random.Random(item * 7919 + units)
    return [rng.uniform(-1.0, 1.0) for _ in range(units)]


@functools.cache
def _py_weights() -> list[list[float]]:
    rng = random.Random(SEED)
    scale = 1.0 / math.sqrt(PY_UNITS)
    return [[rng.gauss(0.0, scale) for _ in range(PY_UNITS)] for _ in range(PY_UNITS)]


def _answer(item: int, h: Sequence[float]) -> dict[str, Any]:
    scores = list(h[:10])
    label = max(range(len(scores)), key=scores.__getitem__)
    return {"item": item, "label": label, "score": round(float(scores[label]), 6)}


def predict(item: int) -> dict[str, Any]:
    """Run the pure-Python model on request ``item``: CPU-bound, holds the GIL, ~1M multiply-adds."""
    weights = _py_weights()
    x = features(item, PY_UNITS)
    h = x
    for _ in range(PY_STEPS):
        h = [math.tanh(sum(map(operator.mul, row, h)) + xi) for row, xi in zip(weights, x)]
    return _answer(item, h)


@functools.cache
def _np_weights() -> list[np.ndarray]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    scale = np.float32(1.0 / math.sqrt(NP_UNITS))
    return [rng.standard_normal((NP_UNITS, NP_UNITS), dtype=np.float32) * scale for _ in range(NP_LAYERS)]


def _np_features(item: int) -> np.ndarray:
    import numpy as np

    return np.random.default_rng(item * 7919 + NP_UNITS).uniform(-1.0, 1.0, NP_UNITS).astype(np.float32)


def predict_batch(items: Sequence[int]) -> list[dict[str, Any]]:
    """Run the NumPy model on a batch of requests in one call; one answer per item, in order."""
    import numpy as np

    if not items:
        return []
    x = np.stack([_np_features(item) for item in items])  # shape (B, units)
    h = x
    for layer in _np_weights():
        h = np.tanh(h @ layer + x)  # one (B, units) x (units, units) product: weights read once per batch
    return [_answer(item, row.tolist()) for item, row in zip(items, h)]


def load(numpy_model: bool = False) -> None:
    """Build the weights now (at a server's startup) rather than in the first request."""
    _py_weights()
    if numpy_model:
        _np_weights()


def warm(_: object = None) -> int:
    """Build the pure-Python weights in this process and return its pid (to warm up a process pool)."""
    _py_weights()
    return os.getpid()
