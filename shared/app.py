"""What every service app has: request ids, logs, metrics, health, errors, engine, clients, outbox."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel
from sqlalchemy import Table

from shared.clock import Clock, system_clock
from shared.db import create_engine, create_sessionmaker, ping
from shared.errors import install_error_handlers
from shared.http import REQUEST_ID_HEADER, ServiceClient
from shared.ids import new_id
from shared.logging import reset_request_id, set_request_id
from shared.outbox import EventHandler, Inbox, Outbox, OutboxDispatcher, events_router
from shared.settings import ServiceSettings

log = logging.getLogger("shared.app")

BackgroundJob = Callable[[FastAPI], Awaitable[None]]
ReadinessCheck = Callable[[FastAPI], Awaitable[None]]


class Metrics:
    """This app's Prometheus metrics, in a registry of its own (several apps may share a process)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_backlog = Gauge("outbox_backlog", "Undelivered outbox rows", registry=self.registry)
        self.outbox_lag = Gauge("outbox_lag_seconds", "Age of the oldest undelivered outbox row",
                                registry=self.registry)
        self.service = service


class RequestContextMiddleware:
    """Request id in and out, one JSON log line and metrics per request. Pure ASGI: cheap on the hot path."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger(f"{metrics.service}.access")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or new_id("req")
        token = set_request_id(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            if template not in ("/metrics", "/health/live", "/health/ready"):
                self.metrics.requests.labels(method, template, str(status)).inc()
                self.metrics.latency.labels(method, template).observe(elapsed)
                self.log.info("%s %s %s", method, scope.get("path"), status,
                              extra={"status": status, "duration_ms": round(elapsed * 1000, 2),
                                     "method": method, "path": scope.get("path")})
            reset_request_id(token)


class Health(BaseModel):
    status: str
    service: str


def _health_router(service: str, checks: Sequence[ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> Health:
        """The process is up (it does not look at the database)."""
        return Health(status="ok", service=service)

    @router.get("/health/ready", responses={503: {"model": Health}})
    async def ready(request: Request) -> Any:
        """The service can do its work: its database answers, and so does any downstream it needs."""
        try:
            await ping(request.app.state.engine)
            for check in checks:
                await check(request.app)
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse({"status": "unavailable", "service": service, "reason": str(exc)[:200]},
                                status_code=503)
        return Health(status="ok", service=service)

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        state = request.app.state
        if getattr(state, "dispatcher", None) is not None:
            backlog, lag = await state.dispatcher.backlog()
            state.metrics.outbox_backlog.set(backlog)
            state.metrics.outbox_lag.set(lag)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _kick_dispatcher(app: FastAPI) -> Callable[[dict[str, Any]], None]:
    def kick(notes: dict[str, Any]) -> None:
        if notes.get("outbox_written") and app.state.dispatcher is not None:
            app.state.dispatcher.kick()

    return kick


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    clock: Clock | None = None,
    outbox: Table | None = None,
    inbox: Table | None = None,
    event_handlers: dict[str, EventHandler] | Callable[[FastAPI], dict[str, EventHandler]] | None = None,
    routers: Sequence[APIRouter] = (),
    background: Sequence[BackgroundJob] = (),
    readiness: Sequence[ReadinessCheck] = (),
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """A service app with everything every service has; `transports` lets tests wire apps in-process."""
    clock = clock or system_clock

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.clients = {
            service: ServiceClient(service, url, settings.internal_secret, timeout=settings.http_timeout_seconds,
                                   retries=settings.http_retries,
                                   transport=(transports or {}).get(service))
            for service, url in settings.service_urls().items()
            if service != name
        }
        app.state.dispatcher = None
        if outbox is not None:
            app.state.outbox = Outbox(outbox, name, clock)
            app.state.dispatcher = OutboxDispatcher(
                outbox, app.state.sessionmaker, app.state.clients, name, clock,
                poll_seconds=settings.outbox_poll_seconds, batch_size=settings.outbox_batch_size,
            )
        app.state.after_commit = [_kick_dispatcher(app)]
        if inbox is not None:
            built = event_handlers(app) if callable(event_handlers) else event_handlers
            app.state.inbox = Inbox(inbox, clock, dict(built or {}))
        if on_startup is not None:
            await on_startup(app)
        tasks: list[asyncio.Task[None]] = []
        if settings.run_background_workers:
            if app.state.dispatcher is not None:
                tasks.append(asyncio.create_task(app.state.dispatcher.run(), name=f"{name}-outbox"))
            tasks.extend(asyncio.create_task(job(app), name=f"{name}-{job.__name__}") for job in background)
        try:
            yield
        finally:
            if app.state.dispatcher is not None:
                app.state.dispatcher.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if on_shutdown is not None:
                await on_shutdown(app)
            for client in app.state.clients.values():
                await client.aclose()
            await engine.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.metrics = Metrics(name)
    app.state.service_name = name
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.include_router(_health_router(name, readiness))
    if inbox is not None:
        app.include_router(events_router(lambda: app.state.inbox))
    for router in routers:
        app.include_router(router)
    return app
