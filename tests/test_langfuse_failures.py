"""LangfuseMonitor when Langfuse says no, fails, is slow or is not there at all.

Time bounds here are behaviour bounds (generous), not performance benchmarks.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from langfuse_support import PUBLIC, SCORES, SECRET, TRACES, WRONG_SECRET
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agents_hub_monitoring.exporters.langfuse import LangfuseSpanExporter
from agents_hub_monitoring.langfuse_settings import LangfuseSettings
from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")

DEFAULT_SHUTDOWN_S = 5.0  # the documented bound of shutdown() with default settings
SLACK_S = 1.5  # thread start-up and scheduling on a loaded machine; well under a request timeout


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_wrong_keys_give_one_clear_line_and_no_retry_storm(make_monitor, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    monitor = make_monitor(secret=WRONG_SECRET)
    for name in ("first", "second", "third"):
        with monitor.agent_run(name, context={"conversation_id": "c1"}):
            pass
        monitor.flush()
    monitor.score_conversation("c1", "quality", 1.0)
    monitor.flush()
    monitor.shutdown()

    trace_posts = receiver.requests(TRACES)
    assert [r.status for r in trace_posts] == [401]  # then a cool-down: no request per batch
    assert receiver.requests(SCORES) == [] and monitor.scores.dropped == 1  # the cool-down covers scores too
    rejected = [m for m in _warnings(caplog) if "rejected the keys" in m]
    assert len(rejected) == 1
    assert f"for host {receiver.endpoint}" in rejected[0] and "Invalid credentials" in rejected[0]
    assert all(WRONG_SECRET not in r.getMessage() and PUBLIC not in r.getMessage() for r in caplog.records)
    assert monitor.export_stats[0].failed >= 3  # dropped spans are counted


def test_server_errors_then_success_lose_nothing(make_monitor, receiver):
    monitor = make_monitor()
    for name, status in (("one", 500), ("two", 503)):  # 500: retried by us; 503: by the OTLP exporter
        receiver.fail_next(TRACES, status=status, retry_after=0)
        with monitor.agent_run(name):
            pass
        assert monitor.flush()
    assert [r.status for r in receiver.requests(TRACES)] == [500, 200, 503, 200]
    assert {o["name"] for o in receiver.observations()} == {"invoke_agent one", "invoke_agent two"}
    assert monitor.export_stats[0].failed == 0


def test_score_retries_reuse_the_same_id(make_monitor, receiver):
    monitor = make_monitor()
    receiver.fail_next(SCORES, status=503, times=2, retry_after=0)
    receiver.fail_next(SCORES, status=429, retry_after=0)
    monitor.score_conversation("c1", "helpfulness", 0.8)
    assert monitor.flush()
    posts = receiver.requests(SCORES)
    assert [r.status for r in posts] == [503, 503, 429, 200]
    ids = {json.loads(r.body)["id"] for r in posts}
    assert len(ids) == 1 and list(receiver.scores()) == list(ids)
    assert len(receiver.score_posts()) == 1


def test_score_rejected_with_400_is_reported_not_retried(make_monitor, receiver, caplog):
    monitor = make_monitor()
    receiver.fail_next(SCORES, status=400, body={"message": "Invalid request data",
                                                 "error": [{"path": ["value"], "message": "Expected number"}]})
    monitor.score_conversation("c1", "helpfulness", 0.8)
    assert monitor.flush()
    assert len(receiver.requests(SCORES)) == 1 and monitor.scores.failed == 1
    (line,) = [m for m in _warnings(caplog) if "rejected score" in m]
    assert "HTTP 400" in line and "Invalid request data" in line and "Expected number" in line


def test_payload_too_large_is_resent_with_content_trimmed(make_monitor, receiver, caplog):
    monitor = make_monitor(batch=False)
    receiver.fail_next(TRACES, status=413, body={"message": "Request Entity Too Large"})
    with monitor.agent_run("big", input="x" * 50_000) as run:
        run.set_output("done")
    assert [r.status for r in receiver.requests(TRACES)] == [413, 200]
    observation = receiver.observation("invoke_agent big")
    assert len(observation["input"]) == 1_000 and observation["input"].startswith("xxx")
    assert observation["output"] == "done"
    assert any("HTTP 413" in m and "Request Entity Too Large" in m and "cut to" in m for m in _warnings(caplog))


def test_rejected_batch_is_split_rather_than_lost(make_monitor, receiver, caplog):
    monitor = make_monitor()  # batched: all four spans go in one request
    receiver.fail_next(TRACES, status=413, times=2, body={"message": "Request Entity Too Large"})
    with monitor.agent_run("split"):
        for index in range(3):
            with monitor.tool_call(f"tool{index}"):
                pass
    assert monitor.flush()
    assert [r.status for r in receiver.requests(TRACES)] == [413, 413, 200, 200]
    assert len(receiver.observations()) == 4
    assert any("two halves" in m for m in _warnings(caplog))


def test_a_batch_too_large_to_send_is_trimmed_not_misreported(receiver, caplog):
    # The OTLP exporter drops a batch over its max_request_size without sending anything.
    exporter = LangfuseSpanExporter(LangfuseSettings.resolve(PUBLIC, SECRET, receiver.endpoint), max_request_size=4_000)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("small"):
        pass
    with tracer.start_as_current_span("big", attributes={"input.value": "x" * 50_000}):
        pass
    provider.shutdown()
    assert [r.status for r in receiver.requests(TRACES)] == [200, 200]  # the big one, trimmed
    assert len(receiver.observation("big")["input"]) == 1_000
    (line,) = [m for m in _warnings(caplog) if "span(s)" in m]
    assert "could not send 1 span(s) (no request was sent:" in line and "max_request_size 4000" in line
    assert "cut to 1000 chars" in line and "HTTP 200" not in line


def test_bad_request_is_reported_with_langfuse_reason(make_monitor, receiver, caplog):
    monitor = make_monitor(batch=False)
    receiver.fail_next(TRACES, status=400, body={"error": "Failed to parse OTel trace: bad span"})
    with monitor.agent_run("odd"):
        pass
    assert [r.status for r in receiver.requests(TRACES)] == [400, 200]
    assert any("HTTP 400: Failed to parse OTel trace: bad span" in m for m in _warnings(caplog))


def test_slow_server_timeouts_are_retried(make_monitor, receiver):
    monitor = make_monitor(batch=False, timeout_s=0.5)
    receiver.delay_next(2.0, path_prefix=TRACES)  # the first request times out, the retry goes through
    with monitor.agent_run("slow"):
        pass
    assert receiver.wait_for_observations(1)[0]["name"] == "invoke_agent slow"


def test_flush_is_bounded_even_when_langfuse_hangs(make_monitor, receiver):
    monitor = make_monitor(timeout_s=3.0, shutdown_timeout_s=1.0)
    receiver.delay_next(10.0, times=3, path_prefix=TRACES)  # cut short when the receiver stops
    with monitor.agent_run("stuck"):
        pass
    started = time.monotonic()
    assert monitor.flush(0.5) is False
    assert time.monotonic() - started < 2.5  # not the 3 s request timeout, let alone the retries


def test_host_down_never_blocks_the_agent_and_shutdown_is_bounded(caplog):
    monitor = LangfuseMonitor(PUBLIC, SECRET, host=f"http://127.0.0.1:{_closed_port()}")  # all defaults
    with monitor.agent_run("offline", context={"conversation_id": "c1"}) as run:
        with monitor.tool_call("calc") as tool:
            tool.set_result(4)
        run.set_output("still works")
    monitor.score_conversation("c1", "quality", 1.0)
    monitor.add_user_feedback("c1", 4)
    started = time.monotonic()
    monitor.shutdown()
    assert time.monotonic() - started < DEFAULT_SHUTDOWN_S + SLACK_S
    assert any("is the host reachable?" in m for m in _warnings(caplog))
    monitor.score_conversation("c1", "late", 1.0)  # after shutdown: dropped, never raises


@pytest.fixture
def hung_host() -> Iterator[str]:
    """A host that takes connections and never answers: the kernel completes the handshake for
    the listen backlog, nobody reads. Closing the socket resets those connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("hung_collector", [False, True])
