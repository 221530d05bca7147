"""Checks for lab 12: build the streaming gateway in front of the course's model server.

    check.step1("lab12_gateway:app")    # streams through: TTFT near the model's own, tokens in order, one client
    check.step2("lab12_gateway:app")    # clients that leave after 3 tokens: the model cancels their sequences
    check.step3("lab12_capacity:app")   # 10 streams for 4 model slots: 4 served, 6 refused at once with Retry-After
    check.step4("lab12_deadline:app")   # no first token within 300 ms: 504, and the model's sequence cancelled

Each step serves the model (`asgilab.llm.serve_model`) and the learner's gateway with ``MODEL_URL``
set to it, measures the gateway from outside, and reads the model's counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgilab.checks import AppDir, Criterion, Hints, all_answered, logged, make_step, ms, served
from asgilab.checks.lab12_guard import judge_step3, judge_step4, measure_step3, measure_step4
from asgilab.checks.lab12_reader import PREFILL_S, SETTLE_S, TOKEN_S, Stream, model, settle, with_streams
from asgilab.checks.lab12_text import LADDER, LOOK, look, title
from asgilab.i18n import N_, _, _f
from asgilab.llm import CHAT_PATH
from asgilab.load import load_sync
from asgilab.results import Run
from asgilab.streams import chat_body

__all__ = ["LOOK", "WHAT", "hint", "solution", "step1", "step2", "step3", "step4", "what"]

STREAMS, AT_ONCE, TOKENS = 16, 8, 20  # step 1: 16 streams of 20 tokens, 8 at a time
MARGIN_S, MARGIN_SHARE = 0.15, 0.5  # the gateway's TTFT p50 within the model's + max(150 ms, 50 %)
LEAVERS, LONG, LEAVE_AFTER, NOBODY_EACH = 6, 60, 3, 3  # step 2
FIGURES: dict[str, object] = {  # the figures the criteria name
    "margin": ms(MARGIN_S),
    "share": MARGIN_SHARE,
    "last": TOKENS - 1,
    "at_once": AT_ONCE,
    "streams": STREAMS,
    "leavers": LEAVERS,
    "leave_after": LEAVE_AFTER,
    "long": LONG,
    "settle": SETTLE_S,
    "nobody": NOBODY_EACH,
}
CRITERIA = {  # what each criterion requires, its figures as fields of FIGURES
    "ttft": N_(
        "the first token comes about as soon as from the model itself (TTFT p50 within its own + max({margin}, {share:.0%}))"
    ),
    "order": N_("the tokens arrive whole and in order (t0 to t{last}, then [DONE])"),
    "event stream": N_("the gateway answers text/event-stream, a stream of server-sent events"),
    "pool": N_(
        "the model sees at most {at_once} connections for {streams} streams, {at_once} at a time (one shared client)"
    ),
    "left": N_("{leavers} clients each read {leave_after} tokens of {long}, then leave"),
    "cancelled": N_("the model cancels each of their sequences within {settle:g} s"),
    "nobody": N_("at most {nobody} tokens a stream are generated for nobody"),
}
WHAT = {key: text.format(**FIGURES) for key, text in CRITERIA.items()}  # each criterion in English
HINTS = Hints("lab12_streaming_gateway.ipynb", LADDER)
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


def what(key: str) -> str:
    """What a criterion requires, in the learner's language, with its figures (`WHAT` in English)."""
    return _f(CRITERIA[key], **FIGURES)


@dataclass
class Streamed:  # step 1: the model alone, then through the gateway
    model: Run
    gateway: Run | None  # None when no answer came as text/event-stream
    probe: list[Stream]
    opened: int
    logs: str
    not_a_stream: str = ""  # what the gateway's answers declared instead


def measure_step1(app: str, app_dir: AppDir = None) -> Streamed:
    """8 streams to the model itself; 2 through the gateway read token by token (its first requests: lazy
    imports, new connections); then 16 through it, 8 at a time, with the model's connections counted."""
    options: dict[str, Any] = {"stream": True, "body": chat_body(TOKENS), "timeout": 10, "deadline": 30}
    with model(AT_ONCE) as llm:
        with served(title(1), app, app_dir, env={"MODEL_URL": llm.url}, step=1) as gateway:
            alone = load_sync(llm.chat_url, AT_ONCE, AT_ONCE, label="the model itself", **options)
            probe = with_streams(gateway.url + CHAT_PATH, [chat_body(TOKENS)] * 2)  # also warms the gateway up
            llm.reset()
            try:
                through = load_sync(gateway.url + CHAT_PATH, STREAMS, AT_ONCE, label="through your gateway", **options)
            except ValueError as exc:  # every answer declared another type than text/event-stream
                kind = str(exc).partition(" answered ")[2].partition(", not text/event-stream")[0]
                return Streamed(alone, None, probe, 0, gateway.logs(), not_a_stream=kind or str(exc))
            opened = llm.stats()["connections_opened"]
    return Streamed(alone, through, probe, opened, gateway.logs())


def _seen(probe: list[Stream]) -> str:
    s = next((p for p in probe if not p.whole(TOKENS)), probe[0])
    if s.status != 200 or s.error:
        return _f("status {status}", status=s.status) + (f", {s.error}" if s.error else "")
    text = "".join(s.tokens)
    seen = _f("{n} token events, '{text}'", n=len(s.tokens), text=text[:40] + ("..." if len(text) > 40 else ""))
    seen += "" if s.done else _(", no [DONE]")
    return seen + (_f("; not events of the API: {odd}", odd=s.odd[:2]) if s.odd else "")


