"""An LLM call's end is finished off the calling thread (monitors/llm_end.py, telemetry/pending.py).

What users rely on: the exported span and the metrics say what the call was given and returned at
the time of the call, whoever reads them first; span processors given to the monitor see finished
spans; a result that cannot be read costs its own attributes only.
"""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents_hub_monitoring import BaseMonitor, combine
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.testing import CapturedTelemetry, RecordingSpanExporter, capture

RESPONSE = {
    "id": "chatcmpl-9", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Sunny."}}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
}


def _chat(monitor):
    @monitor.llm(model="gpt-4o-mini", provider="openai")
    def chat(messages: list[dict[str, str]]) -> dict:
        return RESPONSE

    return chat


def _batched(**kwargs):
    """A monitor whose exporter gets spans from the batch processor (at flush), and that exporter."""
    exporter = InMemorySpanExporter()
    return BaseMonitor(exporters=[exporter], batch=True, **kwargs), exporter


def test_messages_changed_after_the_call_are_recorded_as_they_were():
    monitor, exporter = _batched()
    chat = _chat(monitor)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    chat(messages)
    messages.append({"role": "assistant", "content": "appended by the agent loop"})
    messages[0]["content"] = "edited afterwards"
    monitor.flush()
    (span,) = exporter.get_finished_spans()
    monitor.shutdown()
    recorded = json.loads(span.attributes["gen_ai.input.messages"])
    assert recorded == [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]


