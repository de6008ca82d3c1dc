"""Misbehaviour on demand, shared by the fakes: time out, answer 500, for the next N requests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class WholeRequests:
    """Reads each request's body before the app runs, then hands the app that body.

    A provider handles a request it has received even when the caller has stopped waiting for the answer;
    uvicorn instead tells an app that reads the body after the caller hung up that it is gone. On a loaded
    machine the caller's timeout may pass before the fake's loop gets to the request: an accepted transfer
    would then never be made, and the load, not the fault, would decide what a test sees. Outermost, with
    nothing awaited before the first `receive`, the body is taken while uvicorn still has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        message: Message = {"more_body": True}
        while message.get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":  # gone before it had sent the whole request: nothing to do
                return
            chunks.append(message.get("body", b""))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


def install_faults(app: FastAPI, timeout_seconds: float = 30.0) -> None:
    app.state.faults = Faults()
    build = app.build_middleware_stack  # outside every middleware, whenever the fake adds its own

    def outermost() -> ASGIApp:
        return WholeRequests(build())

    app.build_middleware_stack = outermost  # type: ignore[method-assign]
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
            # Never past the door, however long the fake runs: a later test must not meet this request.
            return PlainTextResponse("gateway timeout (injected)", status_code=504)
        if fault == "error500":
            return PlainTextResponse("internal error (injected)", status_code=500)
        return await call_next(request)
