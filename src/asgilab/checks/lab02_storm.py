"""Lab 02 step 3, a login storm: more logins at once than the service has thread tokens, with a few
/orders requests among them (they need thread tokens too) and /ping polled.

The service runs behind `asgilab.checks.lab02_host` with ``TOKENS`` default thread tokens. The check
times one login and one /orders alone, then sends ``logins(cores)`` logins at once and, 50 ms later,
``ORDERS`` /orders requests. The judge wants /orders close to its time alone (the logins left it
tokens), and the logins using the machine's usable cores: on average at least 70% of them hashing,
and never more hashes at once than cores (counted in the server, which a busy machine cannot fake)."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from asgilab.checks import AppDir, Criterion, ms, served
from asgilab.i18n import N_, _, _f
from asgilab.load import load, load_sync
from asgilab.machine import usable_cores
from asgilab.results import Run

__all__ = ["TOKENS", "ORDERS", "Storm", "logins", "measure", "judge"]

TOKENS, ORDERS, ORDERS_AFTER_S = 4, 4, 0.05  # the service's thread tokens; /orders sent during the storm
ORDERS_FACTOR, CORES_SHARE = 3.0, 0.7  # /orders within 3x alone; hashes in flight, per usable core
HOST = "asgilab.checks.lab02_host:app"  # serves the app with TOKENS, counting hashes and tokens in use
TARGET_ENV, TOKENS_ENV, REPORT = "ASGILAB_LAB02_APP", "ASGILAB_LAB02_THREAD_TOKENS", "/__lab02__/report"
OPTIONS: dict[str, Any] = {"timeout": 15.0, "deadline": 30.0}


def logins(cores: int) -> int:
    """More logins than thread tokens, and enough to keep every core busy for three hashes."""
    return max(TOKENS + 2, 3 * cores)


@dataclass
class Storm:
    cores: int  # usable cores on this machine (the server's too)
    login_alone: Run
    orders_alone: Run
    storm: Run | None = None  # the logins at once, /ping polled (None: a login failed alone)
    orders: Run | None = None  # /orders during the storm
    held: int = 0  # default tokens in use as the storm's /orders arrived (the fewest): the logins' share
    most: int = 0  # the most hashes in flight at once
    in_flight: float = 0.0  # hashes in flight on average over the storm (hash-seconds / its wall time)
    tokens: float = TOKENS  # the default limiter's tokens after the storm (the app may have changed them)
    logs: str = ""

    @property
    def login_s(self) -> float:  # one login alone
        return min(self.login_alone.latencies, default=math.nan)

    @property
    def orders_s(self) -> float:
        return min(self.orders_alone.latencies, default=math.nan)


def _together(*coroutines: Any) -> list[Run]:
    """Run the loads at once, in an event loop of their own (a notebook cell already runs one)."""
    outcome: list[Any] = []

    async def both() -> list[Run]:
        return list(await asyncio.gather(*coroutines))

    thread = threading.Thread(target=lambda: outcome.append(_caught(lambda: asyncio.run(both()))))
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return list(outcome[0])


def _caught(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except BaseException as exc:  # re-raised in the caller's thread
        return exc


async def _later(seconds: float, coroutine: Coroutine[Any, Any, Run]) -> Run:
    await asyncio.sleep(seconds)  # the logins reach the server first and queue for their tokens
    return await coroutine


def measure(title: str, app: str, app_dir: AppDir, env: dict[str, str]) -> Storm:
    cores, env = usable_cores(), {**env, TARGET_ENV: app, TOKENS_ENV: str(TOKENS)}
    with served(title, app, app_dir, env, step=3, serve_app=HOST) as server:
        login, orders = server.url + "/login", server.url + "/orders?customer=7"
        alone = {
            name: load_sync(url, 1, 1, label=f"{name} alone", **OPTIONS)
            for url, name in ((login, "/login"), (orders, "/orders"))
        }
        m = Storm(cores, alone["/login"], alone["/orders"])
        if m.login_alone.ok == 1 and m.orders_alone.ok == 1:
            n = logins(cores)
            storm = load(login, n, n, probe="/ping", label=f"{n} logins at once", cpu_of=[server], **OPTIONS)
            late = _later(ORDERS_AFTER_S, load(orders, ORDERS, ORDERS, label="/orders during them", **OPTIONS))
            before = httpx.get(server.url + REPORT, timeout=5.0, trust_env=False).json()
            m.storm, m.orders = _together(storm, late)
            after = httpx.get(server.url + REPORT, timeout=5.0, trust_env=False).json()
            m.held, m.most, m.tokens = (
                min(after["at_orders"][-ORDERS:], default=0),
                after["hashes_max"],
                after["tokens_now"],
            )
            m.in_flight = (after["hash_s"] - before["hash_s"]) / m.storm.wall_s if m.storm.wall_s > 0 else 0.0
    m.logs = server.logs()
    return m


# -- how step 3 judges it (pure) -------------------------------------------------------------------
# fmt: off
LOOK = {
    "tokens": N_("the logins held {held} of the service's {tokens} default thread tokens, so /orders waited {waited} for one: look at where the hashes' threads take their tokens from."),
    "changed": N_("your app set the default limiter to {now:g} tokens: the service runs with {tokens}, as its container is configured. Leave them, and look at where the hashes' threads take their tokens from."),
    "loop": N_("/orders waited behind the hashes on the event loop itself (see /ping): look at where hash_password() runs."),
    "one": N_("at most {most} hash(es) ran at once while {cores} usable cores were there, so logins queued while cores idled: look at how many hashes your code lets run at once, and at how many cores the machine has (lesson 02, section 3b)."),
    "many": N_("up to {most} hashes shared {cores} usable cores, so each took longer (the fastest {stretch:.1f}x one alone) and no login finished early: look at how many hashes your code lets run at once, and where that number comes from (a limit made anew for each request limits nothing)."),
}
# fmt: on


def _orders(m: Storm) -> Criterion:
    run, bound = m.orders, ORDERS_FACTOR * m.orders_s
    worst = run.max_s if run is not None and run.ok else math.nan
    shown = _f(
        "/orders slowest {worst} during the storm, {alone} alone; {held} of the {tokens} default tokens in use as they arrived",
        worst=ms(worst),
        alone=ms(m.orders_s),
        held=m.held,
        tokens=TOKENS,
    )
    look = LOOK["changed" if m.tokens != TOKENS else "tokens" if m.held >= TOKENS else "loop"]
    advice = _f(look, held=m.held, tokens=TOKENS, waited=ms(worst - m.orders_s), now=m.tokens)
    what = _f(
        "/orders keeps its thread tokens: its slowest during the storm within {factor:g}x its time alone",
        factor=ORDERS_FACTOR,
    )
    return Criterion(not math.isnan(worst) and worst <= bound and m.tokens == TOKENS, what, shown, advice)


def _cores(m: Storm) -> Criterion:
    """Hashes in flight on average, counted in the server; the logins' throughput is shown beside it."""
    run, need = m.storm, CORES_SHARE * m.cores if m.cores > 1 else 0.0
    done = len(run.records) * m.login_s / run.wall_s if run is not None and run.ok and run.wall_s > 0 else 0.0
    others = (run.others_cores or 0.0) if run is not None else 0.0
    busy = _f(" (other programs kept {others:.1f} cores busy)", others=others) if others > 0.5 else ""
    shown = _f(
        "{in_flight:.1f} hashes in flight on average, at most {most}; the logins done {done:.1f}x as fast as one at a time{busy}",
        in_flight=m.in_flight,
        most=m.most,
        done=done,
        busy=busy,
    )
    what = _f(
        "the logins use the machine's {cores} usable core(s): at least {need:.1f} hashes in flight on average",
        cores=m.cores,
        need=need,
    )
    advice = _f(LOOK["one"], most=m.most, cores=m.cores)
    return Criterion(m.in_flight >= need and m.most > 0, what, shown, advice)


