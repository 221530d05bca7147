"""Matplotlib figures of load runs: one plot, one point.

Each function returns the matplotlib ``Figure`` (Jupyter displays it) and accepts ``ax=`` to draw
into an existing axes instead. Latency percentiles and throughput are of the successful requests
(see `Run`): the figures that show them say so in their axis label and name, in their legend or
ticks, how many requests failed and were left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asgilab.results import Record, Run, RunLike
from asgilab.stream_plots import stream_timeline, ttft

__all__ = ["timeline", "cdf", "compare", "scaling", "probe", "latency_over_time", "stream_timeline", "ttft"]


def _axes(ax: Axes | None, size: tuple[float, float] = (7, 3.5)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]  # a course Axes always belongs to a Figure, never a SubFigure
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    plt.close(fig)  # Jupyter shows the returned figure once; do not show it a second time
    return fig, ax


def timeline(run: Run, ax: Axes | None = None, title: str | None = None) -> Figure:
    """One horizontal bar per request, from when it was sent to when it answered.

    Overlapping bars mean the server worked on requests together; a staircase means it served
    them one (or one batch) at a time. Failed requests are drawn in red.
    """
    fig, ax = _axes(ax, (7, 3.8))
    order = sorted(run.records, key=lambda r: (r.start, r.end))
    for i, r in enumerate(order):
        color = "tab:blue" if r.ok else "tab:red"
        if r.scheduled is not None and r.scheduled < r.start:
            ax.barh(i, r.start - r.scheduled, left=r.scheduled, height=1.0, color="tab:orange", linewidth=0)
        ax.barh(i, max(r.end - r.start, 1e-4), left=r.start, height=1.0, color=color, linewidth=0)
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel("request (in order sent)")
    ax.set_xlim(left=0)
    ax.set_ylim(-0.5, max(len(order), 1) - 0.5)
    ax.invert_yaxis()
    ax.set_title(title or f"{run.name}: {len(order)} requests, wall {run.wall_s:.2f} s")
    return fig


def cdf(runs: Run | Iterable[Run], ax: Axes | None = None, title: str = "Latency distribution") -> Figure:
    """Latency CDF of each run's successful requests: the fraction of them that answered within x
    seconds. A run with failed requests says in its legend entry how many were left out."""
    fig, ax = _axes(ax)
    for run in [runs] if isinstance(runs, Run) else runs:
        lat = sorted(run.latencies)
        if not lat:
            continue
        ys = [(i + 1) / len(lat) for i in range(len(lat))]
        ax.step(lat, ys, where="post", label=_with_failed(run, run.name))
    ax.set_xlabel("latency of successful requests (s)")
    ax.set_ylabel("fraction of successful requests")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title)
    return fig


def compare(
    runs: Sequence[RunLike],
    metric: str = "wall_s",
    ax: Axes | None = None,
    title: str | None = None,
    ideal: float | None = None,
) -> Figure:
    """Side-by-side bars of one figure (``wall_s``, ``throughput_rps``, ``p99_s``, ``probe_max_s``...)."""
    fig, ax = _axes(ax)
    values = [getattr(run, metric) for run in runs]
    names = [_with_failed(run, run.name, "\n") if metric in _OF_OK else run.name for run in runs]
    bars = ax.bar(range(len(runs)), [0 if math.isnan(v) else v for v in values], color="tab:blue")
    ax.bar_label(bars, labels=[_fmt(v) for v in values], fontsize="small")
    ax.set_xticks(
        range(len(runs)), names, rotation=20 if len(runs) > 3 else 0, ha="right" if len(runs) > 3 else "center"
    )
    ax.set_ylabel(_LABELS.get(metric, metric))
    if ideal is not None:
        ax.axhline(ideal, color="tab:green", linestyle="--", label=f"ideal {_fmt(ideal)}")
        ax.legend(fontsize="small")
    ax.set_title(title or _LABELS.get(metric, metric))
    return fig


def scaling(
    series: dict[str, Sequence[Run]],
    metric: str = "wall_s",
    ax: Axes | None = None,
    title: str | None = None,
    ideal: dict[int, float] | None = None,
) -> Figure:
    """A figure against concurrency, one line per series: ``{"def": runs, "async def": runs}``.

    The 40-thread staircase of a ``def`` endpoint shows up here as a step at 41.
    """
    fig, ax = _axes(ax)
    for name, runs in series.items():
        xs = [run.concurrency for run in runs]
        failed = sum(getattr(run, "errors", 0) for run in runs)
        if metric in _OF_OK and failed:
            name = f"{name} ({failed} failed, left out)"
        ax.plot(xs, [getattr(run, metric) for run in runs], marker="o", label=name)
    if ideal:
        xs = sorted(ideal)
        ax.plot(xs, [ideal[x] for x in xs], linestyle="--", color="gray", label="ideal")
    ax.set_xlabel("concurrent requests")
    ax.set_ylabel(_LABELS.get(metric, metric))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title or f"{_LABELS.get(metric, metric)} against concurrency")
    return fig


def probe(runs: Run | Iterable[Run], ax: Axes | None = None, title: str = "Canary latency during the run") -> Figure:
    """The probe's latency over time: flat near zero while the event loop is free, tall spikes
    while something blocks it."""
    fig, ax = _axes(ax)
    for run in [runs] if isinstance(runs, Run) else runs:
        pts = [(r.start, r.latency) for r in run.probe_records]
        if pts:
            ax.plot(*zip(*pts), marker=".", label=f"{run.name} ({run.probe_path})")
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel("probe latency (s)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


_LABELS = {
    "wall_s": "wall time (s)",
    "throughput_rps": "throughput, successful requests/s",
    "p50_s": "median latency, successful requests (s)",
    "p90_s": "p90 latency, successful requests (s)",
    "p99_s": "p99 latency, successful requests (s)",
    "max_s": "max latency, successful requests (s)",
    "mean_s": "mean latency, successful requests (s)",
    "effective_concurrency": "effective concurrency",
    "probe_max_s": "worst probe latency (s)",
}
_OF_OK = {"throughput_rps", "p50_s", "p90_s", "p99_s", "max_s", "mean_s"}  # figures of successful requests


def _with_failed(run: RunLike, name: str, sep: str = " ") -> str:
    """``name``, and how many of the run's requests failed (left out of its latency figures)."""
    return f"{name}{sep}({run.errors} of {run.requests} failed, left out)" if run.errors else name


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}"


def latency_over_time(runs: Run | Iterable[Run], ax: Axes | None = None, title: str = "Latency over the run") -> Figure:
    """Each request's latency against when it was due (open loop) or sent: one colour per run.

    Below capacity the dots lie flat; past it they climb a ramp, since every second the queue
    grows by (arrival rate - capacity) requests (Little's law). Failed requests are drawn as x.
    """

    def when(r: Record) -> float:
        return r.start if r.scheduled is None else r.scheduled

    fig, ax = _axes(ax)
    for run in [runs] if isinstance(runs, Run) else runs:
        ok = [r for r in run.records if r.ok]
        failed = [r for r in run.records if not r.ok and r.error != "deadline"]
        dots = ax.scatter([when(r) for r in ok], [r.latency_from_schedule for r in ok], s=6, label=run.name)
        if failed:
            ax.scatter(
                [when(r) for r in failed],
                [r.latency_from_schedule for r in failed],
                s=12,
                marker="x",
                color=dots.get_facecolor()[0],
                alpha=0.6,
                label=f"{run.name}: failed ({len(failed)})",
            )
    ax.set_xlabel("time the request was due (s since the run started)")
    ax.set_ylabel("latency from when it was due (s)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig
