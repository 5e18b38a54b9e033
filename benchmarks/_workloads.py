"""One benchmark variant, measured in a fresh process: ``python _workloads.py '<json config>'``.

Variants: ``none`` (no instrumentation), ``otel`` (a hand-written OTel span: start_as_current_span
with 3 attributes, BatchSpanProcessor, official OTLP/HTTP exporter), ``otel-same`` (hand-written OTel
code recording the telemetry ours records, ``_same_telemetry.py``), ``sdk-floor`` (only the SDK's
share of that telemetry, ``_sdk_floor.py``) and ``ours`` (OTLPMonitor with metrics on, content
capture at its default), with our span exporter's encoding forced to the fast or the stock path.
Workloads: a trivial ``sync`` or ``async`` function (decorated once ``BaseMonitor`` has decorators,
else wrapped in ``tool_call``), and a 6-span ``agent`` run (1 agent, 3 LLM calls with usage, 2 tools;
decorated functions, or context managers and handles).

Prints one JSON line with the figures of ``_measure.measure``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _measure import Setup, measure
from _same_telemetry import same_telemetry
from _sdk_floor import sdk_floor

__all__ = ["main"]

MODEL, QUESTION, ANSWER = "gpt-4o-mini", "What is the weather in Paris?", "Sunny, 21 degrees."
MESSAGES = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": QUESTION}]
RESPONSE = {  # an OpenAI chat completion, as model_dump() gives it: usage is read from here
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
    "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
}


def plain(workload: str) -> Setup:
    def work(x: int) -> int:
        return x + 1

    async def awork(x: int) -> int:
        return x + 1

    def agent(x: int) -> str:
        for step in range(3):
            work(step)
            if step < 2:
                work(step)
        return ANSWER

    calls = {"sync": work, "async": awork, "agent": agent}
    return Setup(calls[workload], 0, is_async=workload == "async")


def _semconv() -> Any:
    """Our attribute names, loaded without importing the package (its import would count in the
    hand-written variant's memory and start-up)."""
    package = importlib.util.find_spec("agents_hub_monitoring")
    path = Path(package.origin).parent / "telemetry" / "semconv.py"  # type: ignore[union-attr,arg-type]
    spec = importlib.util.spec_from_file_location("_bench_semconv", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def handwritten(workload: str, endpoint: str) -> Setup:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    sc = _semconv()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-handwritten"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    tracer = provider.get_tracer("bench.handwritten")
    span = tracer.start_as_current_span
    tool = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "work", sc.GEN_AI_TOOL_TYPE: "function"}

    def work(x: int) -> int:
        with span("execute_tool work", attributes=tool):
            return x + 1

    async def awork(x: int) -> int:
        with span("execute_tool work", attributes=tool):
            return x + 1

    llm = {sc.GEN_AI_REQUEST_MODEL: MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS: 120, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 30}
    agent_attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "planner",
                        sc.GEN_AI_REQUEST_MODEL: MODEL}
    search = {**tool, sc.GEN_AI_TOOL_NAME: "search"}

    def agent(x: int) -> str:
        with span("invoke_agent planner", attributes=agent_attributes):
            for step in range(3):
                with span(f"chat {MODEL}", kind=SpanKind.CLIENT, attributes=llm):
                    pass
                if step < 2:
                    with span("execute_tool search", attributes=search):
                        pass
        return ANSWER

    calls = {"sync": work, "async": awork, "agent": agent}
    return Setup(calls[workload], 6 if workload == "agent" else 1, provider.force_flush, provider.shutdown,
                 workload == "async", "start_as_current_span")


