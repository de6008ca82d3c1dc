"""The baselines of bench/submission.py and bench/reads.py: bare FastAPI endpoints doing one INSERT or one SELECT.

Same framework, same server (one uvicorn worker), same engine settings (shared.db.create_engine), same
database; no identity, no validation beyond parsing the JSON, no outbox, no routing hop. What the
complaint path costs on top of this is what the benchmark's ratio shows.

    BASELINE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline:app --port 8099
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import text

from shared.db import create_engine
from shared.ids import new_id
from shared.settings import ServiceSettings

SCHEMA = "bench_baseline"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = ServiceSettings(database_url=os.environ["BASELINE_DATABASE_URL"], database_schema=SCHEMA)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        await conn.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{SCHEMA}".items '
                "(id text PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL)"
            )
        )
    app.state.engine = engine
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/complaints", status_code=201)
async def insert(request: Request) -> dict[str, str]:
    body = await request.body()
    item_id = new_id("itm")
    async with request.app.state.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO items (id, body, created_at) VALUES (:id, CAST(:body AS jsonb), :at)"),
            {"id": item_id, "body": body.decode(), "at": datetime.now(UTC)},
        )
    return {"id": item_id}


@app.get("/v1/items/{item_id}")
async def item(item_id: str, request: Request) -> dict[str, Any]:
    """The baseline of bench/reads.py: one row by its key."""
    async with request.app.state.engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT id, body, created_at FROM items WHERE id = :id"), {"id": item_id})
        ).first()
    if row is None:
        raise HTTPException(404)
    return {"id": row.id, "body": row.body, "created_at": row.created_at.isoformat()}
