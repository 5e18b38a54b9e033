"""Bad input is recorded in a documented, sanitised form (or rejected at configuration time); it
never raises out of a track_* call or a span, and never loses the span."""

from __future__ import annotations

import math

import pytest

from agents_hub_monitoring import BaseMonitor, OTLPMonitor
from agents_hub_monitoring.testing import capture


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


def test_bad_token_counts_are_dropped_not_raised(monitor, telemetry):
    for value in (None, float("nan"), -5, "12", 3.9, True, object()):
        with monitor.llm_call("gpt-4o") as call:
            call.set_usage(input_tokens=value, output_tokens=value)
    spans = telemetry.spans()
    assert len(spans) == 7
    recorded = [s["attributes"].get("gen_ai.usage.input_tokens") for s in spans]
    assert recorded == [None, None, None, 12, 3, None, None]  # digits parsed, floats floored, rest dropped


def test_cyclic_non_serialisable_and_huge_content(monitor, telemetry):
    cyclic: dict = {"name": "loop"}
    cyclic["self"] = cyclic
    huge = "x" * 1_000_000
    with monitor.tool_call("t", arguments={"cyclic": cyclic, "obj": Unprintable(), "raw": b"\x00\xff"}) as tool:
        tool.set_result(huge)
    attributes = telemetry.span("execute_tool t")["attributes"]
    assert "<cycle>" in attributes["gen_ai.tool.call.arguments"]
    assert "Unprintable" in attributes["gen_ai.tool.call.arguments"]
    result = attributes["gen_ai.tool.call.result"]
    assert len(result) <= 10_000 and "truncated" in result


def test_non_string_ids_are_stringified(monitor, telemetry):
    import uuid

    conversation = uuid.UUID(int=7)
    monitor.track_event("e", conversation_id=conversation, user_id=12345)
    attributes = telemetry.span("e")["attributes"]
    assert attributes["gen_ai.conversation.id"] == str(conversation) and attributes["user.id"] == "12345"


def test_wrong_types_everywhere_never_raise(monitor, telemetry):
    assert monitor.track_event(None, properties=Unprintable()).id
    assert monitor.track_error(None).id
    assert monitor.track_error(Unprintable()).id
    assert monitor.track_tool_usage(tool_name=None, input_data=Unprintable(), output_data={1, 2}).id
    assert monitor.track_llm_result(result=Unprintable(), input_tokens="lots", cost=math.nan).id
    assert monitor.track_agent_run(agent_name=42, duration_s="slow").id
    with monitor.agent_run(None, context={"conversation_id": 3.5, "tags": 7}) as run:
        run.set_attribute("weird", Unprintable())
        run.set_attributes({1: 2})
    assert telemetry.span_names() == ["event", "error _OTHER", "error _OTHER", "execute_tool tool", "chat",
                                      "invoke_agent 42", "invoke_agent agent"]


@pytest.mark.parametrize("kwargs, message", [
    ({"sample_rate": 1.5}, "sample_rate"),
    ({"shutdown_timeout_s": 0}, "shutdown_timeout_s"),
    ({"exporters": ["not an exporter"]}, "SpanExporter"),
    ({"name": ""}, "name"),
    ({"max_open_turns": 0}, "max_open_turns"),
])
def test_bad_configuration_raises_value_error_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BaseMonitor(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"protocol": "http/json"}, "protocol"),
    ({"endpoint": "localhost:4318"}, "endpoint"),
    ({"headers": "novalue"}, "headers"),
    ({"compression": "brotli"}, "compression"),
    ({"timeout_s": -1}, "timeout_s"),
])
def test_bad_otlp_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OTLPMonitor(**kwargs)


def test_secrets_given_to_a_monitor_stay_out_of_repr_logs_and_spans(caplog):
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    monitor = OTLPMonitor(endpoint=f"http://user:{secret}@127.0.0.1:9", headers={"authorization": f"Bearer {secret}"},
                          timeout_s=0.2, shutdown_timeout_s=0.5)
    assert secret not in repr(monitor) and secret not in str(monitor.otlp)
    with pytest.raises(ValueError) as bad:
        OTLPMonitor(endpoint=f"ftp://user:{secret}@127.0.0.1:9")
    assert secret not in str(bad.value)
    monitor.shutdown()
    assert secret not in caplog.text


