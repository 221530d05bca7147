"""Figures of streamed runs (``load(..., stream=True)``); `asgilab.plots` re-exports them."""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asgilab.results import Run

__all__ = ["stream_timeline", "ttft"]


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]  # a course Axes always belongs to a Figure
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    plt.close(fig)  # Jupyter shows the returned figure once
    return fig, ax


def stream_timeline(run: Run, ax: Axes | None = None, title: str | None = None, max_streams: int = 60) -> Figure:
    """One bar per stream, from request to its end, with a tick at each token it received.

    A long gap before the first tick is the time to first token; ticks bunched at the end of a bar
    are a buffered answer, not a stream. Streams the client left are drawn hatched, failed ones red.
    """
    fig, ax = _axes(ax, (7, 3.8))
    order = sorted(run.records, key=lambda r: (r.start, r.end))[:max_streams]
    for i, r in enumerate(order):
        color = "tab:red" if not r.ok else "tab:gray"
        ax.barh(i, r.end - r.start, left=r.start, height=0.7, color=color, alpha=0.35, hatch="//" if r.left else None)
        if r.token_times:
            ax.plot(r.token_times, [i] * len(r.token_times), "|", color="tab:blue", markersize=6)
    shown = f" (first {len(order)} of {len(run.records)})" if len(order) < len(run.records) else ""
    ax.set_xlabel("seconds since the start of the run (a tick = a token received)")
    ax.set_ylabel(f"stream{shown}")
    ax.set_title(title or f"{run.name}: TTFT p50 {run.ttft_p50_s * 1000:.0f} ms")
    ax.invert_yaxis()
    return fig


def ttft(
    runs: Iterable[Run], ax: Axes | None = None, title: str = "Time to first token", by: str = "concurrency"
) -> Figure:
    """TTFT p50 and p99 of each run against its concurrency (or ``by="rate"``: its arrival rate)."""
    fig, ax = _axes(ax, (6, 3.5))
    runs = list(runs)
    xs = [float(getattr(r, by) or math.nan) for r in runs]
    ax.plot(xs, [r.ttft_p50_s * 1000 for r in runs], "o-", label="TTFT p50")
    ax.plot(xs, [r.ttft_p99_s * 1000 for r in runs], "s--", label="TTFT p99")
    for x, r in zip(xs, runs):
        if r.errors:
            ax.annotate(f"{r.errors} failed", (x, r.ttft_p99_s * 1000), fontsize=8, color="tab:red")
    ax.set_xlabel("streams in flight" if by == "concurrency" else "arrivals per second")
    ax.set_ylabel("ms (successful streams)")
    ax.set_title(title)
    ax.legend()
    return fig
