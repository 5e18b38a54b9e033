"""The ``otel-same`` variant: hand-written OpenTelemetry code that records what ours records.

The issue's baseline span carries 3 attributes and records no metric; ours records content, usage,
cost, finish reasons and outcome, plus the contract's histograms and counters. This variant is what
an engineer would write by hand for that same telemetry with the OTel API and the stock SDK: the
same span attributes (GenAI message JSON built per call, the usage read from the response, a cost
from hard-coded rates), the same instruments and metric attributes recorded on the calling thread,
the official OTLP/HTTP exporters, and the SDK defaults but one: exemplars off, as ours has none. No
redaction, no price lookup, no safety nets: "this telemetry, done by hand", carrying no target.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from _measure import Setup

__all__ = ["Telemetry", "same_telemetry"]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# gpt-4o-mini's list prices in USD per token, written into the code as a hand-writer would.
INPUT_RATE, OUTPUT_RATE = 0.15e-6, 0.6e-6


def same_telemetry(workload: str, endpoint: str, sc: Any, model: str, messages: list[dict[str, str]],
                   response: dict[str, Any], answer: str) -> Setup:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "bench-same"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
                                           export_interval_millis=3_600_000)  # as ours: recorded, not exported
    # No exemplars, as ours has none (its measurements are recorded off the calling thread).
    meters = MeterProvider(resource=resource, metric_readers=[reader], exemplar_filter=AlwaysOffExemplarFilter())
    telemetry = Telemetry(provider.get_tracer("bench.same"), meters.get_meter("bench.same"), sc)
    calls = {"sync": telemetry.tool("work", lambda x: x + 1),
             "async": telemetry.async_tool("work", lambda x: x + 1),
             "agent": telemetry.agent_run(model, messages, response, answer)}

    def close() -> None:
        provider.shutdown()
        meters.shutdown()

    return Setup(calls[workload], 6 if workload == "agent" else 1, provider.force_flush, close,
                 workload == "async", "start_as_current_span + metrics")


class Telemetry:
    """The hand-written instrumentation: one method per operation, each recording its span and metrics."""

    def __init__(self, tracer: Any, meter: Any, sc: Any) -> None:
        from opentelemetry.trace import SpanKind

        self.span, self.sc, self.client = tracer.start_as_current_span, sc, SpanKind.CLIENT

        def histogram(name: str, unit: str, buckets: tuple[float, ...]) -> Any:
            return meter.create_histogram(name, unit, explicit_bucket_boundaries_advisory=buckets)

        self.operation_duration = histogram(sc.METRIC_OPERATION_DURATION, "s", sc.DURATION_BUCKETS)
        self.token_usage = histogram(sc.METRIC_TOKEN_USAGE, "{token}", sc.TOKEN_BUCKETS)
        self.tool_duration = histogram(sc.METRIC_TOOL_DURATION, "s", sc.DURATION_BUCKETS)
        self.agent_duration = histogram(sc.METRIC_AGENT_DURATION, "s", sc.AGENT_DURATION_BUCKETS)
        self.cost = meter.create_counter(sc.METRIC_COST, "USD")
        self.tool_calls = meter.create_counter(sc.METRIC_TOOL_CALLS, "{call}")
        self.agent_runs = meter.create_counter(sc.METRIC_AGENT_RUNS, "{run}")
        self.agent_name: str | None = None

    def _tool_span(self, name: str, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        sc = self.sc
        attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: name,
                      sc.GEN_AI_TOOL_TYPE: "function", sc.GEN_AI_TOOL_CALL_ARGUMENTS: _json(arguments)}
        metric = {sc.GEN_AI_TOOL_NAME: name}
        if self.agent_name:
            metric[sc.GEN_AI_AGENT_NAME] = self.agent_name
        return self.span(f"execute_tool {name}", attributes=attributes), metric

    def _end_tool(self, span: Any, result: Any, metric: dict[str, Any], started: float) -> None:
        span.set_attributes({self.sc.GEN_AI_TOOL_CALL_RESULT: str(result), self.sc.OUTCOME: "success"})
        self.tool_duration.record(time.perf_counter() - started, metric)
        self.tool_calls.add(1, metric)

    def tool(self, name: str, body: Callable[[Any], Any], argument: str = "x") -> Callable[[Any], Any]:
        def call(x: Any) -> Any:
            started = time.perf_counter()
            scope, metric = self._tool_span(name, {argument: x})
            with scope as span:
                result = body(x)
                self._end_tool(span, result, metric, started)
            return result

        return call

    def async_tool(self, name: str, body: Callable[[Any], Any]) -> Callable[[Any], Any]:
        async def call(x: Any) -> Any:
            started = time.perf_counter()
            scope, metric = self._tool_span(name, {"x": x})
            with scope as span:
                result = body(x)
                self._end_tool(span, result, metric, started)
            return result

        return call

    def chat(self, model: str, messages: list[dict[str, str]], response: dict[str, Any]) -> dict[str, Any]:
        sc, started = self.sc, time.perf_counter()
        parts = [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in messages]
        attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: "openai",
                      sc.GEN_AI_REQUEST_MODEL: model, sc.GEN_AI_INPUT_MESSAGES: _json(parts)}
        with self.span(f"chat {model}", kind=self.client, attributes=attributes) as span:
            result = response  # the LLM call
            usage, choice = result["usage"], result["choices"][0]
            tokens_in, tokens_out = usage["prompt_tokens"], usage["completion_tokens"]
            cost = tokens_in * INPUT_RATE + tokens_out * OUTPUT_RATE
            span.set_attributes({
                sc.GEN_AI_USAGE_INPUT_TOKENS: tokens_in, sc.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
                sc.GEN_AI_RESPONSE_MODEL: result["model"], sc.GEN_AI_RESPONSE_ID: result["id"],
                sc.GEN_AI_RESPONSE_FINISH_REASONS: (choice["finish_reason"],),
                sc.GEN_AI_OUTPUT_MESSAGES: _json([{"role": "assistant", "parts": [
                    {"type": "text", "content": choice["message"]["content"]}],
                    "finish_reason": choice["finish_reason"]}]),
                sc.GEN_AI_USAGE_COST: cost, sc.GEN_AI_USAGE_COST_AMOUNT: cost,
                sc.GEN_AI_USAGE_COST_CURRENCY: "USD", sc.GEN_AI_USAGE_COST_SOURCE: "local"})
        metric = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: "openai",
                  sc.GEN_AI_REQUEST_MODEL: model, sc.GEN_AI_RESPONSE_MODEL: result["model"]}
        self.operation_duration.record(time.perf_counter() - started, metric)
        self.token_usage.record(tokens_in, {**metric, sc.GEN_AI_TOKEN_TYPE: "input"})
        self.token_usage.record(tokens_out, {**metric, sc.GEN_AI_TOKEN_TYPE: "output"})
        self.cost.add(cost, metric)
        return result

    def agent_run(self, model: str, messages: list[dict[str, str]], response: dict[str, Any],
                  answer: str) -> Callable[[Any], str]:
        sc = self.sc
        search = self.tool("search", lambda query: "3 results", "query")
        question = messages[-1]["content"]

        def planner(x: Any) -> str:
            started = time.perf_counter()
            attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "planner",
                          sc.GEN_AI_REQUEST_MODEL: model, sc.INPUT_VALUE: _json({"question": question})}
            self.agent_name = "planner"
            with self.span("invoke_agent planner", attributes=attributes) as span:
                for step in range(3):
                    self.chat(model, messages, response)
                    if step < 2:
                        search(question)
                span.set_attributes({sc.OUTPUT_VALUE: answer, sc.OUTCOME: "success"})
            self.agent_name = None
            metric = {sc.GEN_AI_AGENT_NAME: "planner", sc.GEN_AI_REQUEST_MODEL: model}
            self.agent_duration.record(time.perf_counter() - started, metric)
            self.agent_runs.add(1, metric)
            return answer

        return planner
