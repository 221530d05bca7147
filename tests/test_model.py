"""The lesson-05 model: deterministic, CPU-bound, and batching never changes an answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from asgilab import model


def test_predict_is_deterministic_and_well_formed() -> None:
    first, again, other = model.predict(3), model.predict(3), model.predict(4)
    assert first == again
    assert set(first) == {"item", "label", "score"} and first["item"] == 3
    assert 0 <= first["label"] < 10 and -1.0 <= first["score"] <= 1.0
    assert first != other


def test_features_depend_on_the_item_only() -> None:
    assert model.features(1) == model.features(1)
    assert model.features(1) != model.features(2)
    assert len(model.features(1)) == model.PY_UNITS


def test_predict_is_heavy_enough_to_block_a_loop() -> None:
    model.load()
    start = time.perf_counter()
    model.predict(0)
    assert time.perf_counter() - start > 0.005  # milliseconds of pure Python, not microseconds


def test_batching_never_changes_an_answer() -> None:
    items = [5, 1, 5, 9]
    batch = model.predict_batch(items)
    assert [a["item"] for a in batch] == items
    for item, answer in zip(items, batch):
        alone = model.predict_batch([item])[0]
        assert alone["label"] == answer["label"]
        assert alone["score"] == pytest.approx(answer["score"], abs=1e-4)
    assert model.predict_batch([]) == []


TIMING = """
import time
from asgilab import model

def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)

items = list(range(16))
model.load(numpy_model=True)
model.predict_batch(items)
print(best(lambda: [model.predict_batch([i]) for i in items]), best(lambda: model.predict_batch(items)))
"""


def test_a_batch_costs_less_than_its_items_one_by_one() -> None:
    # In a child process with one BLAS thread, as the lesson's batching server runs it.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", TIMING], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    one_by_one, together = map(float, out.stdout.split())
    assert together < one_by_one / 1.5, f"batch of 16 {together:.4f} s vs one by one {one_by_one:.4f} s"


def test_warm_returns_the_worker_pid() -> None:
    assert model.warm() == os.getpid()
