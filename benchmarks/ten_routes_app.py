"""Ten routes of every kind the audit tells apart, for benchmarks/audit_speed.py."""

import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


def work(n: int = 200_000) -> int:
    return sum(i * i for i in range(n))


@app.get("/a")
async def fast():
    return {"ok": True}


@app.get("/b")
async def waits():
    await asyncio.sleep(0.05)
    return {"ok": True}


@app.get("/c/{item_id}")
async def item(item_id: int):
    await asyncio.sleep(0.01)
    return {"id": item_id}


@app.get("/d")
async def sleeps():
    time.sleep(0.02)
    return {"ok": True}


@app.get("/e")
async def computes():
    return {"total": work()}


@app.get("/f")
def computes_in_a_thread():
    return {"total": work()}


@app.get("/g")
def waits_in_a_thread():
    time.sleep(0.02)
    return {"ok": True}


@app.post("/h")
async def posts(payload: dict):
    return payload


@app.get("/i")
async def reads_a_file():
    with open(__file__) as source:
        return {"lines": source.read().count("\n")}  # blockbuster 1.5 wraps read(), not readlines()


@app.get("/j")
async def fails():
    raise RuntimeError("on purpose")
