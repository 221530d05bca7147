"""Per-request records of a load run, and the statistics the course reads off them."""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Record:
    """One request: times are seconds since the start of the run (``time.perf_counter`` based).

    ``scheduled`` is when an open-loop run *meant* to send the request; for a closed loop it
    equals ``start``. Latency counted from ``scheduled`` includes time spent waiting to be sent,
    which is what a user of a saturated service experiences (coordinated omission).
    """

    start: float
    end: float
    status: int | None = None
    error: str | None = None
    scheduled: float | None = None
    # Streams only (``load(..., stream=True)``): when the first byte and each token event arrived
    # (seconds since the start of the run), and whether the client left on purpose (``leave_after``).
    first_byte: float | None = None
    token_times: tuple[float, ...] = ()
    left: bool = False

    @property
    def ttft(self) -> float:
        """Time to first token: from sending the request to its first token event (NaN for none)."""
        return self.token_times[0] - self.start if self.token_times else math.nan

    @property
    def itls(self) -> list[float]:
        """Inter-token latencies: the gaps between consecutive token events."""
        return [b - a for a, b in zip(self.token_times, self.token_times[1:])]

    @property
    def tpot(self) -> float:
        """Time per output token after the first: (last - first) / (tokens - 1), NaN below 2 tokens."""
        n = len(self.token_times)
        return (self.token_times[-1] - self.token_times[0]) / (n - 1) if n > 1 else math.nan

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def latency_from_schedule(self) -> float:
        return self.end - (self.start if self.scheduled is None else self.scheduled)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 400


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    # statistics.quantiles with n=1000 gives cut points at 0.1 % steps, interpolated ("inclusive").
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    index = round(pct * 10)
    if index <= 0:
        return float(min(values))
    if index >= 1000:
        return float(max(values))
    return float(cuts[index - 1])


