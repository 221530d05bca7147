"""Checks for lab 01, from WSGI to ASGI.

from asgilab.checks import lab01 as check
check.step1("lab01_hello_app:app")   # a raw ASGI callable reads POST /words's body, in one piece and in parts
check.step2("lab01_wait_app:app")    # /wait?ms= waits without blocking: 50 requests overlap
check.step3("lab01_ws_app:app")      # /ws/echo echoes WebSocket messages
check.step4("lab01_stream_app:app")  # a raw ASGI app streams /count?n= line by line (transfer)
check.hint(2), check.hint(2, level=2), check.solution(2)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from asgilab.checks import AppDir, Criterion, logged, make_step, ms, served
from asgilab.checks.clients import Echo, Reply, Streamed, stream_lines, ws_echo, ws_many
from asgilab.checks.criteria import all_answered, served_together, waits_at_least
from asgilab.checks.lab01_text import GAP_S, HINTS, PART_GAP_S, TITLES, WAIT_MS, WAIT_REQUESTS, look, title
from asgilab.checks.uploads import body_in_parts, counts, miscount, post_parts
from asgilab.i18n import _, _f
from asgilab.load import load_sync
from asgilab.results import Run

__all__ = ["TITLES", "hint", "solution", "step1", "step2", "step3", "step4"]

WS_MESSAGES, WS_CLIENTS = ["hello", "ASGI", "你好 👋"], 20
hint, solution = HINTS.hint, HINTS.solution  # check.hint(1, level=2), check.solution(1)


@dataclass
class Counted:  # step 1: POST /words with a body in one piece, then one in parts (each with the reply)
    one: tuple[list[bytes], Reply]
    parts: tuple[list[bytes], Reply]
    logs: str


def measure_step1(app: str, app_dir: AppDir = None) -> Counted:
    """POST /words twice: a body in one piece, then one in 3 to 5 parts cut inside words."""
    one, parts = [b"".join(body_in_parts(2))], body_in_parts(random.randint(3, 5))
    with served(title(1), app, app_dir, step=1) as server:
        sent = [(body, post_parts(server.url + "/words", body, PART_GAP_S)) for body in (one, parts)]
    return Counted(sent[0], sent[1], server.logs())


def _counted(sent: tuple[list[bytes], Reply]) -> tuple[bool, str, str]:
    """Whether the reply counted the body, what it said, and the advice on the shape of a wrong count."""
    (parts, reply), n = sent, len(sent[0])
    got, wrong = reply.json(), miscount(parts, reply.json())
    back = _f("got {got}", got=got) if isinstance(got, dict) else _("no JSON back")
    said = _f("sent {counts} in {n} part(s); {back}", counts=counts(b"".join(parts)), n=n, back=back)
    where = wrong if wrong in ("first part", "per part") else "parts" if n > 1 else "one"
    return not wrong, said, look(where, n=n, gap=PART_GAP_S, extra=n - 1)


def judge_step1(m: Counted) -> list[Criterion]:
    """Status 200 and JSON; both bodies counted (bytes and words)."""
    r = m.one[1]
    status = _f("status {status}", status=r.status) if r.status else _f("no complete response: {error}", error=r.error)
    is_json = r.content_type.split(";")[0].strip().lower() == "application/json"
    (one_ok, one, one_look), (parts_ok, parts, parts_look) = _counted(m.one), _counted(m.parts)
    return [
        Criterion(r.status == 200, _("POST /words answers status 200"), logged(status, m.logs), look("status")),
        Criterion(is_json, _("its content-type is application/json"), f"content-type: {r.content_type}", look("type")),
        Criterion(one_ok, _("a body sent in one piece is counted: its bytes and words"), one, one_look),
        Criterion(parts_ok, _("a body sent in parts, cut inside words, is counted whole"), parts, parts_look),
    ]


@dataclass
class Waits:  # Step 2: 50 requests to /wait?ms=100, all at once.
    run: Run
    logs: str


def measure_step2(app: str, app_dir: AppDir = None) -> Waits:
    """50 concurrent requests to /wait?ms=100."""
    with served(title(2), app, app_dir, step=2) as server:
        url = server.url + f"/wait?ms={WAIT_MS}"
        run = load_sync(url, WAIT_REQUESTS, WAIT_REQUESTS, timeout=15, deadline=30, label="/wait")
    return Waits(run, server.logs())


def judge_step2(m: Waits) -> list[Criterion]:
    """Every request answered, each waits 100 ms, and at least 10 are served at once."""
    return [
        all_answered(m.run, _f("all {n} requests answered with status 200", n=WAIT_REQUESTS), m.logs, look("route")),
        waits_at_least(m.run, WAIT_MS / 1000, look("wait")),
        served_together(m.run, WAIT_MS / 1000, WAIT_REQUESTS / 5, look("overlap")),
    ]


@dataclass
class Echoes:  # Step 3: three messages on one WebSocket; the replies on 20 opened at once.
    echo: Echo
    many: tuple[list[str], str]  # the replies, and an error ("" if none)
    logs: str


def measure_step3(app: str, app_dir: AppDir = None) -> Echoes:
    """Three messages on one WebSocket, then 20 WebSockets at once."""
    with served(title(3), app, app_dir, step=3) as server:
        url = server.url.replace("http://", "ws://") + "/ws/echo"
        echo = ws_echo(url, WS_MESSAGES)
        many = ws_many(url, WS_CLIENTS) if not echo.refused else ([], _("not tried"))
    return Echoes(echo, many, server.logs())


def judge_step3(m: Echoes) -> list[Criterion]:
    """The handshake is accepted; messages come back in order; 20 connections each get theirs."""
    e = m.echo
    accepted = logged(_f("refused: {why}", why=e.refused), m.logs) if e.refused else _("accepted (HTTP 101)")
    then = logged(_f(" then {error}", error=e.error), m.logs) if e.error else ""
    echoed = _f("sent {sent}, received {received}", sent=e.sent, received=e.received) + then
    got = sum(reply == f"client {i}" for i, reply in enumerate(m.many[0]))
    many = _f("{got}/{n} echoed", got=got, n=WS_CLIENTS) + (f" ({m.many[1]})" if m.many[1] else "")
    in_order = _f("{n} messages echoed in order", n=len(WS_MESSAGES))
    at_once = _f("{n} connections at once each echoed", n=WS_CLIENTS)
    return [
        Criterion(not e.refused, _("the WebSocket handshake to /ws/echo is accepted"), accepted, look("refused")),
        Criterion(e.received == WS_MESSAGES, in_order, echoed, look("echo")),
        Criterion(got == WS_CLIENTS, at_once, many, look("many")),
    ]


@dataclass
class Counting:  # Step 4: GET /count?n=N (N from 4 to 6, so that n is read), each line timed as it arrived.
    n: int
    stream: Streamed
    logs: str


def measure_step4(app: str, app_dir: AppDir = None) -> Counting:
    """One /count?n=N, read line by line."""
    n = random.randint(4, 6)
    with served(title(4), app, app_dir, step=4) as server:
        return Counting(n, stream_lines(server.url + f"/count?n={n}"), server.logs())


def judge_step4(m: Counting) -> list[Criterion]:
    """The lines 1..n, 100 ms apart, each sent as it is ready."""
    s, want, slowest = m.stream, [str(i) for i in range(1, m.n + 1)], 0.9 * (m.n - 1) * GAP_S
    first, last = (s.arrivals[0], s.arrivals[-1]) if len(s.arrivals) == m.n else (float("nan"),) * 2
    timing = _f(
        "{n} lines; the first after {first}, the last after {last}", n=len(s.arrivals), first=ms(first), last=ms(last)
    )
    logs = "" if s.status == 200 and s.lines == want else m.logs  # what the server logged, when it went wrong
    status = _f("status {status}", status=s.status) if s.status else s.error
    answer = logged(_f("{status}, lines {lines}", status=status, lines=s.lines[:8]), logs)
    lines_ok = _f("GET /count?n={n} answers 200 with the lines 1 to {n}", n=m.n)
    where = (look("gap"), look("ready")) if len(s.arrivals) == m.n else (look("untimed"),) * 2
    gap = _f("about {gap} between lines (at least {slowest} in all)", gap=ms(GAP_S), slowest=ms(slowest))
    return [
        Criterion(s.status == 200 and s.lines == want, lines_ok, answer, look("lines")),
        Criterion(last >= slowest, gap, timing, where[0]),
        Criterion(
            first < 0.5 * last, _("lines sent when ready: the first arrives in the first half"), timing, where[1]
        ),
    ]


step1 = make_step(1, lambda: title(1), measure_step1, judge_step1, "lab01_hello_app:app")
step2 = make_step(2, lambda: title(2), measure_step2, judge_step2, "lab01_wait_app:app")
step3 = make_step(3, lambda: title(3), measure_step3, judge_step3, "lab01_ws_app:app")
step4 = make_step(4, lambda: title(4), measure_step4, judge_step4, "lab01_stream_app:app")
