"""The ``sdk-floor`` variant: the OTel SDK's own share of the telemetry ours records, and nothing else.

The spans of ``otel-same`` (``_same_telemetry.py``) with their attributes computed once beforehand,
and its histogram measurements (counters summed, as ours does) recorded at the flush, off the timed
loop, as ours replays them; exported with our fast encoder. No content serialisation, result
reading, pricing or redaction: what ours records cannot cost less than this while it goes through
the OTel SDK. Carries no target.
"""

from __future__ import annotations

from typing import Any

from _measure import Setup
from _same_telemetry import Telemetry

__all__ = ["sdk_floor"]


def sdk_floor(workload: str, endpoint: str, sc: Any, model: str, messages: list[dict[str, str]],
              response: dict[str, Any], answer: str) -> Setup:
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    from agents_hub_monitoring.exporters.otlp_fast import FastOTLPSpanExporter

    spans, histograms, counters = _recorded(sc, workload, model, messages, response, answer)
    resource = Resource.create({"service.name": "bench-floor"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(FastOTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    meter = MeterProvider(resource=resource, metric_readers=[InMemoryMetricReader()],
                          exemplar_filter=AlwaysOffExemplarFilter()).get_meter("bench.floor")
    buckets = {sc.METRIC_OPERATION_DURATION: sc.DURATION_BUCKETS, sc.METRIC_TOKEN_USAGE: sc.TOKEN_BUCKETS,
               sc.METRIC_TOOL_DURATION: sc.DURATION_BUCKETS, sc.METRIC_AGENT_DURATION: sc.AGENT_DURATION_BUCKETS}
    instruments = {name: meter.create_histogram(name, explicit_bucket_boundaries_advisory=buckets[name])
                   for name, _, _ in histograms}
    records = [(instruments[name].record, value, attributes) for name, value, attributes in histograms]
    adds = [(meter.create_counter(name).add, value, attributes) for name, value, attributes in counters]
    start, client, calls = provider.get_tracer("bench.floor").start_as_current_span, SpanKind.CLIENT, [0]

    def tool(x: Any) -> Any:
        with start("execute_tool work", attributes=spans["execute_tool work"]):
            calls[0] += 1
            return x + 1

    async def async_tool(x: Any) -> Any:
        return tool(x)

    def agent(x: Any) -> str:
        with start("invoke_agent planner", attributes=spans["invoke_agent planner"]):
            for step in range(3):
                with start(f"chat {model}", kind=client, attributes=spans[f"chat {model}"]):
                    pass
                if step < 2:
                    with start("execute_tool search", attributes=spans["execute_tool search"]):
                        pass
        calls[0] += 1
        return answer

    def flush() -> None:
        for record, value, attributes in records * calls[0]:
            record(value, attributes)
        for add, value, attributes in adds:
            add(value * calls[0], attributes)
        calls[0] = 0
        provider.force_flush()

    call = {"sync": tool, "async": async_tool, "agent": agent}[workload]
    return Setup(call, 6 if workload == "agent" else 1, flush, provider.shutdown, workload == "async",
                 "start_as_current_span, precomputed")


Measurement = tuple[str, float, dict[str, Any]]


def _recorded(sc: Any, workload: str, model: str, messages: list[dict[str, str]], response: dict[str, Any],
              answer: str) -> tuple[dict[str, dict[str, Any]], list[Measurement], list[Measurement]]:
    """One call of the hand-written variant, kept: span attributes by name, and one run's histogram
    measurements (each point's mean, as often as it was recorded) and counter sums."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(provider.get_tracer("t"), MeterProvider(metric_readers=[reader]).get_meter("t"), sc)
    if workload == "agent":
        telemetry.agent_run(model, messages, response, answer)(0)
    else:
        telemetry.tool("work", lambda x: x + 1)(0)
    spans = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    histograms: list[Measurement] = []
    counters: list[Measurement] = []
    for resource in reader.get_metrics_data().resource_metrics:  # type: ignore[union-attr]
        for metric in (metric for scope in resource.scope_metrics for metric in scope.metrics):
            for point in metric.data.data_points:
                attributes = dict(point.attributes or {})
                if isinstance(point, HistogramDataPoint):
                    histograms += [(metric.name, point.sum / point.count, attributes)] * point.count
                else:
                    counters.append((metric.name, point.value, attributes))
    return spans, histograms, counters