@dataclass
class Run:
    """The outcome of one load run: its parameters, one `Record` per request, and probe records.

    The latency figures (``latencies``, ``p50_s``, ``p90_s``, ``p99_s``, ``max_s``, ``mean_s``) and
    ``throughput_rps`` are of the *successful* requests only: a request that failed (a timeout, a 503,
    a refused connection) has no latency to rank. ``errors`` and ``error_kinds`` say how many were
    left out, and `table` shows them beside the percentiles ("p99 (ok)" next to "failed"): a run that
    refuses most of its requests can show a fine p99, so always read the two together.
    """

    url: str
    requests: int
    concurrency: int
    engine: str
    records: list[Record] = field(default_factory=list)
    probe_records: list[Record] = field(default_factory=list)
    probe_path: str | None = None
    rate: float | None = None
    label: str | None = None
    wall_s: float = math.nan
    stopped_by_deadline: bool = False
    stream: bool = False  # requests read as event streams: the TTFT, ITL and TPOT figures below apply
    server_cpu_s: float | None = None  # CPU seconds of the servers given as ``load(..., cpu_of=...)``
    others_cores: float | None = None  # cores other programs kept busy meanwhile (also with ``cpu_of``)

    # -- counts -------------------------------------------------------------------------
    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.records)

    @property
    def errors(self) -> int:
        return len(self.records) - self.ok

    @property
    def error_kinds(self) -> dict[str, int]:
        """How many requests failed, by kind: ``timeout``, ``status 503``, exception names."""
        kinds: dict[str, int] = {}
        for r in self.records:
            if r.ok:
                continue
            kind = r.error or f"status {r.status}"
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    # -- figures ------------------------------------------------------------------------
    @property
    def latencies(self) -> list[float]:
        """Latencies of the successful requests, in seconds (for streams: end to end, of the streams
        read to their end; a client that left on purpose has no end-to-end time)."""
        done = [r for r in self.records if r.ok and not r.left]
        if self.rate is not None:
            return [r.latency_from_schedule for r in done]
        return [r.latency for r in done]

    # -- streams ------------------------------------------------------------------------
    @property
    def left(self) -> int:
        """Streams the client left on purpose (``leave_after``)."""
        return sum(r.left for r in self.records)

    @property
    def ttfts(self) -> list[float]:
        """Time to first token of each successful stream (from its schedule in an open loop)."""
        late = (lambda r: r.start - r.scheduled) if self.rate is not None else (lambda r: 0.0)
        return [r.ttft + late(r) for r in self.records if r.ok and r.token_times]

    @property
    def itls(self) -> list[float]:
        """Every inter-token gap of every successful stream."""
        return [gap for r in self.records if r.ok for gap in r.itls]

    @property
    def ttft_p50_s(self) -> float:
        return percentile(self.ttfts, 50)

    @property
    def ttft_p99_s(self) -> float:
        return percentile(self.ttfts, 99)

    @property
    def itl_p50_s(self) -> float:
        return percentile(self.itls, 50)

    @property
    def itl_p99_s(self) -> float:
        return percentile(self.itls, 99)

    @property
    def tpot_mean_s(self) -> float:
        """Mean time per output token over the streams with two tokens or more."""
        tpots = [r.tpot for r in self.records if r.ok and len(r.token_times) > 1]
        return statistics.fmean(tpots) if tpots else math.nan

    @property
    def tokens(self) -> int:
        """Token events received, all streams together."""
        return sum(len(r.token_times) for r in self.records)

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else math.nan

    def latency_pct(self, pct: float) -> float:
        return percentile(self.latencies, pct)

    @property
    def p50_s(self) -> float:
        return self.latency_pct(50)

    @property
    def p90_s(self) -> float:
        return self.latency_pct(90)

    @property
    def p99_s(self) -> float:
        return self.latency_pct(99)

    @property
    def max_s(self) -> float:
        lat = self.latencies
        return max(lat) if lat else math.nan

    @property
    def mean_s(self) -> float:
        lat = self.latencies
        return statistics.fmean(lat) if lat else math.nan

    @property
    def effective_concurrency(self) -> float:
        """Sum of all request latencies divided by wall time: how many requests were in flight, as
        the client saw them, on average. Queueing counts as in flight, so a server that serves one
        request at a time still scores about half the concurrency when all requests arrive at once;
        to see what the server overlapped, use `served_at_once`. (Kept for the CLI's JSON; the
        table no longer shows it.)"""
        total = sum(r.latency for r in self.records)
        return total / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def max_in_flight(self) -> int:
        """The most requests outstanding at once, as the client saw them: due (open loop) or sent,
        and not yet answered or failed. Requests waiting in any queue count, so in an open loop past
        capacity this is the queue at its longest; in a closed loop it is at most ``concurrency``.
        Requests cut off or never sent by the run's deadline are left out."""
        events: list[tuple[float, int]] = []
        for r in self.records:
            if r.error == "deadline":
                continue
            events += [(r.start if r.scheduled is None else min(r.scheduled, r.start), 1), (r.end, -1)]
        most = now = 0
        for _, step in sorted(events):  # at equal times an answer (-1) sorts before a new request
            now += step
            most = max(most, now)
        return most

    def served_at_once(self, service_s: float) -> float:
        """How many requests the server worked on at once, on average, when each takes
        ``service_s`` seconds on its own: successful requests x ``service_s`` / wall time.
        About 1 when it served them one at a time; about ``concurrency`` when it overlapped them."""
        return self.ok * service_s / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def cores_used(self) -> float:
        """CPU seconds the measured servers used per second of the run: how many cores they kept busy
        (needs ``load(..., cpu_of=[server])``)."""
        if self.server_cpu_s is None or not self.wall_s > 0:
            return math.nan
        return self.server_cpu_s / self.wall_s

    @property
    def cpu_per_request_s(self) -> float:
        """The measured servers' CPU seconds per successful request (needs ``cpu_of``)."""
        if self.server_cpu_s is None:
            return math.nan
        return self.server_cpu_s / max(self.ok, 1)

    @property
    def probe_latencies(self) -> list[float]:
        return [r.latency for r in self.probe_records if r.ok]

    @property
    def probe_max_s(self) -> float:
        """The worst canary latency: how long the server was unable to answer ``/ping``."""
        lat = [r.latency for r in self.probe_records]
        return max(lat) if lat else math.nan

    @property
    def probe_p50_s(self) -> float:
        return percentile(self.probe_latencies, 50)

    # -- views --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.label or self.url

    def to_dict(self) -> dict[str, Any]:
        """The headline figures as plain numbers (the CLI's ``--json``)."""
        d: dict[str, Any] = {
            "label": self.label,
            "url": self.url,
            "engine": self.engine,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "wall_s": self.wall_s,
            "throughput_rps": self.throughput_rps,
            "mean_s": self.mean_s,
            "p50_s": self.p50_s,
            "p90_s": self.p90_s,
            "p99_s": self.p99_s,
            "max_s": self.max_s,
            "effective_concurrency": self.effective_concurrency,
            "stopped_by_deadline": self.stopped_by_deadline,
        }
        if self.stream:
            d.update(
                left=self.left,
                tokens=self.tokens,
                ttft_p50_s=self.ttft_p50_s,
                ttft_p99_s=self.ttft_p99_s,
                itl_p50_s=self.itl_p50_s,
                itl_p99_s=self.itl_p99_s,
                tpot_mean_s=self.tpot_mean_s,
            )
        if self.server_cpu_s is not None:
            d.update(server_cpu_s=self.server_cpu_s, cores_used=self.cores_used, others_cores=self.others_cores)
        if self.probe_path is not None:
            d.update(
                probe_path=self.probe_path,
                probe_count=len(self.probe_records),
                probe_p50_s=self.probe_p50_s,
                probe_max_s=self.probe_max_s,
            )
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

    def summary(self) -> str:
        """One line a learner can read aloud."""
        text = (
            f"{self.name}: {self.ok}/{len(self.records)} ok in {self.wall_s:.3f} s"
            f" ({self.throughput_rps:.0f} ok/s) at "
            + (f"concurrency {self.concurrency}" if self.rate is None else f"rate {self.rate:g}/s")
            + f"; of the ok: p50 {_ms(self.p50_s)}, p99 {_ms(self.p99_s)}, max {_ms(self.max_s)}"
        )
        if self.stream:
            text += f"; TTFT p50 {_ms(self.ttft_p50_s)}, p99 {_ms(self.ttft_p99_s)}; ITL p50 {_ms(self.itl_p50_s)}"
        if self.errors:
            text += f"; failed {self.errors} {self.error_kinds}"
        if self.probe_path is not None:
            text += f"; {self.probe_path} worst {_ms(self.probe_max_s)}"
        return text

    def __repr__(self) -> str:
        return f"<Run {self.summary()}>"

    def _repr_html_(self) -> str:
        return table([self])._repr_html_()


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _failed(run: Run) -> str:
    if not run.errors:
        return "0"
    return f"{run.errors} (" + ", ".join(f"{k}: {v}" for k, v in run.error_kinds.items()) + ")"


