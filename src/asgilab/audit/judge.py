"""Verdicts from measurements: the pure room of ``asgilab audit`` (no server, no clock).

Each verdict rests on blockbuster's evidence or on figures that a busy machine does not fake: the
longest single step the event loop took while the route was under load (a blocking call or CPU work
on the loop makes one long step; many cooperative requests make many short ones), and server CPU
per request against the route's latency alone. The canary's wait is shown as what other requests
felt. A borderline figure on a busy machine gives ``undecided`` with the reason, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("ok", "blocks-loop", "cpu-bound", "thread-pool", "failed", "skipped", "undecided")
STEP_FLOOR_S = 0.02  # one step of the loop this long holds up every other request by as much
LONG_STEP_SHARE = 0.5  # a route stalls the loop when half its requests (or more) make such a step
CPU_SHARE = 0.5  # a route whose CPU time is most of its latency alone is CPU-bound ...
CPU_FLOOR_S = 0.01  # ... once that time is more than a fast route's own handling
BUSY_CORES = 0.5  # other programs using more than this may blur a borderline figure
LESSONS = {
    "blocks-loop": "lesson 02 (notebooks/02_blocking_pitfalls.ipynb)",
    "cpu-bound": "lesson 03 (CPU-bound work) and lesson 07 (a process pool or an inference server)",
    "thread-pool": "lesson 03 (the 40 thread tokens) and lesson 08 (sizing and back-pressure)",
}


@dataclass
class Frame:
    function: str
    file: str
    line: int


@dataclass
class Measurement:
    """What the probe measured for one route (times in seconds)."""

    method: str
    path: str
    kind: str  # "async", "def" or "unknown"
    skipped: str = ""
    status: int | None = None  # of the request sent alone
    error: str = ""  # the first line of the app's error, if it raised
    blocking_call: Frame | None = None  # from the blockbuster pass, in the app's own code
    blocking_function: str = ""  # the blocking function blockbuster named, e.g. time.sleep
    alone_s: float = 0.0  # median latency of the request sent alone
    runqueue_wait_s: float = 0.0  # of which the server waited for a core that other programs had
    concurrency: int = 0
    burst_ok: int = 0
    burst_p50_s: float = 0.0
    burst_wall_s: float = 0.0
    longest_step_s: float = 0.0  # the longest single callback the event loop ran during the burst
    long_steps: int = 0  # callbacks of at least STEP_FLOOR_S during the burst
    canary_worst_s: float = 0.0
    canary_median_s: float = 0.0
    cpu_per_request_s: float = 0.0
    tokens_max: int = 0  # AnyIO thread tokens in use at once during the burst
    tokens_total: int = 0
    others_cores: float = 0.0


@dataclass
class Verdict:
    method: str
    path: str
    verdict: str
    blocks_loop: bool
    evidence: list[str] = field(default_factory=list)
    advice: str = ""
    blocking_call: Frame | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def cpu_share(m: Measurement) -> float:
    """The share of its latency alone that the route spends on CPU (0 for a fast route's handling)."""
    if m.alone_s <= 0 or m.cpu_per_request_s < CPU_FLOOR_S:
        return 0.0
    # Time spent waiting for a core that another program had is neither the route's CPU nor its wait.
    own_s = max(m.alone_s - m.runqueue_wait_s, m.cpu_per_request_s)
    return m.cpu_per_request_s / own_s


def borderline(m: Measurement) -> bool:
    """True when a figure sits near a threshold: the probe measures such a route a second time."""
    share = m.long_steps / max(m.concurrency, 1)
    return 0.25 <= share <= 0.75 or 0.35 <= cpu_share(m) <= 0.65


def judge(m: Measurement) -> Verdict:
    verdict = Verdict(m.method, m.path, "ok", False, figures=figures(m), blocking_call=m.blocking_call)
    if m.skipped:
        return _set(verdict, "skipped", False, [m.skipped], "give the missing value on the command line")
    if m.status is None or not 200 <= m.status < 400 or m.burst_ok < m.concurrency:
        return _failed(verdict, m)
    stalled = m.long_steps >= LONG_STEP_SHARE * m.concurrency
    on_loop = m.kind == "async" and m.tokens_max == 0
    if m.blocking_call is not None and m.kind == "async":
        return _blocking(verdict, m)
    if cpu_share(m) >= CPU_SHARE:
        return _cpu_bound(verdict, m, blocks=on_loop and stalled)
    if stalled and on_loop:
        return _stalls(verdict, m)
    if borderline(m) and m.others_cores > BUSY_CORES:
        reason = f"other programs used {m.others_cores:.1f} cores during the measurement, too many to tell"
        return _set(verdict, "undecided", False, [reason], "run the audit again on a quieter machine")
    if m.kind == "def" or m.tokens_max > 0:
        return _thread_pool(verdict, m)
    if m.kind == "unknown":
        return _set(verdict, "ok", False, [_canary(m)], "the loop stayed free (a mounted app: not read further)")
    return _set(verdict, "ok", False, [_canary(m)], "")


def _set(verdict: Verdict, name: str, blocks: bool, evidence: list[str], advice: str) -> Verdict:
    verdict.verdict, verdict.blocks_loop, verdict.evidence, verdict.advice = name, blocks, evidence, advice
    return verdict


def _failed(verdict: Verdict, m: Measurement) -> Verdict:
    if m.status is None or not 200 <= m.status < 400:
        what = f"answered {m.status}" if m.status is not None else "gave no response"
        evidence = [f"sent alone it {what}" + (f": {m.error}" if m.error else "")]
    else:
        evidence = [f"{m.concurrency - m.burst_ok} of {m.concurrency} requests failed when sent together"]
        evidence += [m.error] if m.error else []
    return _set(verdict, "failed", False, evidence, "fix the error first (or give --param/--body), then audit again")


def _blocking(verdict: Verdict, m: Measurement) -> Verdict:
    call = m.blocking_call
    assert call is not None
    where = f"{m.blocking_function or 'a blocking call'} at {call.file}:{call.line}, in {call.function}()"
    evidence = [where, _canary(m)]
    advice = (
        "await an async equivalent, or move the call to a def endpoint or"
        f" anyio.to_thread.run_sync: see {LESSONS['blocks-loop']}"
    )
    return _set(verdict, "blocks-loop", True, evidence, advice)


def _stalls(verdict: Verdict, m: Measurement) -> Verdict:
    evidence = ["blockbuster saw no blocking call it knows, yet the loop took long steps", _canary(m)]
    advice = (
        f"look for CPU work or a blocking call in a C extension inside this async def: see {LESSONS['blocks-loop']}"
    )
    return _set(verdict, "blocks-loop", True, evidence, advice)


def _cpu_bound(verdict: Verdict, m: Measurement, blocks: bool) -> Verdict:
    evidence = [f"CPU {_ms(m.cpu_per_request_s)} per request of {_ms(m.alone_s)} alone ({cpu_share(m):.0%})"]
    if blocks:
        evidence.append("it runs on the event loop, so it blocks it too: " + _canary(m))
    else:
        evidence.append("it runs off the event loop (threads take turns on one GIL for Python code): " + _canary(m))
    advice = f"threads share one GIL for Python code: see {LESSONS['cpu-bound']}"
    return _set(verdict, "cpu-bound", blocks, evidence, advice)


def _thread_pool(verdict: Verdict, m: Measurement) -> Verdict:
    where = "a def endpoint" if m.kind == "def" else "an async endpoint that hands work to threads"
    tokens = f"{m.tokens_max} of {m.tokens_total} thread tokens in use at {m.concurrency} at once"
    advice = f"fine up to the thread tokens, then requests queue: see {LESSONS['thread-pool']}"
    return _set(verdict, "thread-pool", False, [where, tokens, _canary(m)], advice)


def _canary(m: Measurement) -> str:
    return (
        f"{m.long_steps} steps of the event loop over {_ms(STEP_FLOOR_S)} for {m.concurrency} requests"
        f" (longest {_ms(m.longest_step_s)});"
        f" a canary request waited {_ms(m.canary_worst_s)} at worst (median {_ms(m.canary_median_s)})"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def figures(m: Measurement) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "status": m.status,
        "alone_s": round(m.alone_s, 4),
        "waiting_for_a_core_s": round(m.runqueue_wait_s, 4),
        "concurrency": m.concurrency,
        "under_load_p50_s": round(m.burst_p50_s, 4),
        "longest_loop_step_s": round(m.longest_step_s, 4),
        "long_loop_steps": m.long_steps,
        "canary_worst_s": round(m.canary_worst_s, 4),
        "canary_median_s": round(m.canary_median_s, 4),
        "cpu_per_request_s": round(m.cpu_per_request_s, 5),
        "thread_tokens_max": m.tokens_max,
        "others_cores": round(m.others_cores, 2),
    }
