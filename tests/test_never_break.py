"""Instrumentation never breaks the host: failures forced inside each layer leave the user's result
unchanged, are logged once (rate-limited), and lose no other telemetry."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring.testing import RecordingSpanExporter, capture


class ExplodingExporter(SpanExporter):
    agents_hub_synchronous = True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("backend on fire")

    def shutdown(self) -> None:
        raise RuntimeError("cannot even shut down")


class ExplodingProcessor(SpanProcessor):
    def on_start(self, span, parent_context=None) -> None:
        raise RuntimeError("processor on_start failed")

    def on_end(self, span) -> None:
        raise RuntimeError("processor on_end failed")


def _agent_work(monitor) -> str:
    with monitor.agent_run("host") as run, monitor.llm_call("gpt-4o", provider="openai") as call:
        call.set_usage(input_tokens=3, output_tokens=4)
        run.set_output("result")
    return "result"


def _internal_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "agents_hub_monitoring"]


def test_failing_exporter_does_not_reach_the_user_nor_the_other_exporters(caplog):
    caplog.set_level(logging.WARNING)
    with capture(exporters=[ExplodingExporter()]) as (monitor, telemetry):
        for _ in range(5):
            assert _agent_work(monitor) == "result"
        assert len(telemetry.spans()) == 10  # the in-memory exporter beside it got everything
        stats = {s.name: s for s in monitor.export_stats}
        assert stats["ExplodingExporter"].failed == 10 and stats["ExplodingExporter"].errors == 10
    logged = [m for m in _internal_warnings(caplog) if "ExplodingExporter raised" in m]
    assert len(logged) == 1 and "backend on fire" in logged[0]


def test_failing_span_processor_is_contained(caplog):
    caplog.set_level(logging.WARNING)
    with capture(span_processors=[ExplodingProcessor()]) as (monitor, telemetry):
        assert _agent_work(monitor) == "result"
        assert _agent_work(monitor) == "result"
        assert len(telemetry.spans()) == 4
    assert len([m for m in _internal_warnings(caplog) if "ExplodingProcessor" in m]) == 1


def test_failing_metric_recording_keeps_the_span(caplog, monkeypatch):
    caplog.set_level(logging.WARNING)
    with capture() as (monitor, telemetry):
        def broken(**_: object) -> None:
            raise ValueError("meter exploded")
        # The recorder itself (behind the queue), whichever way the LLM call's end reaches it
        monkeypatch.setattr(monitor._instruments._inner, "record_llm_call", broken)
        assert _agent_work(monitor) == "result"
        assert telemetry.span("chat gpt-4o")["attributes"]["gen_ai.usage.output_tokens"] == 4
        assert telemetry.span("invoke_agent host")["status"] == "UNSET"
        assert telemetry.metric_points("gen_ai.client.operation.duration") == []  # the replay met the failure
        assert telemetry.metric_points("gen_ai.invoke_agent.duration")  # and went on with the next one
    assert any("meter exploded" in m for m in _internal_warnings(caplog))


def test_failing_price_lookup_keeps_tokens_and_metrics(monkeypatch):
    with capture() as (monitor, telemetry):
        def broken(**_: object) -> None:
            raise KeyError("price table corrupt")
        monkeypatch.setattr(monitor._pricing, "cost", broken)
        assert _agent_work(monitor) == "result"
        attributes = telemetry.span("chat gpt-4o")["attributes"]
        assert "gen_ai.usage.cost" not in attributes and attributes["gen_ai.usage.input_tokens"] == 3
        assert telemetry.metric_points("gen_ai.client.token.usage")


async def test_failing_hook_internals_never_raise(monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    with capture() as (monitor, _):
        def broken(*_: object) -> None:
            raise RuntimeError("turn table broken")
        monkeypatch.setattr(monitor._turns, "add", broken)
        result = await monitor.start_conversation(conversation_id="c", agent_name="a")
        assert result is None
        assert (await monitor.track_assistant_message(message="hi", conversation_id="c")) is not None
    assert any("turn table broken" in m for m in _internal_warnings(caplog))


def test_user_exception_passes_through_unchanged_with_traceback():
    def inner() -> None:
        raise LookupError("the user's own error")

    with capture() as (monitor, telemetry):
        with pytest.raises(LookupError) as raised, monitor.agent_run("a"), monitor.tool_call("t"):
            inner()
        frames = []
        tb = raised.value.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert frames[-1] == "inner"  # the traceback still ends where the user raised it
        assert telemetry.span("execute_tool t")["attributes"]["error.type"] == "LookupError"


def test_failing_span_start_gives_a_working_block(monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    with capture() as (monitor, _):
        def broken(*_: object, **__: object) -> None:
            raise RuntimeError("tracer broken")
        monkeypatch.setattr(monitor._tracer, "start_span", broken)
        with monitor.tool_call("t") as tool:
            tool.set_result("x")  # a non-recording handle: accepted, ignored
            value = 42
        assert value == 42
    assert any("tracer broken" in m for m in _internal_warnings(caplog))


def test_shutdown_is_bounded_when_exporter_shutdown_hangs():
    import threading
    import time

    release = threading.Event()

    class HangingExporter(RecordingSpanExporter):
        def shutdown(self) -> None:
            release.wait(30)

    with capture(exporters=[HangingExporter()], shutdown_timeout_s=0.3) as (monitor, _):
        started = time.monotonic()
        monitor.shutdown()
        elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 5  # bounded by shutdown_timeout_s, not by the hanging exporter (30 s)


def test_rate_limited_logging_says_how_many_were_suppressed(caplog, monkeypatch):
    import types

    from agents_hub_monitoring import _safety

    now = [1000.0]  # a fake clock: the interval passes without the test sleeping
    monkeypatch.setattr(_safety, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    caplog.set_level(logging.WARNING)
    target = logging.getLogger("agents_hub_monitoring.tests.rate_limit")  # own name: other threads may log too
    limiter = _safety.RateLimitedLogger(target, interval=60)
    assert limiter.warning("k", "first %s", "a") is True
    assert [limiter.warning("k", "again") for _ in range(3)] == [False, False, False]
    assert limiter.warning("other", "other key") is True  # keys are limited independently
    now[0] += 61
    assert limiter.warning("k", "later %s", "b") is True
    now[0] += 61
    assert limiter.warning("k", "quiet") is True  # the count restarts once reported
    messages = [record.getMessage() for record in caplog.records if record.name == target.name]
    assert messages == ["first a", "other key", "later b (3 similar messages suppressed)", "quiet"]


def test_exception_whose_str_raises_still_ends_the_span():
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    with capture() as (monitor, telemetry):
        with pytest.raises(Hostile), monitor.tool_call("t"):
            raise Hostile()

        @monitor.tool
        def decorated() -> None:
            raise Hostile()

        with pytest.raises(Hostile):
            decorated()
        spans = telemetry.spans()
        assert [s["name"] for s in spans] == ["execute_tool t", "execute_tool decorated"]
        error_type = Hostile.__qualname__  # a class defined in this test: its qualified name
        assert all(s["status"] == "ERROR" and s["attributes"]["error.type"] == error_type for s in spans)
        assert all(s["status_message"].startswith("Hostile: ") for s in spans)
        calls = telemetry.metric_points("agents_hub.tool.calls", error__type=error_type)
        assert sorted(p["attributes"]["gen_ai.tool.name"] for p in calls) == ["decorated", "t"]
