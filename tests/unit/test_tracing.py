"""Traces: one trace from the gateway through intake, W3C traceparent between them, trace ids in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.intake import main as intake_main
from shared.clock import ManualClock
from shared.http import REQUEST_ID_HEADER, ServiceClient
from shared.logging import JsonFormatter
from tests.support import FACTORIES, METADATA, SERVICES, START, Databases, Stack, running_stack, service_settings, wipe


class JsonLines(logging.Handler):
    """Every log line as the services write it (JsonFormatter), parsed back: formatted where it was logged."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def of_request(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["request_id"] == request_id]


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[JsonLines]:
    caplog.set_level(logging.INFO)
    handler = JsonLines()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


@asynccontextmanager
async def traced_stack(databases: Databases, tmp: Path) -> AsyncIterator[tuple[Stack, dict[str, InMemorySpanExporter]]]:
    """The four services in-process (as tests.support.running_stack wires them), each keeping its spans."""
    exporters = {name: InMemorySpanExporter() for name in SERVICES}
    clock = ManualClock(START)
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    apps = {
        name: FACTORIES[name](
            service_settings(name, databases, tmp), clock=clock, transports=transports, span_exporter=exporters[name]
        )
        for name in SERVICES
    }
    for name, app in apps.items():
        transports[name] = httpx.ASGITransport(app=app)
    stack = Stack(apps=apps, clock=clock)
    async with AsyncExitStack() as exits:
        for name, app in apps.items():
            await exits.enter_async_context(app.router.lifespan_context(app))
            stack.clients[name] = await exits.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
        try:
            yield stack, exporters
        finally:
            for name, app in apps.items():
                await wipe(app.state.engine, METADATA[name])