def _fastest(m: Storm) -> Criterion:
    """At most one hash per core at once, counted in the server (a busy machine slows hashes, but does not add any)."""
    run = m.storm
    fastest = min(run.latencies, default=math.nan) if run is not None else math.nan
    shown = _f(
        "at most {most} hashes in flight on {cores} usable core(s); fastest login {fastest} in the storm, {alone} alone",
        most=m.most,
        cores=m.cores,
        fastest=ms(fastest),
        alone=ms(m.login_s),
    )
    stretch = fastest / m.login_s if m.login_s else math.nan
    advice = _f(LOOK["many"], most=m.most, cores=m.cores, stretch=stretch)
    return Criterion(0 < m.most <= m.cores, _("no more hashes at once than usable cores"), shown, advice)


def judge(
    m: Storm, answered: Callable[[Run, str], Criterion], canary: Callable[[Run, float], Criterion]
) -> list[Criterion]:
    """Every request answered; /ping fast; /orders near its time alone; the cores used, not oversubscribed."""
    if m.storm is None or m.orders is None:  # a request failed alone: no storm was sent
        return [answered(m.login_alone, "/login"), answered(m.orders_alone, "/orders")]
    return [
        answered(m.storm, "/login"),
        answered(m.orders, "/orders"),
        canary(m.storm, m.login_s),
        _orders(m),
        _cores(m),
        _fastest(m),
    ]
