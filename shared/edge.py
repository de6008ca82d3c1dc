"""What every service refuses before any route sees the request: paths that could mean another route, and
bodies over the size limit, whether they come with a length or chunked; and the wait for a turn when the
process already works on as many requests as it has database connections.

All are pure ASGI, outside the routes and inside the request-id middleware, so a refusal is logged and
counted like any answer and is the same problem+json as every other error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

from shared.errors import Overloaded, PayloadTooLarge, Problem, problem_response


class PathInvalid(Problem):
    status, code, title = 400, "path_invalid", "Invalid path"


def path_problem(raw_path: bytes) -> str | None:
    """Why a request path is refused, or None. A path is taken only as it will be routed and forwarded:
    no dot-segments (`/v1/complaints/../../metrics` would reach another route once a client or proxy
    resolves it), no empty segments, no encoded slash or backslash (which some servers decode into a
    separator), no control characters and nothing that does not decode to UTF-8."""
    if not raw_path.startswith(b"/"):
        return "A path starts with '/'."
    segments = raw_path[1:].split(b"/")
    for index, raw in enumerate(segments):
        decoded = unquote_to_bytes(raw)
        if raw == b"" and index == len(segments) - 1:
            continue  # a trailing slash
        if decoded in (b"", b".", b".."):
            return "Paths may not contain empty, '.' or '..' segments."
        if b"/" in decoded or b"\\" in decoded:
            return "Paths may not contain encoded slashes or backslashes."
        if any(byte < 0x20 or byte == 0x7F for byte in decoded):
            return "Paths may not contain control characters."
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return "A path must be UTF-8."
    return None


class PathGuard:
    """Refuses, with 400 `path_invalid`, any path that could be routed or forwarded as another one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
            problem = path_problem(raw.split(b"?", 1)[0])
            if problem is not None:
                await problem_response(PathInvalid(problem))(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    """Raised by the counting receive when a body passes its limit (the app is then answered 413)."""


class BodyLimit:
    """At most `limit` bytes of request body (`limits`: a smaller or larger one under a path prefix, the first
    match wins). A declared length over the limit is answered 413 at once; a body sent without one (chunked)
    is counted as it arrives, and the request is answered 413 as soon as it passes the limit, whatever the
    route was doing with it (reading it, or forwarding it as a stream)."""

    def __init__(self, app: Any, limit: int, limits: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.limit = limit
        self.limits = tuple(limits)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        refusal = PayloadTooLarge(f"Request bodies here are limited to {limit} bytes.", limit_bytes=limit)
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                if value.strip().isdigit() and int(value) > limit:
                    await problem_response(refusal)(scope, receive, send)
                    return
                break
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, exceeded
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app made of the cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await problem_response(refusal)(scope, receive, send)


class Admission:
    """At most `limit` requests of this process at work at once; the others wait their turn, in the order they
    came, for at most `wait_seconds`, then are answered 503 `overloaded` (Retry-After: 1).

    This is what keeps the database pool fair without touching its internals: a request holds at most one
    connection, so with no more requests at work than the pool has connections, no request ever waits on the
    pool (whose asyncio queue can serve a newcomer before a waiter), only here, first come first served
    (`asyncio.Semaphore` is FIFO: a newcomer never takes a slot a waiter was woken for). The wait is shorter
    than the gateway's 5 s, so an overloaded service answers 503 rather than leave its caller to time out.
    Health probes and metrics are never held, nor uploads (multipart bodies): a slow upload would hold its turn
    while its body arrives, and FastAPI reads the whole form before the route takes a connection. 0: no limit.
    Pure ASGI, inside the request-id middleware."""

    EXEMPT = ("/health/", "/metrics")

    def __init__(self, app: Any, limit: int, wait_seconds: float, waiting: Any = None) -> None:
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.waiting = waiting  # a gauge (inc, dec) of the requests waiting their turn, or None
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # one per event loop (tests run several)
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        return self._slots

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or self.limit <= 0
            or scope.get("path", "").startswith(self.EXEMPT)
            or any(key == b"content-type" and value.startswith(b"multipart/") for key, value in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        slots = self.slots()
        if slots.locked() and self.waiting is not None:
            self.waiting.inc()
            try:
                admitted = await self._wait(slots)
            finally:
                self.waiting.dec()
        else:
            admitted = await self._wait(slots)
        if not admitted:
            refusal = Overloaded(
                f"The service has {self.limit} requests at work and more waiting; retry shortly.",
                headers={"Retry-After": "1"},
            )
            await problem_response(refusal)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _wait(self, slots: asyncio.Semaphore) -> bool:
        try:
            async with asyncio.timeout(self.wait_seconds):
                await slots.acquire()
        except TimeoutError:
            return False
        return True
