"""Composition: one monitor with several exporters, and several monitors combined."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agents_hub_monitoring import BaseMonitor
from agents_hub_monitoring.monitors.composite import combine
from agents_hub_monitoring.testing import CapturedTelemetry, RecordingSpanExporter, capture


def _monitor_with_capture(**kwargs):
    exporter, reader = RecordingSpanExporter(), InMemoryMetricReader()
    monitor = BaseMonitor(exporters=[exporter], metric_readers=[reader], **kwargs)
    return monitor, CapturedTelemetry(exporter, reader)


def test_one_monitor_many_exporters_get_the_same_spans():
    second = RecordingSpanExporter()
    with capture(exporters=[second]) as (monitor, telemetry):
        with monitor.agent_run("a"), monitor.tool_call("t"):
            pass
        assert [s.name for s in second.get_finished_spans()] == telemetry.span_names()


async def test_combined_monitors_each_receive_the_whole_trace_and_metrics():
    first, first_telemetry = _monitor_with_capture(name="first")
    second, second_telemetry = _monitor_with_capture(name="second", capture_content=False)
    both = combine(first, second)
    async with both.agent_run("agent", input="question", context={"conversation_id": "c"}):
        with both.llm_call("gpt-4o", provider="openai") as call:
            call.set_usage(input_tokens=10, output_tokens=5)
    await both.score_conversation("c", "quality", 0.5)
    both.shutdown()
    for telemetry in (first_telemetry, second_telemetry):
        assert telemetry.tree() == [(0, "invoke_agent agent"), (1, "chat gpt-4o"), (0, "evaluation quality")]
        (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
        assert duration["count"] == 1
    assert first_telemetry.spans()[0]["trace_id"] == second_telemetry.spans()[0]["trace_id"]
    assert first._closed and second._closed


def test_scores_reach_every_child():
    received: list[tuple[str, str]] = []

    class ScoringMonitor(BaseMonitor):
        def _submit_score(self, *, name, value, data_type, comment, conversation_id, metadata):
            received.append((self.name, name))

    both = combine(ScoringMonitor("one"), ScoringMonitor("two"))
    both.add_user_feedback("conv", 4)
    both.shutdown()
    assert received == [("one", "user_feedback"), ("two", "user_feedback")]


async def test_a_custom_members_own_hooks_are_called_too():
    calls: list[tuple[str, dict]] = []

    class CustomMonitor(BaseMonitor):
        async def track_llm_call(self, **kwargs):
            calls.append(("llm_call", kwargs))

        def track_event(self, name, properties=None, **kwargs):
            calls.append(("event", {"name": name}))
            return super().track_event(name, properties, **kwargs)

    first, first_telemetry = _monitor_with_capture(name="first")
    both = combine(first, CustomMonitor("custom"))
    await both.track_llm_call(provider="openai", model="gpt-4o", messages=[], conversation_id="c",
                              output_tokens=3)
    event_id = both.track_event("signup").id
    both.shutdown()
    assert calls == [("llm_call", {"provider": "openai", "model": "gpt-4o", "messages": [],
                                   "conversation_id": "c", "output_tokens": 3}),
                     ("event", {"name": "signup"})]
    assert event_id and first_telemetry.span_names().count("signup") == 1  # spans still created once


def test_an_unawaited_async_member_hook_is_closed_quietly(recwarn):
    import gc

    class AsyncHooks(BaseMonitor):
        async def track_error(self, error, context=None, **kwargs):
            raise AssertionError("never awaited, so never run")

    both = combine(AsyncHooks("a"))
    both.track_error("boom")
    gc.collect()
    both.shutdown()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