def test_shutdown_is_bounded_when_langfuse_accepts_but_never_answers(hung_host, hung_collector):
    # Your own collector hanging too must not add its wait to Langfuse's: one deadline for all.
    metrics = [OTLPMetricExporter(endpoint=f"{hung_host}/v1/metrics", timeout=30)] if hung_collector else []
    monitor = LangfuseMonitor(PUBLIC, SECRET, host=hung_host, shutdown_timeout_s=2.0, metric_exporters=metrics)
    with monitor.agent_run("hung", context={"conversation_id": "c1"}), monitor.tool_call("calc"):
        pass
    monitor.score_conversation("c1", "quality", 1.0)
    monitor.add_user_feedback("c1", 4)
    started = time.monotonic()
    monitor.shutdown()
    assert time.monotonic() - started < 2.0 + SLACK_S  # the shutdown bound, not the 5 s request timeout
    scores = monitor.scores
    assert scores.sent == 0 and scores.failed + scores.dropped >= 2  # given up and counted, not waited for


def test_collector_headers_never_reach_langfuse(monkeypatch, make_monitor, receiver):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=collector-secret")
    monitor = make_monitor(batch=False)
    with monitor.agent_run("headers"):
        pass
    (request,) = receiver.requests(TRACES)
    assert "x-collector-token" not in request.headers
    assert request.headers["authorization"] == receiver.basic_auth
