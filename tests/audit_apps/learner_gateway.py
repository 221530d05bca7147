"""A learner-style gateway over an upstream API (UPSTREAM_URL) and a database through a sync
SQLAlchemy session dependency: the verdict each route must get is in the comment beside it."""

import os
from contextlib import asynccontextmanager

import httpx
import requests
from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9")
engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(engine)


def get_session():
    with SessionLocal() as session:
        yield session


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=UPSTREAM) as client:
        app.state.client = client
        yield


app = FastAPI(lifespan=lifespan)


class Quote(BaseModel):
    symbol: str
    amount: float


@app.get("/rates/{currency}")  # blocks-loop: requests inside async def
async def rates(currency: str):
    reply = requests.get(f"{UPSTREAM}/delay", params={"ms": 20}, timeout=5)
    return {"currency": currency, "upstream": reply.status_code}


@app.post("/quotes")  # ok: the shared async client
async def quote(body: Quote):
    reply = await app.state.client.get("/delay", params={"ms": 20})
    return {"symbol": body.symbol, "upstream": reply.status_code}


@app.get("/accounts/{account_id}")  # thread-pool: a def endpoint with a sync session
def account(account_id: int, session: Session = Depends(get_session)):
    return {"id": account_id, "one": session.execute(text("select 1")).scalar()}
