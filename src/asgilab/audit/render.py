"""Show verdicts: a table for the terminal (80 columns), JSON for tools, Markdown for a pull request."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from typing import Any

from asgilab.audit.judge import Verdict

WIDTH = 80
MARKS = {"ok": "ok", "blocks-loop": "BLOCKS LOOP", "cpu-bound": "CPU-BOUND", "thread-pool": "thread pool"}


def as_dict(verdict: Verdict) -> dict[str, Any]:
    call = asdict(verdict.blocking_call) if verdict.blocking_call is not None else None
    return {
        "method": verdict.method,
        "path": verdict.path,
        "verdict": verdict.verdict,
        "blocks_loop": verdict.blocks_loop,
        "blocking_call": call,
        "evidence": verdict.evidence,
        "advice": verdict.advice,
        **verdict.figures,
    }


def to_json(verdicts: list[Verdict], target: str, exit_status: int) -> str:
    return json.dumps({"app": target, "exit_status": exit_status, "routes": [as_dict(v) for v in verdicts]}, indent=2)


def to_text(verdicts: list[Verdict], target: str) -> str:
    lines = [
        f"audit of {target}: {_summary(verdicts)}",
        "",
        f"{'route':<38} {'verdict':<12} {'canary worst':>13} {'alone':>8}",
    ]
    for v in verdicts:
        route = f"{v.method} {v.path}"
        route = route if len(route) <= 38 else route[:35] + "..."
        mark = MARKS.get(v.verdict, v.verdict)
        canary, alone = _ms(v.figures.get("canary_worst_s")), _ms(v.figures.get("alone_s"))
        lines.append(f"{route:<38} {mark:<12} {canary:>13} {alone:>8}")
    for v in verdicts:
        if v.verdict == "ok":
            continue
        lines += ["", f"{v.method} {v.path}: {v.verdict}"]
        for item in [*v.evidence, *([f"what to do: {v.advice}"] if v.advice else [])]:
            lines += textwrap.wrap(item, WIDTH, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines)


def to_markdown(verdicts: list[Verdict], target: str) -> str:
    lines = [f"### `asgilab audit {target}`: {_summary(verdicts)}", "", "| route | verdict | evidence | what to do |"]
    lines.append("|---|---|---|---|")
    for v in verdicts:
        evidence = "<br>".join(_cell(e) for e in v.evidence)
        lines.append(f"| `{v.method} {v.path}` | **{v.verdict}** | {evidence} | {_cell(v.advice)} |")
    return "\n".join(lines)


def _summary(verdicts: list[Verdict]) -> str:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "no routes found"


def _ms(seconds: Any) -> str:
    return "-" if not seconds else f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def plot(verdicts: list[Verdict]) -> Any:
    """One bar pair per route: the longest step of the event loop and the canary's worst wait, on a
    log scale, with the 20 ms line above which a step holds up everyone else."""
    import matplotlib.pyplot as plt

    from asgilab.audit.judge import STEP_FLOOR_S

    measured = [v for v in verdicts if v.figures.get("alone_s")]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(measured) + 1.2), layout="constrained")
    rows = range(len(measured))
    steps = [max(float(v.figures["longest_loop_step_s"]), 1e-4) * 1000 for v in measured]
    canary = [max(float(v.figures["canary_worst_s"]), 1e-4) * 1000 for v in measured]
    ax.barh([r - 0.2 for r in rows], steps, height=0.4, label="longest step of the event loop")
    ax.barh([r + 0.2 for r in rows], canary, height=0.4, label="canary's worst wait")
    ax.axvline(STEP_FLOOR_S * 1000, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(list(rows), [f"{v.method} {v.path}  [{v.verdict}]" for v in measured], fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale); dashed: 20 ms")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("What each route does to the event loop, at 20 requests at once")
    return fig
