"""With HTTP_PROXY, HTTPS_PROXY and ALL_PROXY set, every loopback call of the course still goes straight
to the course's servers once `asgilab` is imported: httpx, requests, aiohttp with ``trust_env=True``,
urllib, and the calls a served app makes itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from asgilab import serve
from asgilab.loopback import bypass_proxies_for_loopback

# Run in a fresh interpreter, since `asgilab` is already imported here. The "proxy" answers every
# request with 502 "from the proxy", so a call that went through it shows, unlike a dead port's error.
LEARNER = textwrap.dedent("""
    import asyncio, http.server, json, os, sys, threading, urllib.request

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(502)
            self.send_header("Content-Length", "14")
            self.end_headers()
            self.wfile.write(b"from the proxy")

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ[name] = f"http://127.0.0.1:{proxy.server_port}"
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    import aiohttp, httpx, requests

    url, app_dir = sys.argv[1], sys.argv[2]

    async def aiohttp_get(url):
        async with aiohttp.ClientSession(trust_env=True) as session, session.get(url) as response:
            return response.status

    def statuses():
        with urllib.request.urlopen(url) as response:
            plain = response.status
        return {
            "httpx": httpx.get(url, timeout=5).status_code,
            "requests": requests.get(url, timeout=5).status_code,
            "aiohttp": asyncio.run(aiohttp_get(url)),
            "urllib": plain,
        }

    found = {"before": {"httpx": httpx.get(url, timeout=5).status_code}}
    import asgilab

    found["after"] = statuses()
    with asgilab.serve("relay_app:app", app_dir=app_dir, env={"TARGET": url}) as relay:
        found["relayed"] = httpx.get(relay.url + "/relay", timeout=10).json()
    print(json.dumps(found))
""")

RELAY_APP = textwrap.dedent("""
    import os
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/relay")
    def relay():
        response = httpx.get(os.environ["TARGET"], timeout=5)
        return {"status": response.status_code, "body": response.text}
""")


def test_loopback_calls_bypass_a_proxy_once_asgilab_is_imported(tmp_path):
    (tmp_path / "relay_app.py").write_text(RELAY_APP)
    with serve("asgilab.apps.demo:app") as demo:
        learner = subprocess.run(
            [sys.executable, "-c", LEARNER, demo.url + "/ping", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert learner.returncode == 0, learner.stderr
    found = json.loads(learner.stdout)
    assert found["before"] == {"httpx": 502}  # the control: without asgilab, the proxy answered
    assert found["after"] == {"httpx": 200, "requests": 200, "aiohttp": 200, "urllib": 200}
    assert found["relayed"] == {"status": 200, "body": '{"pong":true}'}  # the served app's own call


@pytest.mark.parametrize(
    "before, expected",
    [
        ({}, "127.0.0.1,localhost,::1"),
        ({"NO_PROXY": "corp.example"}, "corp.example,127.0.0.1,localhost,::1"),
        ({"no_proxy": "a.example", "NO_PROXY": "b.example, localhost"}, "a.example,b.example,localhost,127.0.0.1,::1"),
        ({"no_proxy": "*"}, "*,127.0.0.1,localhost,::1"),
        ({"NO_PROXY": "127.0.0.1,localhost,::1"}, "127.0.0.1,localhost,::1"),
    ],
)
def test_no_proxy_keeps_what_was_there_in_both_spellings(before, expected):
    environ = dict(before)
    assert bypass_proxies_for_loopback(environ) == expected
    assert environ["NO_PROXY"] == environ["no_proxy"] == expected
    assert bypass_proxies_for_loopback(environ) == expected  # twice changes nothing
