"""A correct small service: the audit must raise no alarm on it (every route ok, exit status 0)."""

import asyncio
import hashlib

import anyio.to_thread
from fastapi import FastAPI

app = FastAPI()


@app.get("/")  # ok
async def root():
    return {"hello": "world"}


@app.get("/wait")  # ok
async def wait(ms: int = 30):
    await asyncio.sleep(ms / 1000)
    return {"waited_ms": ms}


@app.get("/digest/{word}")  # thread-pool: hashed in a worker thread (hashlib releases the GIL)
async def digest(word: str):
    data = word.encode() * 200_000
    return {"sha256": await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())}
