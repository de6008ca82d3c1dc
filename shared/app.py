"""What every service app has: request ids, traces, logs, metrics, health, errors, engine, clients, outbox."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import channels
from shared.background import BackgroundJob, periodic
from shared.clock import Clock, system_clock
from shared.db import create_engine, create_sessionmaker, ping
from shared.edge import Admission, BodyLimit, PathGuard, PathInvalid
from shared.errors import (
    PayloadTooLarge,
    add_problem_responses,
    document_problems,
    install_error_handlers,
    problems_raised_by,
)
from shared.http import REQUEST_ID_HEADER, ServiceClient
from shared.i18n import language_from_headers, reset_language, set_language
from shared.ids import new_id
from shared.logging import reset_request_id, set_request_id
from shared.outbox import EventHandler, Inbox, Outbox, OutboxDispatcher, dispatcher_job, events_router
from shared.retention import Retention, event_retention, prune
from shared.settings import ServiceSettings
from shared.tracing import Tracing, context_from_headers

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("shared.app")

ReadinessCheck = Callable[[FastAPI], Awaitable[None]]
_UNTRACKED = frozenset({"/metrics", "/health/live", "/health/ready"})
# On every answer: a browser takes a response for the type it declares (an evidence file for an image, a
# problem for JSON), never for HTML its bytes might resemble.
_NOSNIFF = (b"x-content-type-options", b"nosniff")  # shared.errors.NOSNIFF_HEADERS, as ASGI sends it


class Metrics:
    """This app's Prometheus metrics, in a registry of its own (several apps may share a process), with the
    process's own series (CPU, memory, open files, garbage collections, Python version) beside them."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
            self.registry.register(collector)  # the same collectors as the default registry's: they read the process
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_backlog = Gauge("outbox_backlog", "Undelivered outbox rows", registry=self.registry)
        self.outbox_lag = Gauge(
            "outbox_lag_seconds", "Age of the oldest undelivered outbox row", registry=self.registry
        )
        self.outbox_dead_letters = Gauge(
            "outbox_dead_letters",
            "Events a subscriber refused, given up until an operator replays them (cli outbox replay)",
            registry=self.registry,
        )
        self.scheduler_runs = Counter(
            "scheduler_runs_total",
            "Background job passes, by job and outcome (ok/error)",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.scheduler_duration = Histogram(
            "scheduler_pass_duration_seconds",
            "How long one background job pass took",
            ["job"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.db_pool_connections = Gauge(
            "db_pool_connections",
            "Database connections this process holds open, by state (in_use: checked out by a request or job)",
            ["state"],
            registry=self.registry,
        )
        self.db_pool_max = Gauge(
            "db_pool_max_connections",
            "Connections this process may open: *_DATABASE_POOL_SIZE + *_DATABASE_MAX_OVERFLOW",
            registry=self.registry,
        )
        self.db_pool_waiting = Gauge(
            "db_pool_waiting",
            "Requests waiting their turn for a database connection (past *_MAX_CONCURRENT_REQUESTS at work)",
            registry=self.registry,
        )
        self.service = service

    def observe_pool(self, engine: AsyncEngine, max_overflow: int) -> None:
        """Read the engine's pool (a queue pool on PostgreSQL; SQLite's may have no counts). Requests waiting are
        counted as they wait, by the admission (shared/edge.py), not read from the pool's internals."""
        pool = engine.sync_engine.pool
        counts = {name: getattr(pool, name, None) for name in ("checkedin", "checkedout", "size", "overflow")}
        if not all(callable(c) for c in counts.values()):
            return
        self.db_pool_connections.labels("idle").set(pool.checkedin())  # type: ignore[attr-defined]
        self.db_pool_connections.labels("in_use").set(pool.checkedout())  # type: ignore[attr-defined]
        self.db_pool_max.set(pool.size() + max_overflow)  # type: ignore[attr-defined]


class ServiceMetrics(Protocol):
    """A service's own series, built in its app's registry (`create_service_app(metrics=...)`)."""

    async def refresh(self, app: FastAPI) -> None:
        """Set the gauges that are read from the database, just before /metrics answers."""


class RequestContextMiddleware:
    """Request id in and out, the language problems answer in (Accept-Language), `X-Content-Type-Options:
    nosniff` on every answer, a server span, one JSON log line and metrics per request. Pure ASGI: cheap on
    the hot path (with tracing off, the span costs one attribute check)."""

    def __init__(self, app: Any, metrics: Metrics, tracing: Tracing | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
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
        language_token = set_language(language_from_headers(scope.get("headers", ())))
        status = 500
        method = scope.get("method", "GET")
        tracer = self.tracing.tracer if self.tracing is not None else None
        span = trace_token = None
        if tracer is not None:
            # The parent is the caller's traceparent only: an in-process caller's context must not leak in.
            parent = context_from_headers(scope.get("headers", ()))
            span = tracer.start_span(
                method,
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": scope.get("path", ""), "request.id": request_id},
            )
            trace_token = otel_context.attach(trace.set_span_in_context(span, parent))
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                if not any(key.lower() == _NOSNIFF[0] for key, _ in headers):
                    headers.append(_NOSNIFF)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            if span is not None:
                span.record_exception(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template not in _UNTRACKED:
                self.metrics.requests.labels(method, template, str(status)).inc()
                self.metrics.latency.labels(method, template).observe(elapsed)
                self.log.info(
                    "%s %s %s",
                    method,
                    scope.get("path"),
                    status,
                    extra={
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "method": method,
                        "path": scope.get("path"),
                    },
                )
            if span is not None:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                if trace_token is not None:
                    otel_context.detach(trace_token)
                span.end()
            reset_request_id(token)
            reset_language(language_token)


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
            return JSONResponse(
                {"status": "unavailable", "service": service, "reason": str(exc)[:200]}, status_code=503
            )
        return Health(status="ok", service=service)

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        state = request.app.state
        if getattr(state, "dispatcher", None) is not None:
            backlog, lag, dead = await state.dispatcher.backlog()
            state.metrics.outbox_backlog.set(backlog)
            state.metrics.outbox_lag.set(lag)
            state.metrics.outbox_dead_letters.set(dead)
        state.metrics.observe_pool(state.engine, state.settings.database_max_overflow)
        if state.service_metrics is not None:
            await state.service_metrics.refresh(request.app)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _listen_url(settings: ServiceSettings) -> str | None:
    """Where the outbox's LISTEN connection goes: a transaction-mode PgBouncer would hand its LISTEN to
    whichever client runs next, so behind one only an explicit direct URL is used (polling otherwise)."""
    if settings.outbox_listen_url:
        return settings.outbox_listen_url
    return None if settings.database_transaction_pooling else settings.database_url


def retention_job(rules: Sequence[Retention]) -> BackgroundJob:
    """Prune what `rules` allow every `retention_interval_seconds`."""

    async def step(app: FastAPI) -> None:
        await prune(app.state.sessionmaker, rules, app.state.clock, app.state.settings)

    return periodic("retention", "retention_interval_seconds", step, log)


def _kick_dispatcher(app: FastAPI) -> Callable[[dict[str, Any]], None]:
    def kick(notes: dict[str, Any]) -> None:
        if notes.get("outbox_written") and app.state.dispatcher is not None:
            app.state.dispatcher.kick()

    return kick


def _document_problems(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """The app's OpenAPI document with the error responses it really sends: the format of shared/errors.py,
    and the problems each route's dependencies declare with `raises` (a role check's 403)."""
    generate = app.openapi
    declared = {
        (route.path_format, method.lower()): problems
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        if (problems := problems_raised_by(route))
        for method in route.methods or ()
    }
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not documented or documented[0] is not schema:  # FastAPI builds it anew when routes are added
            for (path, method), problems in declared.items():
                operation = schema.get("paths", {}).get(path, {}).get(method)
                if operation is not None:
                    add_problem_responses(operation.setdefault("responses", {}), *problems)
            for path, item in schema.get("paths", {}).items():  # what the edge middleware refuses (shared/edge.py)
                for operation in item.values():
                    if isinstance(operation, dict) and "responses" in operation:
                        edge = ([PathInvalid] if "{" in path else []) + (
                            [PayloadTooLarge] if "requestBody" in operation else []
                        )
                        add_problem_responses(operation["responses"], *edge)
            documented[:] = [document_problems(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
    metrics: Callable[[Metrics], ServiceMetrics] | None = None,
    span_exporter: SpanExporter | None = None,
    body_limits: Sequence[tuple[str, int]] = (),
    retention: Sequence[Retention] = (),
) -> FastAPI:
    """A service app with everything every service has; `transports` lets tests wire apps in-process and
    `span_exporter` collect its spans. `metrics` builds the service's own series (refreshed at scrape time).
    `body_limits`: other limits than `settings.max_request_bytes` under path prefixes. `retention`: what the
    service prunes, besides its delivered outbox rows and its inbox (shared/retention.py)."""
    clock = clock or system_clock
    for module in settings.channel_module_names():
        channels.load(module)  # the platform's own channels outside shared/channels: a wrong name stops the start
    pruned = [*event_retention(outbox, inbox), *retention]
    background = [*background, retention_job(pruned)]
    tracing = Tracing(name, settings, span_exporter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.start()
        engine = create_engine(settings)
        tracing.instrument(engine)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.clients = {
            service: ServiceClient(
                service,
                url,
                settings.internal_secret,
                timeout=settings.http_timeout_seconds,
                retries=settings.http_retries,
                transport=(transports or {}).get(service),
                tracer=tracing.tracer,
            )
            for service, url in settings.service_urls().items()
            if service != name
        }
        app.state.dispatcher = None
        if outbox is not None:
            listen = settings.outbox_listen and engine.dialect.name == "postgresql"
            app.state.outbox = Outbox(outbox, name, clock, notify=listen)
            app.state.dispatcher = OutboxDispatcher(
                outbox,
                app.state.sessionmaker,
                app.state.clients,
                name,
                clock,
                refusal_attempts=settings.outbox_refusal_attempts,
                batch_size=settings.outbox_batch_size,
                tracer=tracing.tracer,
                listen_url=_listen_url(settings) if listen else None,
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
                tasks.append(asyncio.create_task(dispatcher_job(app), name=f"{name}-outbox"))
            tasks.extend(asyncio.create_task(job(app), name=f"{name}-{job.__name__}") for job in background)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if on_shutdown is not None:
                await on_shutdown(app)
            for client in app.state.clients.values():
                await client.aclose()
            await engine.dispose()
            tracing.shutdown()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.retention = pruned
    app.state.metrics = Metrics(name)
    app.state.service_metrics = metrics(app.state.metrics) if metrics is not None else None
    app.state.tracing = tracing
    app.state.service_name = name
    install_error_handlers(app)
    _document_problems(app, routers)
    # Outermost first: the request id, then the path check, then the body's size, then the wait for a turn, then
    # the routes.
    app.add_middleware(
        Admission,
        limit=settings.max_concurrent_requests,
        wait_seconds=settings.admission_wait_seconds,
        waiting=app.state.metrics.db_pool_waiting,
    )
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, limits=body_limits)
    app.add_middleware(PathGuard)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics, tracing=tracing)
    app.include_router(_health_router(name, readiness))
    if inbox is not None:
        app.include_router(events_router(lambda: app.state.inbox))
    for router in routers:
        app.include_router(router)
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run a service with uvicorn. Its own X-Forwarded-For handling is off: it trusts loopback by default, and
    the gateway decides itself which proxies it believes (GATEWAY_TRUSTED_PROXIES)."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