def judge_step1(m: Streamed) -> list[Criterion]:
    """Every stream answered; TTFT p50 near the model's own; tokens whole and in order; one pool."""
    if m.gateway is None:
        return [
            Criterion(
                False,
                what("event stream"),
                _f("answered {kind}", kind=m.not_a_stream),
                look("not a stream", kind=m.not_a_stream),
            )
        ]
    alone, through = m.model.ttft_p50_s, m.gateway.ttft_p50_s
    limit = alone + max(MARGIN_S, MARGIN_SHARE * alone)
    itl = m.gateway.itl_p50_s
    buffered = not itl >= 0.25 * TOKEN_S  # tokens bunched (or none): sent in one piece
    figures = {"ttft": ms(through), "whole": ms(m.model.p50_s), "extra": ms(through - alone)}
    ttft = _f("TTFT p50 {through} through your gateway, {alone} from the model itself (limit {limit})", through=ms(through), alone=ms(alone), limit=ms(limit))  # fmt: skip
    whole = bool(m.probe) and all(p.whole(TOKENS) for p in m.probe)
    order = _f("{n} streams read token by token: {seen}", n=len(m.probe), seen=_("whole, in order") if whole else _seen(m.probe))  # fmt: skip
    pool = {"opened": m.opened, "n": STREAMS, "at_once": AT_ONCE}
    where = look("per request" if m.opened >= STREAMS else "connections", **pool)
    slow = look("buffered" if buffered else "slow first token", **figures)
    slow = slow if whole else look("unreadable", **figures)  # events that do not parse are read only at the end
    answered = m.gateway.ok > 0
    return [
        all_answered(m.gateway, _f("{streams} streams, {at_once} at a time, each answered", streams=STREAMS, at_once=AT_ONCE), logs=m.logs),
        Criterion(answered and through <= limit, what("ttft"), ttft, slow if answered else look("none")),
        Criterion(whole, what("order"), order, look("order", seen=order)),
        Criterion(answered and m.opened <= AT_ONCE, what("pool"), _f("{opened} connections opened for them", opened=m.opened), where if answered else look("none")),
    ]  # fmt: skip


@dataclass
class Leaving:  # step 2: streams whose clients leave, and the model's counts afterwards
    run: Run
    stats: dict[str, Any]
    waited: float
    logs: str


def measure_step2(app: str, app_dir: AppDir = None) -> Leaving:
    """6 streams of 60 tokens, each client leaving after 3; the model's stats once it has settled (0.5 s at most)."""
    with model(8) as llm:
        with served(title(2), app, app_dir, env={"MODEL_URL": llm.url}, step=2) as gateway:
            options = {"stream": True, "body": chat_body(LONG), "leave_after": LEAVE_AFTER, "timeout": 10}
            run = load_sync(gateway.url + CHAT_PATH, LEAVERS, LEAVERS, label="clients that leave", **options)
            stats, waited = settle(llm, SETTLE_S)
    return Leaving(run, stats, waited, gateway.logs())


def judge_step2(m: Leaving) -> list[Criterion]:
    """Every client left after its 3 tokens; the model cancelled each sequence, and generated little for nobody."""
    run, s = m.run, m.stats
    nobody = s["tokens_generated"] - run.tokens
    left = _f("{left} of {n} left after {after} tokens", left=run.left, n=len(run.records), after=LEAVE_AFTER)
    left += _f("; errors {kinds}", kinds=run.error_kinds) if run.errors else ""
    stopped = run.left > 0 and s["cancelled"] >= run.left and s["running"] == 0
    counts = _f("cancelled {cancelled}, finished {finished}, still running {running} after {waited:.2f} s", cancelled=s["cancelled"], finished=s["finished"], running=s["running"], waited=m.waited)  # fmt: skip
    whole_s = PREFILL_S + (LONG - 1) * TOKEN_S
    figures = {"cancelled": s["cancelled"], "left": run.left, "running": s["running"], "waited": f"{m.waited:.1f} s"}
    key = "none" if not run.left else "buffered 2" if run.ttft_p50_s >= 0.8 * whole_s else "never closed"
    never = look(key, ttft=ms(run.ttft_p50_s), **figures)
    each = nobody / max(run.left, 1)
    spent = _f("{generated} generated, {read} read: {nobody} for nobody (the model's own count after its client left: {after})", generated=s["tokens_generated"], read=run.tokens, nobody=nobody, after=s["tokens_after_client_left"])  # fmt: skip
    return [
        Criterion(run.left == LEAVERS, what("left"), left if run.left == LEAVERS else logged(left, m.logs), _("the streams failed: the server's output names the exception.")),
        Criterion(stopped, what("cancelled"), counts, never),
        Criterion(run.left > 0 and each <= NOBODY_EACH, what("nobody"), spent, look("nobody", nobody=nobody, each=each) if run.left else look("none")),
    ]  # fmt: skip


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab12_gateway:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab12_gateway:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab12_capacity:app")
step4 = make_step(4, lambda: title(4), measure_step4, judge_step4, "lab12_deadline:app")
