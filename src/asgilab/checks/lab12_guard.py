"""Lab 12, steps 3 and 4: the gateway's guards, capacity and a first-token deadline (`asgilab.checks.lab12`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgilab.checks import AppDir, Criterion, logged, ms, served
from asgilab.checks.lab12_reader import SETTLE_S, Stream, model, settle, with_streams
from asgilab.checks.lab12_text import look, title
from asgilab.i18n import N_, _, _f
from asgilab.llm import CHAT_PATH
from asgilab.streams import chat_body

__all__ = ["Capacity", "Deadline", "measure_step3", "judge_step3", "measure_step4", "judge_step4"]

SLOTS, BURST, BURST_TOKENS, GAP_S, REFUSE_S = 4, 10, 20, 0.025, 0.15  # step 3: 10 streams 25 ms apart, 4 model slots
FIRST_TOKEN_S, ANSWER_S, FIRST_TOKENS, LATE_TOKENS = 0.3, 0.55, 30, 5  # step 4: 504 within 300 ms (550 ms accepted)
REFUSED = (503, 429)
FIGURES: dict[str, object] = {  # the figures the criteria name
    "slots": SLOTS,
    "burst": BURST,
    "others": BURST - SLOTS,
    "refuse": ms(REFUSE_S),
    "tokens": FIRST_TOKENS,
    "answer": ms(ANSWER_S),
}
CRITERIA = {  # what each criterion requires, its figures as fields of FIGURES
    "queue": N_("the model never queues: at most {slots} sequences running, none waiting"),
    "served": N_("at least {slots} of the {burst} streams are served in full"),
    "refused": N_("the other {others} are refused with 503 (or 429)"),
    "retry": N_("each refusal says when to come back (a Retry-After header)"),
    "fast": N_("refusals are fast: the slowest within {refuse}"),
    "back": N_(
        "a stream gives its place back when it ends and when its client leaves: {slots} new streams let in after each"
    ),
    "first": N_("a stream whose first token comes in time is served in full ({tokens} tokens, about 0.7 s)"),
    "504": N_("the 2 streams with no first token within 300 ms are answered 504 Gateway Timeout"),
    "in time": N_("... within 300 ms of the request (accepted up to {answer})"),
    "stopped": N_("the model cancels their 2 sequences (it started only the first)"),
}
WHAT = {key: text.format(**FIGURES) for key, text in CRITERIA.items()}  # each criterion in English


def what(key: str) -> str:
    """What a criterion requires, in the learner's language, with its figures (`WHAT` in English)."""
    return _f(CRITERIA[key], **FIGURES)


@dataclass
class Capacity:  # step 3: a burst of 10, then 4 streams whose clients leave, then 4 more
    burst: list[Stream]
    stats: dict[str, Any]  # the model's, after the burst
    leaving: list[Stream]
    later: list[Stream]
    logs: str


def measure_step3(app: str, app_dir: AppDir = None) -> Capacity:
    """10 streams of 20 tokens (about 0.5 s each), 25 ms apart, to a model of 4 slots; then 4 that leave after 2 tokens; then 4 of 5 tokens."""
    with model(SLOTS) as llm:
        with served(title(3), app, app_dir, env={"MODEL_URL": llm.url}, step=3) as gateway:
            url = gateway.url + CHAT_PATH
            burst = with_streams(url, [chat_body(BURST_TOKENS)] * BURST, gap_s=GAP_S)
            stats = llm.stats()
            leaving = with_streams(url, [chat_body(30)] * SLOTS, leave_after=2)
            settle(llm, SETTLE_S)
            later = with_streams(url, [chat_body(5)] * SLOTS)
    return Capacity(burst, stats, leaving, later, gateway.logs())


def _refusals(m: Capacity, admitted: int) -> list[Criterion]:
    refused = [s for s in m.burst if s.status in REFUSED]
    others = sorted(f"{s.status or s.error}" for s in m.burst if s.status not in (*REFUSED, 200))
    advice = look("other" if others else "none refused", others=others, slots=SLOTS)
    missing = sum(s.retry_after is None for s in refused)
    slowest = max((s.headers_s for s in refused), default=float("nan"))
    seen = _f("{n} refused", n=len(refused)) + (_f("; the others answered {others}", others=others) if others else "")
    refused_ok = bool(refused) and not others and len(refused) == BURST - admitted
    retry = look("retry-after", missing=missing, refused=len(refused)) if refused else look("no refusal")
    fast = look("slow refusal", slowest=ms(slowest)) if refused else look("no refusal")
    with_retry = _f("{n} of {refused} with Retry-After", n=len(refused) - missing, refused=len(refused)) if refused else _("none refused")  # fmt: skip
    return [
        Criterion(refused_ok, what("refused"), seen if refused_ok else logged(seen, m.logs), advice),
        Criterion(bool(refused) and not missing, what("retry"), with_retry, retry),
        Criterion(bool(refused) and slowest <= REFUSE_S, what("fast"), _f("slowest refusal {slowest}", slowest=ms(slowest)) if refused else _("none refused"), fast),
    ]  # fmt: skip


def _queued(m: Capacity, admitted: int) -> str:
    return look("queued", waiting=m.stats["max_waiting"], slots=SLOTS, admitted=admitted)


