"""Every figure draws from real-looking runs without error and carries its data."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

from asgilab import plots
from asgilab.results import Record, Run


def staircase(n=6, c=2, label="def"):
    records = [Record(start=0.0, end=0.1 * (i // c + 1), status=200) for i in range(n)]
    records.append(Record(start=0.0, end=0.05, error="timeout"))
    return Run(
        url="u",
        requests=n + 1,
        concurrency=c,
        engine="aiohttp",
        records=records,
        probe_records=[Record(start=0.01 * i, end=0.01 * i + 0.005, status=200) for i in range(5)],
        probe_path="/ping",
        wall_s=0.1 * (n // c),
        label=label,
    )


def test_timeline_has_one_bar_per_request():
    fig = plots.timeline(staircase())
    assert len(fig.axes[0].patches) == 7


def test_cdf_compare_scaling_probe():
    runs = [staircase(label="a"), staircase(c=3, label="b")]
    assert len(plots.cdf(runs).axes[0].lines) == 2
    fig = plots.compare(runs, "wall_s", ideal=0.1)
    assert len(fig.axes[0].patches) == 2
    fig = plots.scaling({"def": runs}, ideal={2: 0.1, 3: 0.1})
    assert len(fig.axes[0].lines) == 2
    assert len(plots.probe(runs[0]).axes[0].lines) == 1


def test_latency_figures_say_they_leave_failures_out():
    runs = [staircase(label="a"), staircase(c=3, label="b")]  # each: 6 ok, 1 timeout
    ax = plots.cdf(runs).axes[0]
    assert "successful" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "a (1 of 7 failed, left out)",
        "b (1 of 7 failed, left out)",
    ]
    ax = plots.compare(runs, "p99_s").axes[0]
    assert "successful" in ax.get_ylabel() and "1 of 7 failed" in ax.get_xticklabels()[0].get_text()
    ax = plots.compare(runs, "wall_s").axes[0]
    assert ax.get_xticklabels()[0].get_text() == "a"  # wall time counts every request: nothing left out
    assert "2 failed" in plots.scaling({"def": runs}, "p99_s").axes[0].get_legend().get_texts()[0].get_text()