def test_span_and_metrics_agree_on_usage_and_cost():
    with capture() as (monitor, telemetry):
        chat = _chat(monitor)
        chat([{"role": "user", "content": "hi"}])
        chat([{"role": "user", "content": "hi again"}])
        monitor.flush()
        spans = [s for s in telemetry.spans() if s["name"] == "chat gpt-4o-mini"]
        tokens = telemetry.metric_points("gen_ai.client.token.usage", gen_ai__token__type="input")
        cost = telemetry.metric_points(sc.METRIC_COST)
    attributes = [span["attributes"] for span in spans]
    assert [a["gen_ai.usage.input_tokens"] for a in attributes] == [1200, 1200]
    assert all(a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18" for a in attributes)
    assert all(a["gen_ai.response.finish_reasons"] == ("stop",) for a in attributes)
    assert all(a["gen_ai.response.id"] == "chatcmpl-9" for a in attributes)
    assert tokens[0]["sum"] == 2400 and tokens[0]["count"] == 2
    assert tokens[0]["attributes"]["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    span_cost = sum(a["gen_ai.usage.cost"] for a in attributes)
    assert span_cost > 0 and abs(cost[0]["value"] - span_cost) < 1e-12


def test_metrics_read_before_the_export_see_the_same_call():
    # The metric replay finishes the call first here: the span exported later says the same.
    reader = InMemoryMetricReader()
    monitor, exporter = _batched(metric_readers=[reader])
    _chat(monitor)([{"role": "user", "content": "hi"}])
    telemetry = CapturedTelemetry(RecordingSpanExporter(), reader)
    assert telemetry.metric_points("gen_ai.client.token.usage", gen_ai__token__type="output")[0]["sum"] == 300
    assert exporter.get_finished_spans() == ()  # not exported yet
    monitor.flush()
    (span,) = exporter.get_finished_spans()
    monitor.shutdown()
    assert span.attributes["gen_ai.usage.output_tokens"] == 300
    assert span.attributes["gen_ai.usage.cost"] == telemetry.metric_points(sc.METRIC_COST)[0]["value"]


def test_span_processors_given_to_the_monitor_see_finished_spans():
    seen = InMemorySpanExporter()
    with capture(span_processors=[SimpleSpanProcessor(seen)]) as (monitor, _):
        @monitor.tool
        def search(query: str) -> str:
            return "3 results"

        _chat(monitor)([{"role": "user", "content": "hi"}])
        search("paris")
    spans = {span.name: dict(span.attributes) for span in seen.get_finished_spans()}
    llm, tool = spans["chat gpt-4o-mini"], spans["execute_tool search"]
    assert llm["gen_ai.usage.output_tokens"] == 300 and llm["gen_ai.usage.cost"] > 0
    assert "Sunny." in llm["gen_ai.output.messages"]
    assert tool["agents_hub.outcome"] == "success" and tool["gen_ai.tool.call.result"] == "3 results"


def test_every_member_of_a_combined_monitor_gets_the_finished_span():
    with capture() as (first, first_telemetry), capture() as (second, second_telemetry):
        both = combine(first, second)
        _chat(both)([{"role": "user", "content": "hi"}])
        both.flush()
        for telemetry in (first_telemetry, second_telemetry):
            attributes = telemetry.span("chat gpt-4o-mini")["attributes"]
            assert attributes["gen_ai.usage.input_tokens"] == 1200
            assert "Sunny." in attributes["gen_ai.output.messages"]


class _Unreadable:
    """A result whose usage raises when read (a broken SDK object or proxy)."""

    model = "gpt-4o-mini"

    @property
    def usage(self) -> object:
        raise RuntimeError("usage exploded")


def test_an_unreadable_result_costs_only_its_own_attributes(caplog):
    caplog.set_level(logging.WARNING)
    with capture() as (monitor, telemetry):
        @monitor.llm(model="gpt-4o-mini", provider="openai")
        def chat(messages: list[dict[str, str]]) -> _Unreadable:
            return _Unreadable()

        assert isinstance(chat([{"role": "user", "content": "hi"}]), _Unreadable)
        monitor.flush()
        span = telemetry.span("chat gpt-4o-mini")
        durations = telemetry.metric_points("gen_ai.client.operation.duration")
    assert span["status"] == "UNSET" and span["end_time"] >= span["start_time"]
    assert span["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert "gen_ai.input.messages" in span["attributes"]  # finished before the result was read
    assert "gen_ai.usage.input_tokens" not in span["attributes"]
    assert durations and durations[0]["count"] == 1
    assert any("usage exploded" in record.getMessage() for record in caplog.records)


def test_a_tool_left_open_when_its_turn_closes_stays_unfinished():
    with capture() as (monitor, telemetry):
        monitor.start_conversation(conversation_id="c", agent_name="a")
        monitor.track_tool_usage(tool_name="search", input_data={"q": "x"}, output_data=None, conversation_id="c")
        monitor.end_conversation(conversation_id="c")
        assert telemetry.span("execute_tool search")["attributes"]["agents_hub.outcome"] == "unfinished"


def test_late_attributes_keep_the_sdk_limits(monkeypatch):
    # OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT hold for what the end adds:
    # the start attributes stay, what does not fit is counted as dropped, long text is cut.
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5")
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8")
    with capture() as (monitor, telemetry):
        @monitor.tool
        def search(query: str) -> str:
            return "a long list of results"

        search("paris")
        (span,) = telemetry.exporter.get_finished_spans()
    attributes = dict(span.attributes)
    assert attributes["gen_ai.tool.name"] == "search" and attributes["gen_ai.operation.name"] == "execute_"
    assert len(attributes) == 5 and span.dropped_attributes == 1
    assert all(len(value) <= 8 for value in attributes.values() if isinstance(value, str))


def test_an_llm_call_reaching_several_pipelines_is_read_and_priced_once(monkeypatch):
    from agents_hub_monitoring.monitors import llm_end

    calls = []
    original = llm_end.LLMEnd._finish

    def counted(self, attributes):
        calls.append(self)
        original(self, attributes)

    monkeypatch.setattr(llm_end.LLMEnd, "_finish", counted)
    seen = InMemorySpanExporter()
    with capture(span_processors=[SimpleSpanProcessor(seen)]) as (first, first_telemetry), \
            capture() as (second, second_telemetry):
        both = combine(first, second)
        _chat(both)([{"role": "user", "content": "hi"}])
        both.flush()
        outputs = {t.span("chat gpt-4o-mini")["attributes"]["gen_ai.output.messages"]
                   for t in (first_telemetry, second_telemetry)}
    assert len(calls) == 1 and len(outputs) == 1
    assert seen.get_finished_spans()[0].attributes["gen_ai.output.messages"] in outputs


def test_our_own_span_processors_leave_the_llm_end_to_the_export_thread(monkeypatch):
    # LangfuseMonitor, ConsoleMonitor and combine() add span processors of their own; none of them
    # reads what a span gets at its end, so the call's end stays off the calling thread with them.
    from agents_hub_monitoring.exporters.console import OpenSpanTracker
    from agents_hub_monitoring.monitors import llm_end
    from agents_hub_monitoring.monitors.langfuse import TraceNameProcessor

    finished = []
    original = llm_end.LLMEnd._finish

    def counted(self, attributes):
        finished.append(self)
        original(self, attributes)

    monkeypatch.setattr(llm_end.LLMEnd, "_finish", counted)
    first, first_exporter = _batched(span_processors=[TraceNameProcessor(), OpenSpanTracker()])
    second, second_exporter = _batched()
    both = combine(first, second)
    _chat(both)([{"role": "user", "content": "hi"}])
    assert finished == []  # the call returned without reading its result
    both.flush()
    for exporter in (first_exporter, second_exporter):
        (span,) = exporter.get_finished_spans()
        assert span.attributes["gen_ai.usage.output_tokens"] == 300
    assert len(finished) == 1
    for monitor in (both, first, second):
        monitor.shutdown()


def test_a_result_that_cannot_be_read_still_leaves_the_call_priced(caplog):
    caplog.set_level(logging.WARNING)
    with capture() as (monitor, telemetry):
        with monitor.llm_call("gpt-4o-mini", provider="openai") as call:
            call.set_usage(input_tokens=1000, output_tokens=100)  # known before the result is read
            call.set_result(_Unreadable())
        attributes = telemetry.span("chat gpt-4o-mini")["attributes"]
        cost = telemetry.metric_points(sc.METRIC_COST)
    assert attributes["gen_ai.usage.input_tokens"] == 1000
    assert attributes["gen_ai.usage.cost"] > 0 and cost[0]["value"] == attributes["gen_ai.usage.cost"]
    assert any("usage exploded" in record.getMessage() for record in caplog.records)