def ours(workload: str, endpoint: str, encoder: str, api: str = "auto", content: bool = True) -> Setup:
    from agents_hub_monitoring.exporters.otlp_fast import FastOTLPSpanExporter
    from agents_hub_monitoring.monitors.base import BaseMonitor
    from agents_hub_monitoring.monitors.otlp import OTLPMonitor

    monitor = OTLPMonitor(endpoint=endpoint, export_metrics=True, metric_export_interval_ms=3_600_000,
                          capture_content=None if content else False, service_name="bench-ours")
    exporter = monitor._pipeline.span_exporters[0].inner
    default = "fast" if isinstance(exporter, FastOTLPSpanExporter) and exporter.fast_encoding else "stock"
    if not isinstance(exporter, FastOTLPSpanExporter):  # before the wiring: same object, our export method
        exporter.__class__ = FastOTLPSpanExporter
    exporter.fast_encoding = encoder == "fast"

    def flush() -> None:
        # Metrics are recorded (replayed) if the monitor defers them, but not exported: the reader
        # exports once per interval, not once per benchmark repetition.
        replay = getattr(monitor._instruments, "replay", None)
        if replay is not None:
            replay()
        monitor.tracer_provider.force_flush()

    decorated = api == "auto" and all(hasattr(BaseMonitor, name) for name in ("agent", "llm", "tool"))
    if workload == "agent":
        call = _decorated_agent(monitor) if decorated else _agent_run(monitor)
    elif decorated:
        call = _decorated(monitor, workload == "async")
    else:
        call = _tool_calls(monitor, workload == "async")
    return Setup(call, 6 if workload == "agent" else 1, flush, monitor.shutdown, workload == "async",
                 "decorators" if decorated else "context managers", f"{encoder} (default: {default})")


def _decorated(monitor: Any, is_async: bool) -> Callable[[int], Any]:
    @monitor.tool
    def work(x: int) -> int:
        return x + 1

    @monitor.tool
    async def awork(x: int) -> int:
        return x + 1

    return awork if is_async else work


def _tool_calls(monitor: Any, is_async: bool) -> Callable[[int], Any]:
    # What a decorator does with content capture on: the arguments in, the result out.
    def work(x: int) -> int:
        with monitor.tool_call("work", arguments={"x": x}) as call:
            result = x + 1
            call.set_result(result)
            return result

    async def awork(x: int) -> int:
        async with monitor.tool_call("work", arguments={"x": x}) as call:
            result = x + 1
            call.set_result(result)
            return result

    return awork if is_async else work


def _agent_run(monitor: Any) -> Callable[[int], str]:
    def agent(x: int) -> str:
        with monitor.agent_run("planner", input=QUESTION, model=MODEL) as run:
            for step in range(3):
                with monitor.llm_call(MODEL, provider="openai", messages=MESSAGES) as llm:
                    llm.set_usage(input_tokens=120, output_tokens=30)
                    llm.set_output(ANSWER)
                if step < 2:
                    with monitor.tool_call("search", arguments={"query": QUESTION}) as tool:
                        tool.set_result("3 results")
            run.set_output(ANSWER)
        return ANSWER

    return agent


def _decorated_agent(monitor: Any) -> Callable[[int], str]:
    @monitor.llm(model=MODEL, provider="openai")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        return RESPONSE

    @monitor.tool
    def search(query: str) -> str:
        return "3 results"

    @monitor.agent(name="planner", model=MODEL)
    def planner(question: str) -> str:
        for step in range(3):
            chat(MESSAGES)
            if step < 2:
                search(question)
        return ANSWER

    return lambda x: planner(QUESTION)


def main() -> None:
    config = json.loads(sys.argv[1])
    variant, workload, endpoint = config["variant"], config["workload"], config["endpoint"]
    if variant == "none":
        setup = plain(workload)
    elif variant == "otel":
        setup = handwritten(workload, endpoint)
    elif variant in ("otel-same", "sdk-floor"):
        build = same_telemetry if variant == "otel-same" else sdk_floor
        setup = build(workload, endpoint, _semconv(), MODEL, MESSAGES, RESPONSE, ANSWER)
    else:
        setup = ours(workload, endpoint, config["encoder"], config.get("api", "auto"), config.get("content", True))
    print(json.dumps(measure(setup, config)))


if __name__ == "__main__":
    main()
