"""A learner-style shop (not written to the course's patterns): each route has the verdict the audit
must give it, in the comment beside it (tests/test_audit.py holds them to it)."""

import asyncio
import sqlite3
import time
from contextlib import asynccontextmanager

import shop_helpers
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DB = sqlite3.connect(":memory:", check_same_thread=False)


@asynccontextmanager
async def lifespan(app: FastAPI):
    DB.execute("create table if not exists items (id integer primary key, name text)")
    DB.executemany("insert or replace into items values (?, ?)", [(i, f"item {i}") for i in range(1, 50)])
    yield


app = FastAPI(lifespan=lifespan)


class Order(BaseModel):
    item_id: int
    quantity: int = 1


@app.get("/health")  # ok
async def health():
    await asyncio.sleep(0.01)
    return {"ok": True}


@app.get("/items/{item_id}")  # blocks-loop: sync sqlite3 in async def
async def item(item_id: int):
    row = DB.execute("select name from items where id = ?", (item_id,)).fetchone()
    if row is None:
        raise HTTPException(404)
    return {"id": item_id, "name": row[0]}


@app.post("/orders")  # blocks-loop: time.sleep, one module down
async def order(body: Order):
    shop_helpers.reserve_stock(body.item_id)
    return {"ordered": body.item_id, "quantity": body.quantity}


@app.get("/report")  # cpu-bound, on the loop
async def report():
    return {"total": shop_helpers.crunch(1_000_000)}


@app.get("/export")  # cpu-bound, in the thread pool
def export():
    return {"total": shop_helpers.crunch(1_000_000)}


@app.get("/catalog")  # thread-pool: a def endpoint that waits
def catalog(page: int = 1):
    time.sleep(0.02)
    return {"page": page}


@app.get("/broken")  # failed
async def broken():
    raise RuntimeError("the stock service is not configured")