def _back(m: Capacity) -> Criterion:
    let_in = sum(s.status == 200 and s.left for s in m.leaving)
    after = sum(s.whole(5) for s in m.later)
    ended = _("the streams ended") if let_in < SLOTS else _("their clients left")
    advice = look("kept", what=ended, admitted=let_in if let_in < SLOTS else after)
    seen = _f("after the burst ended: {let_in} of {slots} let in; after their clients left: {after} of {slots} served", let_in=let_in, slots=SLOTS, after=after)  # fmt: skip
    return Criterion(let_in == SLOTS and after == SLOTS, what("back"), seen, advice)


def judge_step3(m: Capacity) -> list[Criterion]:
    """The model never queues; 4 served in full; 6 refused with 503 and Retry-After, fast; places come back."""
    admitted = sum(s.status == 200 for s in m.burst)
    served_n = sum(s.whole(BURST_TOKENS) for s in m.burst)
    running, waiting = m.stats["max_running"], m.stats["max_waiting"]
    ran = f"max_running {running}, max_waiting {waiting}"
    where = _queued(m, admitted) if running else look("ran nothing")
    queue = Criterion(0 < running <= SLOTS and waiting == 0, what("queue"), ran, where)
    strict = look("too strict", served=served_n, slots=SLOTS)
    served = _f("{n} served in full", n=served_n)
    served_ok = Criterion(
        served_n >= SLOTS, what("served"), served if served_n >= SLOTS else logged(served, m.logs), strict
    )
    return [queue, served_ok, *_refusals(m, admitted), _back(m)]  # fmt: skip


@dataclass
class Deadline:  # step 4: one stream that starts in time, two that queue in the model behind it
    first: Stream
    late: list[Stream]
    stats: dict[str, Any]
    waited: float
    logs: str


def measure_step4(app: str, app_dir: AppDir = None) -> Deadline:
    """A model that runs one sequence at a time: a stream of 30 tokens; once its first token came, 2 more (queued)."""
    with model(1, max_queue=10) as llm:
        with served(title(4), app, app_dir, env={"MODEL_URL": llm.url}, step=4) as gateway:
            bodies = [chat_body(FIRST_TOKENS), chat_body(LATE_TOKENS), chat_body(LATE_TOKENS)]
            first, *late = with_streams(gateway.url + CHAT_PATH, bodies, after_first_token=1)
            stats, waited = settle(llm, 1.5)
    return Deadline(first, late, stats, waited, gateway.logs())


def _first(f: Stream, logs: str) -> Criterion:
    seen = _f("status {status}, {got} of {asked} tokens, first at {ttft}, ended at {end}", status=f.status, got=len(f.tokens), asked=FIRST_TOKENS, ttft=ms(f.ttft), end=ms(f.end_s))  # fmt: skip
    if f.status == 200 and f.tokens:
        advice = look("cut", ttft=ms(f.ttft), got=len(f.tokens), asked=FIRST_TOKENS, end=ms(f.end_s))
    elif f.status in (503, 504):
        advice = look("too eager", status=f.status)
    else:
        advice = _("the stream failed: the server's output names the exception.")
    return Criterion(
        f.whole(FIRST_TOKENS),
        what("first"),
        seen if f.whole(FIRST_TOKENS) else logged(seen + (f", {f.error}" if f.error else ""), logs),
        advice,
    )


def judge_step4(m: Deadline) -> list[Criterion]:
    """The first stream in full; the 2 queued ones 504 within 550 ms; the model cancels them."""
    statuses = [s.status or s.error for s in m.late]
    all_504 = bool(m.late) and all(s.status == 504 for s in m.late)
    slowest = max((s.headers_s for s in m.late), default=float("nan"))
    early = next((s for s in m.late if s.status == 200), None)
    if early is not None:
        key = "headers early" if early.headers_s < FIRST_TOKEN_S else "no deadline"
        came = _("none came at all") if early.ttft != early.ttft else _f("the first came at {ttft}", ttft=ms(early.ttft))  # fmt: skip
        advice = look(key, status=early.status, headers=ms(early.headers_s), ttft=came)
    else:
        advice = look("504", statuses=statuses)
    s = m.stats
    kept = max(s["started"] - 1, 0)
    stopped = s["started"] == 1 and s["cancelled"] >= len(m.late) and s["running"] == s["waiting"] == 0
    counts = _f("started {started}, cancelled {cancelled}, {tokens} tokens generated", started=s["started"], cancelled=s["cancelled"], tokens=s["tokens_generated"])  # fmt: skip
    model_kept = look("model kept", started=kept, late=len(m.late), tokens=max(s["tokens_generated"] - FIRST_TOKENS, 0))  # fmt: skip
    late = look("late 504", slowest=ms(slowest)) if all_504 else look("no 504")
    timed = _f("the slowest after {slowest}", slowest=ms(slowest)) if all_504 else _("not all answered 504")
    return [
        _first(m.first, m.logs),
        Criterion(all_504, what("504"), _f("answered {statuses}", statuses=statuses), advice),
        Criterion(all_504 and slowest <= ANSWER_S, what("in time"), timed, late),
        Criterion(stopped, what("stopped"), counts, look("never reached") if not s["started"] else model_kept if all_504 else look("not cut")),
    ]  # fmt: skip
