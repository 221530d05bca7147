"""Serve the learner's app for one step, or fail the step with what the server said."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from asgilab.checks.feedback import CheckFailed, Criterion, Feedback, not_started, verdict
from asgilab.results import Run
from asgilab.server import Server, ServerError, serve

__all__ = ["AppDir", "served", "make_step"]

AppDir = str | os.PathLike[str] | None  # where the learner's module is; None: the current directory
Measure = Callable[[str, AppDir], Any]  # measure_stepN(app, app_dir) -> a dataclass of figures
Judge = Callable[[Any], list[Criterion]]  # judge_stepN(measurement) -> criteria, no I/O
Step = Callable[..., Feedback]
Title = str | Callable[[], str]  # a step's title, or what gives it in the learner's language when the step runs


@contextlib.contextmanager
def served(
    title: str,
    app: str,
    app_dir: AppDir = None,
    env: dict[str, str] | None = None,
    *,
    step: int | None = None,
    serve_app: str | None = None,
    **options: Any,
) -> Iterator[Server]:
    """Serve ``app`` ("module:attribute") for one step and stop it on leaving the block.

    If it does not start, raise `CheckFailed` with `not_started` feedback (the server's last lines).
    ``serve_app`` serves another ASGI app (e.g. a probe wrapping the learner's) while ``app`` names
    the learner's module in the feedback; ``options`` go to `asgilab.serve`."""
    server = serve(serve_app or app, app_dir=app_dir, env=env, **options)
    try:
        server.start()
    except ServerError as exc:
        raise CheckFailed(Feedback(title, [not_started(app, exc)], step=step)) from None
    try:
        yield server
    finally:
        server.stop()


def make_step(number: int, title: Title, measure: Measure, judge: Judge, app: str) -> Step:
    """``stepN(app=<app>, app_dir=None)``: measure the app live, judge the measurement, and return
    `verdict` of the `Feedback` (with every `Run` the measurement holds). A callable ``title`` is called
    when the step runs, so that a translated title follows the learner's language."""

    def heading() -> str:
        return title() if callable(title) else title

    def step(app: str = app, app_dir: AppDir = None) -> Feedback:
        measured = measure(app, app_dir)
        runs = [value for value in vars(measured).values() if isinstance(value, Run)]
        return verdict(Feedback(heading(), judge(measured), runs, step=number))

    step.__name__ = step.__qualname__ = f"step{number}"
    step.__doc__ = f"{heading()}. Serves ``app`` live ({measure.__name__}) and judges it ({judge.__name__})."
    return step
