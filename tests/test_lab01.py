"""Lab 01: every criterion on hand-built measurements (milliseconds), then the live contract: each
step fails on the generated starter, with teaching feedback, and passes on the solution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asgilab.checks import Criterion, lab01
from asgilab.checks.clients import Echo, Reply, Streamed
from asgilab.checks.lab01 import Counted, Counting, Echoes, Waits
from asgilab.checks.testing import made_run
from asgilab.checks.uploads import body_in_parts, counts, miscount
from conftest import check_fails, check_passes, lab_app_dirs

NOTEBOOK = "lab01_wsgi_to_asgi.ipynb"
STEPS = {1: "lab01_hello_app:app", 2: "lab01_wait_app:app", 3: "lab01_ws_app:app", 4: "lab01_stream_app:app"}
LOGS = "INFO:     Started server process\nNotImplementedError: your code here"
FIXES = ("asyncio.sleep", "more_body", "accept()", "json.dumps", "b'content-type'", "parse_qs", "while True")


def failed(criteria: list[Criterion]) -> list[str]:
    for c in criteria:  # failure advice names the symptom and where to look, never the fix
        assert c.passed or not any(fix in c.advice for fix in FIXES), c.advice
    return [c.what for c in criteria if not c.passed]


# -- judging, on hand-built measurements --------------------------------------------------
JSON = "application/json"


def posted(parts: list[bytes], got: object, status: int = 200, content_type: str = JSON) -> tuple[list[bytes], Reply]:
    return parts, Reply(status, content_type, json.dumps(got))


def counted(parts: list[bytes], one_got: object = None, parts_got: object = None, **reply: object) -> Counted:
    """Step 1's measurement: ``one_got`` and ``parts_got`` default to the right counts."""
    one = [b"".join(parts)]
    right = counts(one[0])
    return Counted(
        posted(one, right if one_got is None else one_got, **reply),  # type: ignore[arg-type]
        posted(parts, right if parts_got is None else parts_got),
        LOGS if reply else "",
    )


PARTS = [b"ASGI sco", b"pe rece", b"ive send\n"]  # 4 words in 3 parts, each cut inside a word


def test_body_in_parts_cuts_inside_words() -> None:
    for n in (2, 3, 5):
        parts = body_in_parts(n)
        assert len(parts) == n and all(part for part in parts)
        assert all(a[-1:].isalpha() and b[:1].isalpha() for a, b in zip(parts, parts[1:], strict=False))
    assert miscount(PARTS, {"bytes": 24, "words": 4}) == ""
    assert miscount(PARTS, counts(PARTS[0])) == "first part"
    assert miscount(PARTS, {"bytes": 24, "words": 6}) == "per part"
    assert miscount(PARTS, {"bytes": 23, "words": 4}) == "wrong" and miscount(PARTS, None) == "wrong"


def test_judge_step1_passes_the_right_count() -> None:
    criteria = lab01.judge_step1(counted(PARTS))
    assert failed(criteria) == [] and "sent {'bytes': 24, 'words': 4} in 3 part(s)" in criteria[3].measured


def test_judge_step1_an_app_that_reads_one_message() -> None:
    criteria = lab01.judge_step1(counted(PARTS, parts_got=counts(PARTS[0])))
    assert failed(criteria) == ["a body sent in parts, cut inside words, is counted whole"]
    assert "counted the first part only" in criteria[3].advice and "3 `http.request` messages" in criteria[3].advice


def test_judge_step1_an_app_that_counts_words_part_by_part() -> None:
    criteria = lab01.judge_step1(counted(PARTS, parts_got={"bytes": 24, "words": 6}))
    assert failed(criteria) == ["a body sent in parts, cut inside words, is counted whole"]
    assert "the bytes are right, the words are not: 2 more" in criteria[3].advice


@pytest.mark.parametrize(
    ("reply", "one_got", "wrong", "shown"),
    [
        ({"status": 500, "content_type": "text/plain"}, "Internal Server Error", "status 200", "NotImplementedError"),
        ({"content_type": "text/plain"}, None, "content-type", "content-type: text/plain"),
        ({}, {"bytes": 24, "words": 3}, "one piece", "got {'bytes': 24, 'words': 3}"),
    ],
)
def test_judge_step1_each_criterion(reply: dict[str, object], one_got: object, wrong: str, shown: str) -> None:
    criteria = lab01.judge_step1(counted(PARTS, one_got, **reply))
    assert len(fails := failed(criteria)) >= 1 and wrong in fails[0]
    assert shown in "\n".join(c.line() for c in criteria)