# Throughput and percentiles are of the successful requests ("(ok)"); "failed" says what they leave out.
_COLUMNS: list[tuple[str, Callable[[Run], object]]] = [
    ("run", lambda r: r.name),
    ("concurrency", lambda r: r.concurrency if r.rate is None else f"rate {r.rate:g}/s"),
    ("wall (s)", lambda r: f"{r.wall_s:.3f}"),
    ("ok", lambda r: f"{r.ok}/{len(r.records)}"),
    ("failed", _failed),
    ("req/s (ok)", lambda r: f"{r.throughput_rps:.0f}"),
    ("p50 (ok)", lambda r: _ms(r.p50_s)),
    ("p99 (ok)", lambda r: _ms(r.p99_s)),
    ("max (ok)", lambda r: _ms(r.max_s)),
    ("probe worst", lambda r: _ms(r.probe_max_s) if r.probe_path else ""),
]
# Streams' columns, the names serving benchmarks use (vLLM's among them); shown when a run streamed.
_STREAM_COLUMNS: list[tuple[str, Callable[[Run], object]]] = [
    ("TTFT p50", lambda r: _ms(r.ttft_p50_s) if r.stream else ""),
    ("TTFT p99", lambda r: _ms(r.ttft_p99_s) if r.stream else ""),
    ("ITL p50", lambda r: _ms(r.itl_p50_s) if r.stream else ""),
    ("ITL p99", lambda r: _ms(r.itl_p99_s) if r.stream else ""),
    ("TPOT mean", lambda r: _ms(r.tpot_mean_s) if r.stream else ""),
    ("left", lambda r: str(r.left) if r.stream else ""),
]


class RunLike(Protocol):
    """What `Run` and `asgilab.external.WrkRun` both are, and what the bar plots read: requests sent,
    answered (``ok``) and failed (``errors``), and figures of the answered ones."""

    @property
    def name(self) -> str: ...
    @property
    def requests(self) -> int: ...
    @property
    def ok(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def throughput_rps(self) -> float: ...

    wall_s: float


class Table:
    """Several runs side by side: plain text in a terminal, an HTML table in Jupyter."""

    def __init__(self, runs: Iterable[Run]):
        self.runs = list(runs)
        # the canary's column only when a run had one
        self.columns = [(n, get) for n, get in _COLUMNS if n != "probe worst" or any(r.probe_path for r in self.runs)]
        if any(getattr(r, "stream", False) for r in self.runs):
            self.columns[6:9] = [("e2e p50 (ok)", _COLUMNS[6][1]), ("e2e p99 (ok)", _COLUMNS[7][1])]
            self.columns += _STREAM_COLUMNS
        self.rows = [[str(get(r)) for _, get in self.columns] for r in self.runs]

    def __repr__(self) -> str:
        header = [name for name, _ in self.columns]
        widths = [max([len(h)] + [len(row[i]) for row in self.rows]) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name, _ in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table(runs: Iterable[Run]) -> Table:
    """A comparison table of runs (the last expression of a cell displays it). Throughput and
    latency percentiles are of the successful requests, marked "(ok)"; "failed" counts the others,
    by kind."""
    return Table(runs)
