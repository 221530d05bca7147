"""The local upstream: counts connections, models a handshake per new connection, serves HTTPS."""

from __future__ import annotations

import time

import httpx
import pytest

from asgilab import load_sync, upstream


def reset(url: str, **kw) -> None:
    httpx.post(url + "/stats/reset", **kw).raise_for_status()


def test_counts_requests_and_connections():
    with upstream.serve_upstream() as up:
        assert isinstance(up, upstream.Upstream)
        up.reset()
        with httpx.Client() as shared:  # one connection, reused
            for _ in range(5):
                assert shared.get(up.url + "/delay?ms=1").json() == {"delayed_ms": 1}
        for _ in range(3):  # a new connection each time
            httpx.get(up.url + "/delay?ms=1")
        stats = up.stats()
        again = up.stats()  # asking twice opens no connection the figures show
        up.reset()
        after_reset = up.stats()
    assert stats["requests"] == again["requests"] == 8
    assert stats["connections_opened"] == again["connections_opened"] == 1 + 3
    assert after_reset["requests"] == after_reset["connections_opened"] == 0


def test_the_http_endpoints_still_count_their_own_connection():
    with upstream.serve_upstream() as up:
        reset(up.url)
        httpx.get(up.url + "/delay?ms=1")
        stats = httpx.get(up.url + "/stats").json()
    assert stats["requests"] == 1 and stats["connections_opened"] == 1 + 1  # + the /stats request itself


def test_connect_delay_is_paid_once_per_connection():
    with upstream.serve_upstream(connect_delay_ms=150) as up:
        with httpx.Client() as client:
            start = time.perf_counter()
            client.get(up.url + "/delay?ms=0")
            first = time.perf_counter() - start
            start = time.perf_counter()
            client.get(up.url + "/delay?ms=0")
            second = time.perf_counter() - start
    print(f"first request {first * 1000:.0f} ms, reused connection {second * 1000:.0f} ms")
    assert first >= 0.14 and second < 0.1


def test_concurrent_requests_overlap_on_the_upstream():
    with upstream.serve_upstream() as up:
        run = load_sync(up.url + "/delay?ms=100", 50, 50)
    assert run.ok == 50 and run.wall_s < 0.5


def test_https_with_the_course_ca():
    with upstream.serve_upstream(tls=True) as up:
        assert up.url.startswith("https://127.0.0.1:")
        up.reset()
        assert httpx.get(up.url + "/delay?ms=1", verify=upstream.ssl_context()).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(up.url + "/delay?ms=1")  # not trusted by the system store
        run = load_sync(up.url + "/delay?ms=1", 5, 5, ssl=upstream.ssl_context())
        assert run.ok == 5
        assert up.stats()["requests"] == 6  # stats() trusts the course CA too


def test_delay_is_bounded():
    with upstream.serve_upstream() as up:
        assert httpx.get(up.url + "/delay?ms=10000000").status_code == 422
    with pytest.raises(ValueError):
        upstream.serve_upstream(connect_delay_ms=-1)


@pytest.mark.parametrize("engine", ["aiohttp", "httpx2"])
def test_load_without_keepalive_opens_a_connection_per_request(engine: str):
    with upstream.serve_upstream() as up:
        up.reset()
        kept = load_sync(up.url + "/delay?ms=1", 30, 3, engine=engine)
        with_keepalive = up.stats()["connections_opened"]
        up.reset()
        fresh = load_sync(up.url + "/delay?ms=1", 30, 3, engine=engine, keepalive=False)
        without = up.stats()["connections_opened"]
    assert kept.ok == fresh.ok == 30, [kept, fresh]
    assert with_keepalive <= 3 and without == 30, (with_keepalive, without)
