"""Lab 07's yardstick, served by its step 2 check: the model computed inline, on the event loop."""

from __future__ import annotations

from fastapi import FastAPI

from asgilab import model

app = FastAPI(title="lab 07 reference: the model inline")
app.get("/ping")(lambda: {"pong": True})


@app.get("/predict")
async def predict(item: int = 0) -> dict[str, object]:
    return model.predict(item)  # inline on purpose: the baseline of step 2