def test_judge_step1_without_a_response() -> None:
    gone = Counted((PARTS, Reply(None, error="RemoteProtocolError: no response")), (PARTS, Reply(None)), LOGS)
    criteria = lab01.judge_step1(gone)
    assert len(failed(criteria)) == 4 and "no complete response" in criteria[0].measured
    assert "no JSON back" in criteria[2].measured


def test_judge_step2() -> None:
    assert failed(lab01.judge_step2(Waits(made_run(50, wall_s=0.15), ""))) == []
    serial = lab01.judge_step2(Waits(made_run(50, wall_s=5.1), ""))
    assert failed(serial) == ["50 concurrent requests are served together (at least 10 at once on average)"]
    assert "about 1.0 at once" in serial[2].measured and "time.sleep" in serial[2].advice
    no_wait = lab01.judge_step2(Waits(made_run(50, wall_s=0.01, latency_s=0.002), ""))
    assert "median latency 2 ms" in no_wait[1].measured
    # 5 s of nominal waiting in 0.01 s would be 500 at once, of 50 sent: no impossible figure is shown
    assert failed(no_wait) == ["each request really waits 100 ms", serial[2].what]
    assert "less than one wait" in no_wait[2].measured and "500" not in no_wait[2].measured
    broken = lab01.judge_step2(Waits(made_run(0, {"status 422": 50}, wall_s=0.1), LOGS))
    assert len(failed(broken)) == 3 and "status 422: 50" in broken[0].measured and LOGS in broken[0].measured


ECHOED = Echo("", lab01.WS_MESSAGES, list(lab01.WS_MESSAGES))
MANY = ([f"client {i}" for i in range(20)], "")


def test_judge_step3() -> None:
    assert failed(lab01.judge_step3(Echoes(ECHOED, MANY, ""))) == []
    refused = lab01.judge_step3(Echoes(Echo("HTTP 500", lab01.WS_MESSAGES), ([], "not tried"), LOGS))
    assert (
        len(failed(refused)) == 3 and "refused: HTTP 500; the server logged: NotImplementedError" in refused[0].measured
    )
    once = Echo("", lab01.WS_MESSAGES, ["hello"], "ConnectionClosedOK: received 1000")
    answered_once = lab01.judge_step3(Echoes(once, MANY, ""))
    assert failed(answered_once) == ["3 messages echoed in order"] and "ConnectionClosedOK" in answered_once[1].measured
    few = lab01.judge_step3(Echoes(ECHOED, (MANY[0][:5], "5 opened, 5 echoed, then TimeoutError"), ""))
    assert failed(few) == ["20 connections at once each echoed"] and "5/20 echoed (5 opened" in few[2].measured


def streamed(n: int, arrivals: list[float], status: int = 200) -> Counting:
    return Counting(
        n, Streamed(status, "text/plain", lines=[str(i) for i in range(1, len(arrivals) + 1)], arrivals=arrivals), ""
    )


def test_judge_step4() -> None:
    assert failed(lab01.judge_step4(streamed(5, [0.005, 0.105, 0.205, 0.305, 0.405]))) == []
    at_the_end = lab01.judge_step4(streamed(5, [0.401, 0.402, 0.402, 0.403, 0.403]))
    assert failed(at_the_end) == ["lines sent when ready: the first arrives in the first half"]
    assert "all together at the end" in at_the_end[2].advice
    assert "the first after 401 ms" in at_the_end[2].measured
    no_pause = lab01.judge_step4(streamed(4, [0.001, 0.001, 0.002, 0.002]))
    assert failed(no_pause)[0].startswith("about 100 ms between lines")
    wrong_n = lab01.judge_step4(streamed(6, [0.0, 0.1, 0.2, 0.3, 0.4]))  # n=6 asked, 5 lines sent
    assert len(failed(wrong_n)) == 3 and "n/a" in wrong_n[1].measured  # no NaN in the feedback
    assert "timing says nothing yet" in wrong_n[1].advice and "timing says nothing yet" in wrong_n[2].advice
    broken = lab01.judge_step4(Counting(5, Streamed(500, "text/plain", "Internal Server Error"), LOGS))
    assert "status 500, lines []; the server logged: NotImplementedError" in broken[0].measured


