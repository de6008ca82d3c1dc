"""Misbehaviour on demand, shared by the fakes: time out, answer 500, for the next N requests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

MODES = (
    "none|timeout|error500|accept_then_timeout|duplicate_notification|forged_notification|tampered_amount_notification"
)


class FaultIn(BaseModel):
    mode: str = Field(pattern=f"^({MODES})$")
    count: int = Field(1, ge=0, le=1000)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mode = "none"
        self.remaining = 0

    def set(self, mode: str, count: int = 1) -> None:
        with self._lock:
            self.mode, self.remaining = mode, count

    def take(self, *modes: str) -> str:
        """The fault for this request if it is one of `modes` (any, when none named), counting it down."""
        with self._lock:
            if self.mode == "none" or self.remaining <= 0 or (modes and self.mode not in modes):
                return "none"
            self.remaining -= 1
            return self.mode


def install_faults(app: FastAPI, timeout_seconds: float = 30.0) -> None:
    app.state.faults = Faults()
    router = APIRouter(include_in_schema=False)

    @router.post("/_fake/faults")
    async def set_faults(body: FaultIn) -> dict[str, Any]:
        app.state.faults.set(body.mode, body.count)
        return {"mode": body.mode, "count": body.count}

    app.include_router(router)

    @app.middleware("http")
    async def misbehave(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/_fake/"):
            return await call_next(request)
        fault = app.state.faults.take("timeout", "error500")
        if fault == "timeout":
            await asyncio.sleep(timeout_seconds)  # cancelled when the server shuts down
        if fault == "error500":
            return PlainTextResponse("internal error (injected)", status_code=500)
        return await call_next(request)
