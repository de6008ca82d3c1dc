"""The root sampler of every service's traces (imported only when tracing is on: the SDK is loaded then)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes


class InsideWork(Sampler):
    """Decides the spans that would start a trace of their own: a client span there (an SQL statement or a call
    made outside any request or job pass, such as an idle poll of the outbox) is not recorded; any other is left
    to `ratio`. Spans with a parent follow their parent (`ParentBased` around this)."""

    def __init__(self, ratio: Sampler) -> None:
        self.ratio = ratio

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self.ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"InsideWork{{{self.ratio.get_description()}}}"
