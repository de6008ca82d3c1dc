"""Traces across the services: a server span per request, a client span per internal call and per SQL statement,
W3C `traceparent`.

Off unless `trace_exporter` names an exporter (none, the default, costs one attribute check per request).
When on, each app has a TracerProvider of its own, named after its service (several apps may share a
process, as in the tests), started and shut down with the app's lifespan. The parent of a server span
comes only from the request's `traceparent` header, never from whatever context the caller's task had.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine

PROPAGATOR = TraceContextTextMapPropagator()
_CARRIED = (b"traceparent", b"tracestate")


def context_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> Context:
    """The caller's trace context from ASGI headers; an empty context (a new trace) when there is none."""
    carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in headers if key in _CARRIED}
    return PROPAGATOR.extract(carrier) if carrier else Context()


def inject(headers: MutableMapping[str, str] | Any) -> None:
    """Put the current span's `traceparent` (and `tracestate`) into outgoing headers."""
    PROPAGATOR.inject(headers)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span current here, or None when there is none."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class Tracing:
    """One app's tracer: None while tracing is off, so callers test `tracing.tracer is None` and skip spans."""

    def __init__(self, service: str, settings: ServiceSettings, exporter: SpanExporter | None = None) -> None:
        self.service = service
        self.settings = settings
        self.exporter = exporter  # tests pass an InMemorySpanExporter; otherwise settings.trace_exporter decides
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer | None = None

    @property
    def enabled(self) -> bool:
        return self.exporter is not None or self.settings.trace_exporter != "none"

    def start(self) -> None:
        if not self.enabled or self.provider is not None:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        from shared.tracing_sampler import InsideWork

        settings = self.settings
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": self.service, "deployment.environment.name": settings.environment}
            ),
            sampler=ParentBased(InsideWork(TraceIdRatioBased(settings.trace_sample_ratio))),
            shutdown_on_exit=False,  # the lifespan shuts it down
        )
        if self.exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        elif settings.trace_exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(service_name=self.service)))
        elif settings.trace_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Batched, sent from the processor's own thread: a slow collector never holds up a request.
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.trace_endpoint)))
        self.provider = provider
        self.tracer = provider.get_tracer("assured-tour")

    def instrument(self, engine: AsyncEngine) -> None:
        """A client span per SQL statement the engine runs, inside the span current there (a request's, a job
        pass's); a statement outside any span (an idle poll) is not recorded (the sampler's `InsideWork`). The
        statement's text is recorded, never its parameters.

        The instrumentation's own `SQLAlchemyInstrumentor` instruments once per process, and several apps share
        one in the tests, so each engine gets the tracer that instrumentor builds, `EngineTracer`, itself."""
        if self.tracer is None:
            return
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.metrics import NoOpMeterProvider

        usage = NoOpMeterProvider().get_meter("assured-tour").create_up_down_counter("db.client.connections.usage")
        EngineTracer(self.tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]  # not annotated

    def shutdown(self) -> None:
        """Flush what is pending and stop; the next lifespan starts a new provider."""
        provider, self.provider, self.tracer = self.provider, None, None
        if provider is not None:
            provider.shutdown()