def test_secret_in_content_is_redacted_before_export():
    with capture() as (monitor, telemetry):
        with monitor.tool_call("deploy", arguments={"api_key": "sk-ant-api03-" + "a" * 40, "region": "eu"}):
            pass
        arguments = telemetry.span("execute_tool deploy")["attributes"]["gen_ai.tool.call.arguments"]
    assert "sk-ant-api03" not in arguments and "eu" in arguments


def test_span_apis_never_raise_on_wrong_argument_types(monitor, telemetry):
    with monitor.agent_run("a", context={"metadata": "not a mapping", 3: "x"}, attributes=["wrong"]) as run:
        with monitor.llm_call(42, provider=7, parameters="temperature=1", messages=object()) as call:
            call.set_usage(input_tokens=1)
        with monitor.tool_call(None, arguments=Unprintable(), attributes={"ok": 1, "none": None}):
            pass
        run.set_output(Unprintable())
    with monitor.agent_run("b", context=["not", "a", "mapping"]), monitor.conversation("c", metadata=42):
        pass
    assert telemetry.span_names() == ["chat 42", "execute_tool tool", "invoke_agent a", "invoke_agent b"]
    attributes = telemetry.span("invoke_agent a")["attributes"]
    assert attributes["agents_hub.metadata.metadata"] == "not a mapping"
    assert attributes["agents_hub.metadata.3"] == "x"
    assert telemetry.span("chat 42")["attributes"]["gen_ai.provider.name"] == "7"
    assert telemetry.span("execute_tool tool")["attributes"]["ok"] == 1


def test_handle_setters_accept_wrong_types(monitor, telemetry):
    def documents():
        yield "not consumed"

    with monitor.retrieval("kb") as retrieval:
        retrieval.set_documents(None, scores=3)
    with monitor.retrieval("kb2") as retrieval:
        retrieval.set_documents(documents())
    with monitor.llm_call("m") as call:
        call.set_response(finish_reasons=123)
    with monitor.moderation_check() as check:
        check.set_result(True, categories="violence")
    with monitor.memory_operation(store="s") as memory:
        memory.set_result([1, 2], count="many")
    with monitor.span("plain") as span:
        span.set_attributes(None)
        span.add_event("e", [1, 2])
    assert telemetry.span("retrieval kb")["attributes"]["agents_hub.result.count"] == 0
    assert telemetry.span("retrieval kb2")["attributes"]["agents_hub.result.count"] == 1
    assert telemetry.span("chat m")["attributes"]["gen_ai.response.finish_reasons"] == ("123",)
    guard = telemetry.span("apply_guardrail moderation")["attributes"]
    assert guard["agents_hub.moderation.category"] == "violence"
    assert guard["agents_hub.moderation.categories"] == ("violence",)
    assert telemetry.span("search_memory")["attributes"]["agents_hub.result.count"] == 2
    assert all(s["status"] == "UNSET" for s in telemetry.spans())


def test_monitor_used_after_shutdown_records_nothing_and_stays_quiet(caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with capture() as (monitor, telemetry):
        monitor.shutdown()
        caplog.clear()
        for _ in range(20):
            with monitor.agent_run("late") as run:
                run.set_output("x")
            assert monitor.track_event("late").id is None
            assert monitor.track_error("late").id is None
            assert monitor.start_conversation(conversation_id="c").id is None
        assert telemetry.spans() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("kwargs", [{"duration_s": 1e300}, {"duration_s": -5}, {"latency_ms": -100},
                                    {"duration_s": float("inf")}, {"duration_s": float("nan")}])
def test_nonsense_durations_give_a_zero_length_span(monitor, telemetry, kwargs):
    monitor.track_agent_run(agent_name="timed", **kwargs)
    span = telemetry.span("invoke_agent timed")
    assert span["duration_s"] == 0
    (duration,) = telemetry.metric_points("gen_ai.invoke_agent.duration")
    assert duration["count"] == 1 and duration["sum"] == 0


def test_huge_names_are_cut(monitor, telemetry):
    with monitor.agent_run("a" * 100_000, model="m" * 100_000):
        pass
    (span,) = telemetry.spans()
    assert len(span["name"]) <= 300 and len(span["attributes"]["gen_ai.agent.name"]) == 256
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert len(runs["attributes"]["gen_ai.request.model"]) == 256