def one(spans: tuple[ReadableSpan, ...] | list[ReadableSpan], kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def hex_trace(span: ReadableSpan) -> str:
    return format(span.context.trace_id, "032x")


async def test_a_request_through_the_gateway_is_one_trace_across_both_apps(
    databases: Databases, tmp_path: Path, log_lines: JsonLines
) -> None:
    async with traced_stack(databases, tmp_path) as (stack, exporters):
        response = await stack.gateway.get("/v1/regions")
        assert response.status_code == 200, response.text

    gateway_spans, intake_spans = exporters["gateway"].get_finished_spans(), exporters["intake"].get_finished_spans()
    g_server, g_client = one(gateway_spans, SpanKind.SERVER), one(gateway_spans, SpanKind.CLIENT)
    i_server = one(intake_spans, SpanKind.SERVER)
    assert g_server.resource.attributes["service.name"] == "gateway"
    assert i_server.resource.attributes["service.name"] == "intake"

    # One trace: gateway server -> gateway client (to intake) -> intake server, linked by traceparent.
    assert g_server.parent is None
    assert g_client.parent is not None and g_client.parent.span_id == g_server.context.span_id
    assert i_server.parent is not None and i_server.parent.is_remote
    assert i_server.parent.span_id == g_client.context.span_id
    assert g_server.context.trace_id == g_client.context.trace_id == i_server.context.trace_id

    assert (g_server.name, g_server.attributes["http.route"]) == ("GET /v1/{path:path}", "/v1/{path:path}")
    assert (i_server.name, i_server.attributes["http.route"]) == ("GET /v1/regions", "/v1/regions")
    assert i_server.attributes["http.request.method"] == "GET"
    assert i_server.attributes["http.response.status_code"] == g_client.attributes["http.response.status_code"] == 200
    assert g_client.attributes["peer.service"] == "intake"
    assert i_server.attributes["request.id"] == response.headers[REQUEST_ID_HEADER]
    assert not [s for s in exporters["compensation"].get_finished_spans() if s.kind == SpanKind.SERVER]

    # Each app's access line of this request (same request id in both) carries the trace id and its own span.
    lines = log_lines.of_request(response.headers[REQUEST_ID_HEADER])
    access = {line["logger"]: line for line in lines if line["logger"].endswith(".access")}
    assert set(access) == {"gateway.access", "intake.access"}
    assert all(line.get("trace_id") == hex_trace(i_server) for line in lines), lines
    assert access["intake.access"]["span_id"] == format(i_server.context.span_id, "016x")
    assert access["gateway.access"]["span_id"] == format(g_server.context.span_id, "016x")


async def test_a_callers_traceparent_is_continued_and_a_bad_one_starts_a_new_trace(
    databases: Databases, tmp_path: Path
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with traced_stack(databases, tmp_path) as (stack, exporters):
        ok = await stack.gateway.get("/v1/regions", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
        assert ok.status_code == 200
        g_server = one(exporters["gateway"].get_finished_spans(), SpanKind.SERVER)
        assert hex_trace(g_server) == trace_id and format(g_server.parent.span_id, "016x") == parent_id
        assert hex_trace(one(exporters["intake"].get_finished_spans(), SpanKind.SERVER)) == trace_id

        exporters["gateway"].clear()
        bad = await stack.gateway.get("/v1/regions", headers={"traceparent": "00-not-a-trace-01"})
        assert bad.status_code == 200
        g_server = one(exporters["gateway"].get_finished_spans(), SpanKind.SERVER)
        assert g_server.parent is None and hex_trace(g_server) != trace_id


async def test_a_scheduler_pass_is_a_span_and_its_log_lines_carry_its_trace_id(
    databases: Databases, tmp_path: Path, log_lines: JsonLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(app: Any) -> int:
        logging.getLogger("intake.scheduler").info("looking for due deadlines")
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake_main, "run_deadlines_once", broken)
    async with traced_stack(databases, tmp_path) as (stack, exporters):
        app = stack.apps["intake"]
        task = asyncio.create_task(intake_main.deadline_scheduler(app))
        try:
            for _ in range(200):  # the first pass runs at once; bounded wait for it
                if exporters["intake"].get_finished_spans():
                    break
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    job = one(exporters["intake"].get_finished_spans(), SpanKind.INTERNAL)
    assert job.name == "job deadlines" and job.parent is None and job.status.status_code == StatusCode.ERROR
    assert [e.name for e in job.events] == ["exception"]
    lines = [line for line in log_lines.lines if line["logger"] == "intake.scheduler"]
    assert [line["message"] for line in lines] == ["looking for due deadlines", "deadlines pass failed"]
    assert all(line["trace_id"] == hex_trace(job) for line in lines)
    assert "RuntimeError: database went away" in lines[-1]["exception"]


async def test_tracing_is_off_by_default_no_spans_no_trace_ids(
    databases: Databases, tmp_path: Path, log_lines: JsonLines
) -> None:
    async with running_stack(databases, tmp_path) as stack:
        assert all(app.state.tracing.tracer is None for app in stack.apps.values())
        response = await stack.gateway.get("/v1/regions")
        assert response.status_code == 200
    lines = log_lines.of_request(response.headers[REQUEST_ID_HEADER])
    assert {line["logger"] for line in lines} >= {"gateway.access", "intake.access"}
    assert not [line for line in lines if "trace_id" in line or "span_id" in line]


async def test_the_client_sends_its_own_span_as_traceparent_and_nothing_when_off() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if request.url.path == "/down" else 200)

    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    on = ServiceClient("intake", "http://intake", "s" * 32, transport=httpx.MockTransport(answer), tracer=tracer)
    off = ServiceClient("intake", "http://intake", "s" * 32, transport=httpx.MockTransport(answer))
    with tracer.start_as_current_span("caller") as caller:
        await on.request("GET", "/up")
        await on.send_stream(on.build_request("POST", "/down", identity=None, content=b"{}"))
        await off.request("GET", "/up")
    await on.aclose()
    await off.aclose()

    client_spans = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert [s.name for s in client_spans] == ["GET intake", "POST intake"]
    for request, span in zip(seen[:2], client_spans, strict=True):
        assert span.parent.span_id == caller.get_span_context().span_id
        version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
        assert (version, trace_id, span_id) == ("00", hex_trace(span), f"{span.context.span_id:016x}")
        assert int(flags, 16) & 1  # sampled
    assert client_spans[1].status.status_code == StatusCode.ERROR  # the 503
    assert "traceparent" not in seen[2].headers
    provider.shutdown()


async def test_each_sql_statement_is_a_span_inside_the_request_that_ran_it(
    databases: Databases, tmp_path: Path
) -> None:
    from tests.conftest import consumer
    from tests.factories import HOTEL, phone_of, settle_merchant, submit

    async with traced_stack(databases, tmp_path) as (stack, exporters):
        await settle_merchant(stack, HOTEL)
        await stack.deliver_events()
        exporters["intake"].clear()
        await submit(stack, consumer("usr_SQLSPANS"))
        submitted = exporters["intake"].get_finished_spans()
        exporters["intake"].clear()
        # Outside any span (an idle poll of the outbox): no SQL span, and so no trace of its own.
        await stack.apps["intake"].state.dispatcher.backlog()
        idle = exporters["intake"].get_finished_spans()

    server = one(submitted, SpanKind.SERVER)
    assert server.name == "POST /v1/complaints"
    sql = [
        s for s in submitted if s.kind == SpanKind.CLIENT and s.parent and s.parent.span_id == server.context.span_id
    ]
    statements = [s.attributes.get("db.statement") or s.attributes.get("db.query.text") or "" for s in sql]
    assert any(st.startswith("INSERT INTO") and "complaints" in st for st in statements), statements
    dialect = stack.apps["intake"].state.engine.dialect.name
    for span in sql:
        assert span.context.trace_id == server.context.trace_id
        assert dialect in (span.attributes.get("db.system"), span.attributes.get("db.system.name")), span.attributes
    # The statement as sent, with placeholders: the complainant's phone number is in no span.
    assert not [st for st in statements if phone_of("usr_SQLSPANS") in st or "usr_SQLSPANS" in st]
    assert idle == (), [s.name for s in idle]
