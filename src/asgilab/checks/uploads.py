"""A request body sent to a served app in one piece or in parts, as a client uploading it would:
`body_in_parts` cuts a body of random words inside words, `post_parts` sends it (lab 01, step 1)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from asgilab.checks.clients import TIMEOUT_S, Reply

__all__ = ["body_in_parts", "counts", "miscount", "post_parts"]

WORDS = ("ASGI", "scope", "receive", "send", "café", "message", "body", "bytes")


def body_in_parts(parts: int) -> list[bytes]:
    """A body of 40 to 60 random words, cut into ``parts`` pieces, each cut inside a word."""
    body = " ".join(random.choices(WORDS, k=random.randint(40, 60))).encode() + b"\n"
    inside = [i for i in range(1, len(body) - 1) if body[i - 1 : i + 1].isalpha()]
    cuts = sorted(random.sample(inside, parts - 1))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def counts(body: bytes) -> dict[str, int]:
    """What a word count answers for ``body``: its bytes, and its words split on whitespace."""
    return {"bytes": len(body), "words": len(body.split())}


def post_parts(url: str, parts: list[bytes], gap_s: float) -> Reply:
    """POST ``parts`` as one body: one part with a content-length, several chunked, ``gap_s`` apart
    (so the server receives each as it is sent, in its own message)."""
    import httpx

    def paced() -> Iterator[bytes]:  # a generator: httpx sends it chunked, one part as each is yielded
        for i, part in enumerate(parts):
            time.sleep(gap_s if i else 0)
            yield part

    try:
        with httpx.Client(timeout=TIMEOUT_S, trust_env=False) as client:
            response = client.post(url, content=parts[0] if len(parts) == 1 else paced())
    except httpx.HTTPError as exc:
        return Reply(None, error=f"{type(exc).__name__}: {exc}")
    return Reply(response.status_code, response.headers.get("content-type", "(none)"), response.text)


def miscount(parts: list[bytes], got: object) -> str:
    """How the count ``got`` of the body ``parts`` went wrong: "" (it did not), "first part" (only the
    first part was counted), "per part" (the bytes are right, the words were counted part by part, so
    each cut inside a word adds one) or "wrong"."""
    want = counts(b"".join(parts))
    if got == want:
        return ""
    if len(parts) > 1 and got == counts(parts[0]):
        return "first part"
    if len(parts) > 1 and got == {"bytes": want["bytes"], "words": want["words"] + len(parts) - 1}:
        return "per part"
    return "wrong"
