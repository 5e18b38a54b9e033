"""OTLPMonitor round trips: spans and metrics over HTTP and gRPC to a local receiver decoding OTLP."""

from __future__ import annotations

import pytest
from receivers import OTLPGRPCReceiver, OTLPHTTPReceiver

from agents_hub_monitoring import OTLPMonitor


def _run_agent(monitor: OTLPMonitor) -> None:
    with monitor.agent_run("planner", context={"conversation_id": "c1", "user_id": "u1"}, input="go") as run:
        with monitor.llm_call("gpt-4o", provider="openai", parameters={"temperature": 0.1}) as call:
            call.set_usage(input_tokens=100, output_tokens=20)
            call.set_response(finish_reasons=["stop"])
        with pytest.raises(ValueError), monitor.tool_call("calc", arguments={"x": 1}):
            raise ValueError("division by zero")
        run.set_output("done")


def _assert_round_trip(spans: list[dict], metrics: list[dict]) -> None:
    by_name = {span["name"]: span for span in spans}
    assert set(by_name) == {"invoke_agent planner", "chat gpt-4o", "execute_tool calc"}
    root, llm, tool = by_name["invoke_agent planner"], by_name["chat gpt-4o"], by_name["execute_tool calc"]
    assert llm["parent_span_id"] == root["span_id"] == tool["parent_span_id"]
    assert {llm["trace_id"], tool["trace_id"]} == {root["trace_id"]}
    assert llm["kind"] == "CLIENT"
    assert llm["attributes"]["gen_ai.usage.input_tokens"] == 100
    assert llm["attributes"]["gen_ai.request.temperature"] == 0.1
    assert llm["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert llm["attributes"]["gen_ai.conversation.id"] == "c1"
    assert tool["status"] == {"code": "ERROR", "message": "ValueError: division by zero"}
    assert tool["events"][0]["attributes"]["exception.type"] == "ValueError"
    assert root["resource"]["service.name"] == "round-trip"
    names = {metric["name"]: metric for metric in metrics}
    duration = names["gen_ai.client.operation.duration"]
    assert duration["type"] == "histogram" and duration["unit"] == "s"
    assert duration["points"][0]["attributes"]["gen_ai.request.model"] == "gpt-4o"
    tokens = {p["attributes"]["gen_ai.token.type"]: p["sum"] for p in names["gen_ai.client.token.usage"]["points"]}
    assert tokens == {"input": 100, "output": 20}
    (tool_calls,) = names["agents_hub.tool.calls"]["points"]
    assert tool_calls["attributes"]["error.type"] == "ValueError" and tool_calls["value"] == 1


@pytest.mark.parametrize("protocol, receiver_class", [("http/protobuf", OTLPHTTPReceiver), ("grpc", OTLPGRPCReceiver)])
def test_spans_and_metrics_arrive_intact(protocol, receiver_class):
    with receiver_class() as receiver:
        monitor = OTLPMonitor(endpoint=receiver.endpoint, protocol=protocol, service_name="round-trip",
                              metric_export_interval_ms=60_000)
        _run_agent(monitor)
        monitor.shutdown()  # flushes both signals
        spans = receiver.wait_for_spans(3)
        metrics = receiver.wait_for_metrics(lambda found: any(m["name"] == "agents_hub.tool.calls" for m in found))
        _assert_round_trip(spans, metrics)


def test_otlp_environment_variables_are_honoured(monkeypatch):
    with OTLPHTTPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=agents,authorization=Bearer%20abc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        monitor = OTLPMonitor(export_metrics=False)
        monitor.track_event("ping")
        monitor.shutdown()
        (span,) = receiver.wait_for_spans(1)
        (request,) = receiver.requests("/v1/traces")
    assert span["name"] == "ping" and span["resource"]["service.name"] == "from-env"
    assert request.headers["x-team"] == "agents"
    assert request.headers["content-encoding"] == "gzip"
    assert not receiver.requests("/v1/metrics")  # spans only


def test_backend_errors_are_retried_then_delivered():
    with OTLPHTTPReceiver() as receiver:
        receiver.fail_next(status=503, times=2, path_prefix="/v1/traces")
        monitor = OTLPMonitor(endpoint=receiver.endpoint, export_metrics=False)
        monitor.track_event("survives")
        monitor.shutdown()
        (span,) = receiver.wait_for_spans(1)
        assert span["name"] == "survives" and receiver.rejected == 2


def test_host_down_never_blocks_beyond_the_shutdown_bound():
    import time

    monitor = OTLPMonitor(endpoint="http://127.0.0.1:9", export_metrics=False, timeout_s=0.5, shutdown_timeout_s=1.0)
    for _ in range(50):
        monitor.track_event("lost")
    started = time.monotonic()
    monitor.shutdown()
    assert time.monotonic() - started < 6  # bounded (2 x shutdown_timeout_s plus slack)