def test_hints_climb_a_ladder_and_solutions_come_from_the_solution_notebook() -> None:
    for step in STEPS:
        assert len(lab01.hint(step)) > 60 and f"check.hint({step}, level=2)" in lab01.hint(step)
    assert "asyncio.sleep" in lab01.hint(2, level=2) and "asyncio.sleep" not in lab01.hint(2)
    assert "more_body" in lab01.hint(4, level=2) and "check.solution(4)" in lab01.hint(4, level=3)
    assert "more_body" in lab01.hint(1, level=2) and "more_body" not in lab01.hint(1)
    assert "receive()" in lab01.solution(1) and "lab01_stream_app" not in lab01.solution(1)
    shown = lab01.solution(4)
    assert "lab01_stream_app.py" in shown and "more_body" in shown and "lab01_hello_app" not in shown
    with pytest.raises(ValueError):
        lab01.hint(5)


# -- live: the contract on the generated starter and the solution ----------------------------
starter, solution = lab_app_dirs(
    NOTEBOOK, {"lab01_hello_app.py", "lab01_wait_app.py", "lab01_ws_app.py", "lab01_stream_app.py"}
)

STARTER_ADVICE = {
    1: ["[FAIL] POST /words answers status 200", "NotImplementedError"],
    2: ["[FAIL] 50 concurrent requests are served together", "time.sleep", "[PASS] each request really waits"],
    3: ["[FAIL] the WebSocket handshake", "HTTP 500"],
    4: ["[FAIL] GET /count?n=", "NotImplementedError"],
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_step_fails_on_the_starter_with_feedback(step: int, starter: Path) -> None:
    text = check_fails(getattr(lab01, f"step{step}"), STEPS[step], starter, *STARTER_ADVICE[step])
    assert text.splitlines()[-1].startswith(f"Stuck? check.hint({step})")


@pytest.mark.parametrize("step", sorted(STEPS))
def test_step_passes_on_the_solution(step: int, solution: Path) -> None:
    print(check_passes(getattr(lab01, f"step{step}"), STEPS[step], solution))


ALL_AT_THE_END = """
import asyncio
from urllib.parse import parse_qs


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    n = int(parse_qs(scope["query_string"].decode())["n"][0])
    body = b""
    for i in range(1, n + 1):  # waits between lines, but sends them all at the end
        body += f"{i}\\n".encode()
        await asyncio.sleep(0.1)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""


def test_step4_fails_when_the_lines_come_all_at_once(tmp_path: Path) -> None:
    (tmp_path / "lab01_stream_app.py").write_text(ALL_AT_THE_END)
    check_fails(lab01.step4, STEPS[4], tmp_path, "[FAIL] lines sent when ready", "[PASS] about 100 ms")


WORD_COUNT_APP = """
import json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
{read}
    answer = json.dumps({"bytes": size, "words": words}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer})
"""
# Right, unlike the solution: the parts kept in a list and joined, the keys read with [].
JOINED = """    parts, more = [], True
    while more:
        message = await receive()
        parts.append(message["body"])
        more = message["more_body"]
    size, words = sum(map(len, parts)), len(b"".join(parts).split())"""
# Wrong, as learners write it: one receive() (lesson 01 awaited it once per lifespan message).
ONE_RECEIVE = """    body = (await receive())["body"]
    size, words = len(body), len(body.split())"""
# Wrong: every part counted as it comes, so a word cut between two parts counts twice.
PART_BY_PART = """    size = words = 0
    while True:
        message = await receive()
        size, words = size + len(message["body"]), words + len(message["body"].split())
        if not message["more_body"]:
            break"""


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (JOINED, None),
        (ONE_RECEIVE, ["[PASS] a body sent in one piece", "[FAIL] a body sent in parts", "the first part only"]),
        (PART_BY_PART, ["[PASS] a body sent in one piece", "[FAIL] a body sent in parts", "the bytes are right"]),
    ],
    ids=["joined parts pass", "one receive", "words counted part by part"],
)
def test_step1_judges_learner_style_word_counts(read: str, expected: list[str] | None, tmp_path: Path) -> None:
    (tmp_path / "lab01_words_app.py").write_text(WORD_COUNT_APP.replace("{read}", read))
    if expected is None:
        print(check_passes(lab01.step1, "lab01_words_app:app", tmp_path))
    else:
        check_fails(lab01.step1, "lab01_words_app:app", tmp_path, *expected)


def test_a_server_that_cannot_start_gives_feedback(tmp_path: Path) -> None:
    (tmp_path / "lab01_broken_app.py").write_text("import no_such_module_for_lab01\n")
    check_fails(
        lab01.step1,
        "lab01_broken_app:app",
        tmp_path,
        "[FAIL] the app 'lab01_broken_app:app' starts",
        "no_such_module_for_lab01",
    )
