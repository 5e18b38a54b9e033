"""Tests of the test receivers themselves, driven by the official OTel exporters and urllib."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

try:  # tests/ is not a package today; keep working if it becomes one
    from tests.receivers import LangfuseReceiver, OTLPGRPCReceiver, OTLPHTTPReceiver
    from tests.receivers.otlp_grpc import METRICS_METHOD, TRACES_METHOD
except ImportError:
    from receivers import LangfuseReceiver, OTLPGRPCReceiver, OTLPHTTPReceiver
    from receivers.otlp_grpc import METRICS_METHOD, TRACES_METHOD

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"
INVALID_CREDENTIALS = {"message": "Invalid credentials. Confirm that you've configured the correct host."}


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [thread for thread in threading.enumerate() if thread not in before]
    for thread in leaked:
        thread.join(timeout=2)
    assert not [t.name for t in leaked if t.is_alive()], "receiver or exporter threads outlived the test"


@pytest.fixture
def otlp_http() -> Iterator[OTLPHTTPReceiver]:
    with OTLPHTTPReceiver() as receiver:
        yield receiver
    assert receiver.errors == [], "the receiver itself raised (answered 500)"


@pytest.fixture
def otlp_grpc() -> Iterator[OTLPGRPCReceiver]:
    with OTLPGRPCReceiver() as receiver:
        yield receiver


@pytest.fixture
def langfuse() -> Iterator[LangfuseReceiver]:
    with LangfuseReceiver() as receiver:
        yield receiver
    assert receiver.errors == [], "the receiver itself raised (answered 500)"


@contextmanager
def tracing(exporter: SpanExporter, resource: dict[str, Any] | None = None) -> Iterator[Tracer]:
    """A private TracerProvider exporting synchronously, shut down (exporter included) on exit."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "receiver-tests", **(resource or {})})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("receiver-tests", "1.0")
    finally:
        provider.shutdown()


def record_metrics(exporter: MetricExporter) -> None:
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "metrics-svc"})
    )
    meter = provider.get_meter("receiver-tests")
    meter.create_counter("agent.requests", unit="1", description="Requests").add(3, {"route": "/a"})
    histogram = meter.create_histogram("agent.latency", unit="ms")
    histogram.record(5, {"route": "/a"})
    histogram.record(15, {"route": "/a"})
    meter.create_gauge("agent.temperature").set(21.5)
    provider.force_flush()
    provider.shutdown()


def export_one(exporter: SpanExporter, name: str = "op") -> SpanExportResult:
    """Export a single finished span directly, to observe the exporter's result."""
    provider = TracerProvider()
    span = provider.get_tracer("receiver-tests").start_span(name)
    span.end()
    assert isinstance(span, ReadableSpan)
    try:
        return exporter.export([span])
    finally:
        exporter.shutdown()
        provider.shutdown()


def call(
    receiver: LangfuseReceiver | OTLPHTTPReceiver,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Plain urllib request; returns (status, parsed JSON body or raw bytes)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(
        f"{receiver.endpoint}{path}", data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
        error.close()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def basic(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def json_trace_request(trace_id: str = TRACE_ID, span_id: str = SPAN_ID) -> dict[str, Any]:
    """An OTLP/JSON body written by hand, as the spec prescribes (hex ids, int64 as strings)."""
    attributes = [
        {"key": "count", "value": {"intValue": "7"}},
        {"key": "nested", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}},
        {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"doubleValue": 1.5}]}}},
    ]
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": PARENT_ID,
        "name": "json-span",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": attributes,
        "status": {"code": 2, "message": "bad"},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]}
    return {
        "resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "js"}, "spans": [span]}]}]
    }


# --- OTLP/HTTP -------------------------------------------------------------------------------------


def test_http_receiver_binds_loopback_ephemeral_port_and_releases_it() -> None:
    receiver = OTLPHTTPReceiver().start()
    endpoint, port = receiver.endpoint, receiver.port
    receiver.stop()
    assert endpoint == f"http://127.0.0.1:{port}" and port > 0
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
    with pytest.raises(RuntimeError):
        _ = receiver.endpoint


def test_http_stop_does_not_hang_on_idle_keep_alive_connection(otlp_http: OTLPHTTPReceiver) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", otlp_http.port, timeout=5)
    connection.request("POST", "/v1/traces", body=b"", headers={"Content-Type": "application/x-protobuf"})
    assert connection.getresponse().read() == b"" and otlp_http.requests()[0].status == 200
    otlp_http.stop()  # the connection stays open; stop must still join its handler thread
    connection.close()


def test_http_spans_arrive_intact(otlp_http: OTLPHTTPReceiver) -> None:
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces", headers={"x-team": "agents"})
    attributes = {"s": "x", "b": True, "i": 42, "f": 0.5, "arr": ["a", "b"], "nums": [1, 2]}
    with (
        tracing(exporter, {"deployment.environment.name": "test"}) as tracer,
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER, attributes=attributes) as parent,
    ):
        parent.add_event("checkpoint", {"step": 1})
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "upstream failed"))
    child_span, parent_span = otlp_http.wait_for_spans(2)
    assert parent_span["name"] == "parent" and child_span["name"] == "child"
    assert parent_span["attributes"] == attributes
    assert parent_span["kind"] == "SERVER" and child_span["kind"] == "CLIENT"
    assert parent_span["parent_span_id"] is None
    assert child_span["parent_span_id"] == parent_span["span_id"] and len(parent_span["span_id"]) == 16
    assert child_span["trace_id"] == parent_span["trace_id"] and len(parent_span["trace_id"]) == 32
    assert child_span["status"] == {"code": "ERROR", "message": "upstream failed"}
    assert parent_span["status"] == {"code": "UNSET", "message": ""}
    assert [(e["name"], e["attributes"]) for e in parent_span["events"]] == [("checkpoint", {"step": 1})]
    assert parent_span["start_time_unix_nano"] <= child_span["start_time_unix_nano"]
    assert child_span["end_time_unix_nano"] <= parent_span["end_time_unix_nano"]
    assert parent_span["resource"]["service.name"] == "receiver-tests"
    assert parent_span["resource"]["deployment.environment.name"] == "test"
    assert parent_span["scope"] == "receiver-tests"
    request = otlp_http.requests("/v1/traces")[0]
    assert request.method == "POST" and request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["x-team"] == "agents" and request.body_size == len(request.body) > 0


def test_http_gzip_bodies_are_decompressed(otlp_http: OTLPHTTPReceiver) -> None:
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces", compression=Compression.Gzip)
    with tracing(exporter) as tracer, tracer.start_as_current_span("zipped", attributes={"pad": "x" * 2000}):
        pass
    assert otlp_http.wait_for_spans(1)[0]["attributes"]["pad"] == "x" * 2000
    request = otlp_http.requests()[0]
    assert request.headers["content-encoding"] == "gzip" and request.body[:2] == b"\x1f\x8b"
    assert request.body_size < 2000


def test_http_accepts_otlp_json(otlp_http: OTLPHTTPReceiver) -> None:
    status, body = call(
        otlp_http, "POST", "/v1/traces", json_trace_request(), {"Content-Type": "application/json"}
    )
    assert (status, body) == (200, {})
    (span,) = otlp_http.spans()
    assert (span["trace_id"], span["span_id"], span["parent_span_id"]) == (TRACE_ID, SPAN_ID, PARENT_ID)
    assert span["attributes"] == {"count": 7, "nested": {"k": True}, "list": ["a", 1.5]}
    assert span["kind"] == "CLIENT" and span["status"] == {"code": "ERROR", "message": "bad"}
    assert span["resource"] == {"service.name": "json-svc"} and span["scope"] == "js"


def test_http_metrics_arrive_intact(otlp_http: OTLPHTTPReceiver) -> None:
    record_metrics(HTTPMetricExporter(endpoint=f"{otlp_http.endpoint}/v1/metrics"))
    otlp_http.wait_for_metrics(
        lambda metrics: {m["name"] for m in metrics} >= {"agent.requests", "agent.latency"}
    )
    counter = otlp_http.metrics("agent.requests")[0]
    assert (counter["type"], counter["unit"], counter["description"]) == ("sum", "1", "Requests")
    assert counter["is_monotonic"] and counter["temporality"] == "CUMULATIVE"
    assert [(p["attributes"], p["value"]) for p in counter["points"]] == [({"route": "/a"}, 3)]
    (point,) = otlp_http.metrics("agent.latency")[0]["points"]
    assert (point["count"], point["sum"], point["min"], point["max"]) == (2, 20, 5, 15)
    assert (
        sum(point["bucket_counts"]) == 2 and len(point["bucket_counts"]) == len(point["explicit_bounds"]) + 1
    )
    gauge = otlp_http.metrics("agent.temperature")[0]
    assert gauge["type"] == "gauge" and gauge["points"][0]["value"] == 21.5
    assert counter["resource"]["service.name"] == "metrics-svc" and counter["scope"] == "receiver-tests"


def test_http_fail_next_503_is_retried_then_accepted(otlp_http: OTLPHTTPReceiver) -> None:
    otlp_http.fail_next(status=503, times=2)
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces")
    assert export_one(exporter, "retried") == SpanExportResult.SUCCESS
    assert [r.status for r in otlp_http.requests()] == [503, 503, 200]
    assert otlp_http.rejected == 2 and [s["name"] for s in otlp_http.spans()] == ["retried"]


def test_http_fail_next_413_is_not_retried(otlp_http: OTLPHTTPReceiver) -> None:
    otlp_http.fail_next(status=413)
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces")
    assert export_one(exporter) == SpanExportResult.FAILURE
    assert [r.status for r in otlp_http.requests()] == [413] and otlp_http.rejected == 1
    assert otlp_http.spans() == []


def test_http_fault_queue_is_fifo_and_path_scoped(otlp_http: OTLPHTTPReceiver) -> None:
    otlp_http.fail_next(status=429, path_prefix="/v1/metrics")
    otlp_http.fail_next(status=500, body=b"nope")
    headers = {"Content-Type": "application/x-protobuf"}
    assert call(otlp_http, "POST", "/v1/traces", b"", headers) == (500, b"nope")
    assert call(otlp_http, "POST", "/v1/traces", b"", headers)[0] == 200
    assert call(otlp_http, "POST", "/v1/metrics", b"", headers)[0] == 429
    assert otlp_http.rejected == 2


def test_http_delay_next_makes_the_exporter_time_out(otlp_http: OTLPHTTPReceiver) -> None:
    otlp_http.delay_next(0.4)
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces", timeout=0.1)
    assert export_one(exporter, "slow") == SpanExportResult.FAILURE
    otlp_http.wait_for_requests(1)  # the held request is still answered (too late) and recorded
    exporter = HTTPSpanExporter(endpoint=f"{otlp_http.endpoint}/v1/traces", timeout=2)
    assert export_one(exporter, "fast") == SpanExportResult.SUCCESS


def test_http_rejects_malformed_requests(otlp_http: OTLPHTTPReceiver) -> None:
    protobuf = {"Content-Type": "application/x-protobuf"}
    assert call(otlp_http, "POST", "/v1/traces", b"{}", {"Content-Type": "text/plain"})[0] == 415
    assert call(otlp_http, "POST", "/v1/traces", b"\xff\xff\xff", protobuf)[0] == 400
    assert (
        call(otlp_http, "POST", "/v1/traces", b"not gzip", {**protobuf, "Content-Encoding": "gzip"})[0] == 400
    )
    assert call(otlp_http, "POST", "/v1/metrics", b"[1]", {"Content-Type": "application/json"})[0] == 400
    assert call(otlp_http, "POST", "/v1/logs", b"", protobuf)[0] == 404
    assert call(otlp_http, "GET", "/v1/traces")[0] == 405
    assert otlp_http.rejected == 6 and otlp_http.spans() == []


def test_wait_for_spans_raises_timeout_error(otlp_http: OTLPHTTPReceiver) -> None:
    with pytest.raises(TimeoutError, match="1 span"):
        otlp_http.wait_for_spans(1, timeout=0.05)
    with pytest.raises(TimeoutError):
        otlp_http.wait_for_metrics(lambda metrics: False, timeout=0.05)


# --- OTLP/gRPC -------------------------------------------------------------------------------------


def test_grpc_spans_and_metadata_arrive(otlp_grpc: OTLPGRPCReceiver) -> None:
    assert otlp_grpc.endpoint == f"http://127.0.0.1:{otlp_grpc.port}"
    exporter = GRPCSpanExporter(endpoint=otlp_grpc.endpoint, headers={"x-team": "agents"})
    with tracing(exporter) as tracer, tracer.start_as_current_span("outer", attributes={"k": "v"}):
        tracer.start_span("inner").end()  # a child of the current span
    inner, outer = otlp_grpc.wait_for_spans(2)
    assert inner["parent_span_id"] == outer["span_id"] and outer["attributes"] == {"k": "v"}
    request = otlp_grpc.requests()[0]
    assert (request.path, request.status, request.headers["x-team"]) == (TRACES_METHOD, 0, "agents")


def test_grpc_metrics_arrive(otlp_grpc: OTLPGRPCReceiver) -> None:
    record_metrics(GRPCMetricExporter(endpoint=otlp_grpc.endpoint))
    metrics = otlp_grpc.wait_for_metrics(3)
    assert {m["name"] for m in metrics} >= {"agent.requests", "agent.latency", "agent.temperature"}
    assert otlp_grpc.metrics("agent.requests")[0]["points"][0]["value"] == 3
    assert otlp_grpc.requests()[0].path == METRICS_METHOD


def test_grpc_fail_next_unavailable_is_retried(otlp_grpc: OTLPGRPCReceiver) -> None:
    otlp_grpc.fail_next(grpc.StatusCode.UNAVAILABLE)
    assert export_one(GRPCSpanExporter(endpoint=otlp_grpc.endpoint), "retried") == SpanExportResult.SUCCESS
    assert [r.status for r in otlp_grpc.requests()] == [grpc.StatusCode.UNAVAILABLE.value[0], 0]
    assert otlp_grpc.rejected == 1 and [s["name"] for s in otlp_grpc.spans()] == ["retried"]


def test_grpc_non_retryable_failure_and_delay(otlp_grpc: OTLPGRPCReceiver) -> None:
    otlp_grpc.fail_next(grpc.StatusCode.INVALID_ARGUMENT)
    assert export_one(GRPCSpanExporter(endpoint=otlp_grpc.endpoint)) == SpanExportResult.FAILURE
    assert len(otlp_grpc.requests()) == 1 and otlp_grpc.spans() == []
    otlp_grpc.delay_next(0.6)
    assert export_one(GRPCSpanExporter(endpoint=otlp_grpc.endpoint, timeout=0.2)) == SpanExportResult.FAILURE


# --- Langfuse: auth --------------------------------------------------------------------------------

AUTHENTICATED_ROUTES = [
    ("POST", "/api/public/otel/v1/traces"),
    ("POST", "/api/public/otel/v1/metrics"),
    ("POST", "/api/public/scores"),
    ("GET", "/api/public/projects"),
]


def test_langfuse_health_needs_no_auth(langfuse: LangfuseReceiver) -> None:
    assert call(langfuse, "GET", "/api/public/health") == (200, {"status": "OK", "version": "3.0.0"})


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ROUTES)
def test_langfuse_missing_authorization_is_401(langfuse: LangfuseReceiver, method: str, path: str) -> None:
    body = b"{}" if method == "POST" else None
    assert call(langfuse, method, path, body) == (401, {"message": "No authorization header"})


@pytest.mark.parametrize(
    "authorization",
    [
        basic("pk-lf-test", "sk-lf-wrong"),
        basic("pk-lf-wrong", "sk-lf-test"),
        "Basic !!!not-base64!!!",
        "Bearer pk-lf-wrong",
        "Token pk-lf-test",
    ],
)
@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ROUTES)
def test_langfuse_wrong_credentials_are_401(
    langfuse: LangfuseReceiver, method: str, path: str, authorization: str
) -> None:
    body = b"{}" if method == "POST" else None
    assert call(langfuse, method, path, body, {"Authorization": authorization}) == (401, INVALID_CREDENTIALS)


def test_langfuse_basic_auth_reaches_projects(langfuse: LangfuseReceiver) -> None:
    status, body = call(
        langfuse, "GET", "/api/public/projects", headers={"Authorization": langfuse.basic_auth}
    )
    assert (status, body) == (200, {"data": [{"id": "proj-1", "name": "test"}]})
    assert langfuse.basic_auth == basic("pk-lf-test", "sk-lf-test")


def test_langfuse_custom_keys() -> None:
    with LangfuseReceiver(public_key="pk-lf-abc", secret_key="sk-lf-xyz") as receiver:
        auth = {"Authorization": basic("pk-lf-abc", "sk-lf-xyz")}
        assert call(receiver, "GET", "/api/public/projects", headers=auth)[0] == 200
        default = {"Authorization": basic("pk-lf-test", "sk-lf-test")}
        assert call(receiver, "GET", "/api/public/projects", headers=default)[0] == 401


@pytest.mark.parametrize(
    ("method", "path"), [r for r in AUTHENTICATED_ROUTES if r[1] != "/api/public/scores"]
)
def test_langfuse_bearer_public_key_is_403_outside_scores(
    langfuse: LangfuseReceiver, method: str, path: str
) -> None:
    body = b"{}" if method == "POST" else None
    status, payload = call(langfuse, method, path, body, {"Authorization": "Bearer pk-lf-test"})
    assert status == 403 and "message" in payload


def test_langfuse_bearer_public_key_may_post_scores(langfuse: LangfuseReceiver) -> None:
    score = {"name": "thumbs", "value": 1, "dataType": "BOOLEAN", "traceId": TRACE_ID}
    status, body = call(langfuse, "POST", "/api/public/scores", score, {"Authorization": "Bearer pk-lf-test"})
    assert status == 200 and body["id"] in langfuse.scores()


def test_langfuse_unknown_route_and_method(langfuse: LangfuseReceiver) -> None:
    auth = {"Authorization": langfuse.basic_auth}
    assert call(langfuse, "POST", "/api/public/ingestion", b"{}", auth)[0] == 404
    assert call(langfuse, "GET", "/api/public/scores", headers=auth)[0] == 405


# --- Langfuse: OTLP ingestion ----------------------------------------------------------------------


def langfuse_exporter(receiver: LangfuseReceiver, **kwargs: Any) -> HTTPSpanExporter:
    headers = {"Authorization": receiver.basic_auth, "x-langfuse-ingestion-version": "4"}
    return HTTPSpanExporter(
        endpoint=f"{receiver.endpoint}/api/public/otel/v1/traces", headers=headers, **kwargs
    )


def post_traces(
    receiver: LangfuseReceiver, body: bytes, content_type: str, **headers: str
) -> tuple[int, Any]:
    all_headers = {"Authorization": receiver.basic_auth, "Content-Type": content_type, **headers}
    return call(receiver, "POST", "/api/public/otel/v1/traces", body, all_headers)


def test_langfuse_ingests_protobuf_json_and_gzip(langfuse: LangfuseReceiver) -> None:
    with tracing(langfuse_exporter(langfuse, compression=Compression.Gzip)) as tracer:
        tracer.start_span("zipped").end()
    json_body = json.dumps(json_trace_request()).encode()
    assert post_traces(langfuse, json_body, "application/json; charset=utf-8") == (200, {})
    assert (
        post_traces(langfuse, gzip.compress(json_body), "application/json", **{"Content-Encoding": "gzip"})[0]
        == 200
    )
    assert [o["name"] for o in langfuse.observations()] == ["zipped", "json-span", "json-span"]
    assert langfuse.requests()[0].headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("body", "content_type", "headers"),
    [
        (b"{}", "text/plain", {}),
        (b"", "", {}),
        (b"\xff\xff\xff", "application/x-protobuf", {}),
        (b"{not json", "application/json", {}),
        (b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}),
        (
            json.dumps(json_trace_request()).encode(),
            "application/json",
            {"x-langfuse-ingestion-version": "5"},
        ),
        (
            json.dumps(json_trace_request()).encode(),
            "application/json",
            {"x-langfuse-ingestion-version": "v4"},
        ),
        (json.dumps(json_trace_request(trace_id="")).encode(), "application/json", {}),
        (json.dumps(json_trace_request(span_id="")).encode(), "application/json", {}),
        (json.dumps(json_trace_request(span_id="abcd")).encode(), "application/json", {}),
    ],
    ids=[
        "text",
        "no-type",
        "bad-proto",
        "bad-json",
        "bad-gzip",
        "version-5",
        "version-junk",
        "no-trace-id",
        "no-span-id",
        "short-span-id",
    ],
)
def test_langfuse_bad_trace_requests_are_400(
    langfuse: LangfuseReceiver, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    status, payload = post_traces(langfuse, body, content_type, **headers)
    assert status == 400 and "error" in payload
    assert langfuse.observations() == [] and langfuse.rejected == 1


def test_langfuse_empty_protobuf_ids_are_400(langfuse: LangfuseReceiver) -> None:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="no-ids")
    assert post_traces(langfuse, request.SerializeToString(), "application/x-protobuf")[0] == 400


@pytest.mark.parametrize("version", ["4", "3", None])
def test_langfuse_supported_ingestion_versions(langfuse: LangfuseReceiver, version: str | None) -> None:
    headers = {} if version is None else {"x-langfuse-ingestion-version": version}
    assert (
        post_traces(langfuse, json.dumps(json_trace_request()).encode(), "application/json", **headers)[0]
        == 200
    )


def test_langfuse_metrics_are_authenticated_then_discarded(langfuse: LangfuseReceiver) -> None:
    exporter = HTTPMetricExporter(
        endpoint=f"{langfuse.endpoint}/api/public/otel/v1/metrics",
        headers={"Authorization": langfuse.basic_auth},
    )
    record_metrics(exporter)
    assert {r.status for r in langfuse.requests()} == {200} and langfuse.spans() == []
    assert call(langfuse, "POST", "/api/public/otel/v1/metrics", b"")[0] == 401


def test_langfuse_fault_injection(langfuse: LangfuseReceiver) -> None:
    langfuse.fail_next("/api/public/otel", 503, times=2)
    with tracing(langfuse_exporter(langfuse)) as tracer:
        tracer.start_span("after-retries").end()
    assert [r.status for r in langfuse.requests()] == [503, 503, 200] and langfuse.rejected == 2
    assert [o["name"] for o in langfuse.observations()] == ["after-retries"]
    langfuse.fail_next("/api/public/scores", 500, body={"message": "down"})
    score = {"name": "s", "value": 1, "traceId": TRACE_ID}
    assert call(langfuse, "POST", "/api/public/scores", score) == (
        500,
        {"message": "down"},
    )  # faults precede auth
    langfuse.delay_next(0.05, path_prefix="/api/public/health")
    assert call(langfuse, "GET", "/api/public/health")[0] == 200


# --- Langfuse: scores ------------------------------------------------------------------------------


def post_score(receiver: LangfuseReceiver, score: Any) -> tuple[int, Any]:
    return call(
        receiver,
        "POST",
        "/api/public/scores",
        json.dumps(score).encode(),
        {"Authorization": receiver.basic_auth, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "score",
    [
        {"name": "accuracy", "value": 0.9, "dataType": "NUMERIC", "traceId": TRACE_ID},
        {"name": "accuracy", "value": 3, "traceId": TRACE_ID, "observationId": SPAN_ID, "comment": "ok"},
        {"name": "helpful", "value": 0, "dataType": "BOOLEAN", "sessionId": "session-1"},
        {"name": "helpful", "value": 1, "dataType": "BOOLEAN", "datasetRunId": "run-1"},
        {"name": "tone", "value": "friendly", "dataType": "CATEGORICAL", "traceId": TRACE_ID},
        {
            "name": "tone",
            "value": "friendly",
            "traceId": TRACE_ID,
            "metadata": {"a": 1},
            "environment": "prod",
        },
    ],
)
def test_valid_scores_are_stored(langfuse: LangfuseReceiver, score: dict[str, Any]) -> None:
    status, body = post_score(langfuse, score)
    assert status == 200 and set(body) == {"id"}
    assert langfuse.scores() == {body["id"]: {**score, "id": body["id"]}}


@pytest.mark.parametrize(
    ("score", "field"),
    [
        ({"value": 1, "traceId": TRACE_ID}, "name"),
        ({"name": "", "value": 1, "traceId": TRACE_ID}, "name"),
        ({"name": "n", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": 1}, None),
        ({"name": "n", "value": 1, "traceId": TRACE_ID, "sessionId": "s"}, None),
        ({"name": "n", "value": 1, "sessionId": "s", "datasetRunId": "d"}, None),
        ({"name": "n", "value": 1, "sessionId": "s", "observationId": SPAN_ID}, "observationId"),
        ({"name": "n", "value": "high", "dataType": "NUMERIC", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": True, "dataType": "NUMERIC", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": 2, "dataType": "BOOLEAN", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": True, "dataType": "BOOLEAN", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": 1, "dataType": "CATEGORICAL", "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": [1], "traceId": TRACE_ID}, "value"),
        ({"name": "n", "value": 1, "dataType": "TEXT", "traceId": TRACE_ID}, "dataType"),
        ({"name": "n", "value": 1, "dataType": ["NUMERIC"], "traceId": TRACE_ID}, "dataType"),
        ({"name": 7, "value": 1, "traceId": TRACE_ID}, "name"),
        ({"name": "n", "value": 1, "traceId": 123}, "traceId"),
        ({"name": "n", "value": 1, "traceId": TRACE_ID, "environment": "Prod Env"}, "environment"),
        (["not", "an", "object"], None),
    ],
)
def test_invalid_scores_are_400(langfuse: LangfuseReceiver, score: Any, field: str | None) -> None:
    status, body = post_score(langfuse, score)
    assert status == 400 and body["message"] == "Invalid request data"
    assert any(issue["path"] == ([field] if field else []) for issue in body["error"]), body["error"]
    assert langfuse.scores() == {} and langfuse.score_posts() == []


def test_score_id_is_an_idempotency_key(langfuse: LangfuseReceiver) -> None:
    first = {"id": "score-1", "name": "accuracy", "value": 0.5, "traceId": TRACE_ID}
    assert post_score(langfuse, first) == (200, {"id": "score-1"})
    assert post_score(langfuse, {**first, "value": 0.75}) == (200, {"id": "score-1"})
    assert langfuse.scores() == {"score-1": {**first, "value": 0.75}}
    assert [p["value"] for p in langfuse.wait_for_scores(2)] == [0.5, 0.75]


def test_score_without_id_gets_a_fresh_uuid(langfuse: LangfuseReceiver) -> None:
    score = {"name": "accuracy", "value": 1, "traceId": TRACE_ID}
    ids = {post_score(langfuse, score)[1]["id"] for _ in range(2)}
    assert len(ids) == 2 and all(len(i) == 36 for i in ids) and set(langfuse.scores()) == ids


# --- Langfuse: span -> observation mapping ---------------------------------------------------------


def observe(
    receiver: LangfuseReceiver,
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "op",
    resource: dict[str, Any] | None = None,
    edit: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Export one span through the OTLP HTTP exporter and return its observation."""
    with tracing(langfuse_exporter(receiver), resource) as tracer, tracer.start_as_current_span(name) as span:
        span.set_attributes(attributes or {})
        if edit is not None:
            edit(span)
    return receiver.observations()[-1]  # SimpleSpanProcessor exported it before returning


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"langfuse.observation.type": "guardrail", "gen_ai.operation.name": "chat"}, "guardrail"),
        ({"langfuse.observation.type": "evaluator"}, "evaluator"),
        ({"langfuse.observation.type": "bogus", "openinference.span.kind": "RETRIEVER"}, "retriever"),
        ({"openinference.span.kind": "LLM", "gen_ai.operation.name": "execute_tool"}, "generation"),
        ({"openinference.span.kind": "CHAIN"}, "chain"),
        ({"gen_ai.operation.name": "chat", "gen_ai.tool.name": "search"}, "generation"),
        ({"gen_ai.operation.name": "generate_content"}, "generation"),
        ({"gen_ai.operation.name": "embeddings"}, "embedding"),
        ({"gen_ai.operation.name": "create_agent"}, "agent"),
        ({"gen_ai.operation.name": "execute_tool"}, "tool"),
        ({"gen_ai.operation.name": "unknown", "gen_ai.tool.call.id": "call-1"}, "tool"),
        ({"gen_ai.tool.name": "search", "gen_ai.request.model": "gpt-4o"}, "tool"),
        ({"gen_ai.response.model": "gpt-4o"}, "generation"),
        ({"llm.model_name": "claude"}, "generation"),
        ({"model": "claude"}, "generation"),
        ({"gen_ai.request.model": ""}, "span"),
        ({}, "span"),
    ],
)
def test_observation_type_first_match_wins(
    langfuse: LangfuseReceiver, attributes: dict[str, Any], expected: str
) -> None:
    assert observe(langfuse, attributes)["type"] == expected


def test_span_events_never_become_observations(langfuse: LangfuseReceiver) -> None:
    observation = observe(langfuse, edit=lambda span: span.add_event("gen_ai.content.prompt", {"a": 1}))
    assert [o["id"] for o in langfuse.observations()] == [observation["id"]]


def test_ids_and_parentage(langfuse: LangfuseReceiver) -> None:
    with tracing(langfuse_exporter(langfuse)) as tracer, tracer.start_as_current_span("root"):
        tracer.start_span("leaf").end()
    leaf, root = langfuse.observations()
    assert leaf["parent_observation_id"] == root["id"] and root["parent_observation_id"] is None
    assert leaf["trace_id"] == root["trace_id"] == langfuse.spans()[0]["trace_id"]
    assert root["start_time"].endswith("Z") and root["start_time"] <= leaf["start_time"] <= root["end_time"]


def test_name_prefers_gen_ai_tool_name(langfuse: LangfuseReceiver) -> None:
    assert observe(langfuse, {"gen_ai.tool.name": "web_search"}, name="execute_tool")["name"] == "web_search"
    assert observe(langfuse, name="plain")["name"] == "plain"


@pytest.mark.parametrize(
    ("attributes", "status", "level", "message"),
    [
        ({"langfuse.observation.level": "WARNING"}, Status(StatusCode.ERROR, "boom"), "WARNING", "boom"),
        ({}, Status(StatusCode.ERROR, "boom"), "ERROR", "boom"),
        (
            {"langfuse.observation.status_message": "custom"},
            Status(StatusCode.ERROR, "boom"),
            "ERROR",
            "custom",
        ),
        ({"langfuse.observation.level": "LOUD"}, Status(StatusCode.OK), "DEFAULT", None),
        ({"langfuse.observation.level": "DEBUG"}, None, "DEBUG", None),
    ],
)
def test_level_and_status_message(
    langfuse: LangfuseReceiver,
    attributes: dict[str, Any],
    status: Status | None,
    level: str,
    message: str | None,
) -> None:
    observation = observe(langfuse, attributes, edit=lambda span: status and span.set_status(status))
    assert (observation["level"], observation["status_message"]) == (level, message)


@pytest.mark.parametrize(
    ("attributes", "model"),
    [
        (
            {
                "langfuse.observation.model.name": "lf",
                "gen_ai.response.model": "resp",
                "gen_ai.request.model": "req",
            },
            "lf",
        ),
        ({"gen_ai.response.model": "resp", "gen_ai.request.model": "req"}, "resp"),
        ({"gen_ai.request.model": "req", "llm.model_name": "llm"}, "req"),
        ({"model": "m"}, "m"),
        ({"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "req"}, None),
        ({}, None),
    ],
)
def test_model(langfuse: LangfuseReceiver, attributes: dict[str, Any], model: str | None) -> None:
    assert observe(langfuse, attributes)["model"] == model


def test_model_parameters(langfuse: LangfuseReceiver) -> None:
    attributes = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.stop_sequences": ["END"],
        "gen_ai.request.stream": True,
    }
    assert observe(langfuse, attributes)["model_parameters"] == {
        "temperature": 0.2,
        "max_tokens": 256,
        "stop_sequences": '["END"]',
        "stream": "true",
    }
    explicit = {**attributes, "langfuse.observation.model.parameters": '{"top_p": 0.9, "tools": ["a"]}'}
    assert observe(langfuse, explicit)["model_parameters"] == {"top_p": 0.9, "tools": '["a"]'}


@pytest.mark.parametrize(
    ("attributes", "usage"),
    [
        ({"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}, {"input": 100, "output": 20}),
        (
            {
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 20,
                "gen_ai.usage.cache_read.input_tokens": 60,
            },
            {"input": 40, "output": 20, "input_cached_tokens": 60},
        ),
        (
            {
                "langfuse.observation.usage_details": '{"input": 7, "output": 3, "total": 10}',
                "gen_ai.usage.input_tokens": 100,
            },
            {"input": 7, "output": 3, "total": 10},
        ),
        ({"langfuse.observation.usage_details": '{"input": -1}', "gen_ai.usage.input_tokens": 100}, {}),
        (
            {"langfuse.observation.usage_details": "not json", "gen_ai.usage.input_tokens": 100},
            {"input": 100},
        ),
        ({"gen_ai.usage.cost": 0.5, "gen_ai.usage.input_tokens": 1}, {"input": 1}),
        (
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.usage.input_tokens": 100,
                "langfuse.observation.usage_details": '{"input": 7}',
            },
            {},
        ),
    ],
)
def test_usage_details(langfuse: LangfuseReceiver, attributes: dict[str, Any], usage: dict[str, int]) -> None:
    assert observe(langfuse, attributes)["usage_details"] == usage


@pytest.mark.parametrize(
    ("attributes", "cost"),
    [
        (
            {"langfuse.observation.cost_details": '{"input": 0.01, "total": 0.03}', "gen_ai.usage.cost": 9.0},
            {"input": 0.01, "total": 0.03},
        ),
        ({"gen_ai.usage.cost": 0.0042}, {"total": 0.0042}),
        ({}, {}),
    ],
)
def test_cost_details(langfuse: LangfuseReceiver, attributes: dict[str, Any], cost: dict[str, float]) -> None:
    assert observe(langfuse, attributes)["cost_details"] == cost


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            {
                "langfuse.observation.input": '{"q": "hi"}',
                "langfuse.observation.output": "plain text",
                "input.value": "ignored",
            },
            ({"q": "hi"}, "plain text"),
        ),
        ({"input.value": "question", "gen_ai.input.messages": "[]"}, ("question", None)),
        (
            {"gen_ai.input.messages": '[{"role": "user", "parts": []}]', "gen_ai.output.messages": "[]"},
            ([{"role": "user", "parts": []}], []),
        ),
        (
            {"gen_ai.tool.call.arguments": '{"city": "Paris"}', "gen_ai.tool.call.result": "sunny"},
            ({"city": "Paris"}, "sunny"),
        ),
        ({"langfuse.observation.input": "{broken json"}, ("{broken json", None)),
        ({}, (None, None)),
    ],
)
def test_input_and_output(
    langfuse: LangfuseReceiver, attributes: dict[str, Any], expected: tuple[Any, Any]
) -> None:
    observation = observe(langfuse, attributes)
    assert (observation["input"], observation["output"]) == expected


def test_gen_ai_message_events_give_input_and_output(langfuse: LangfuseReceiver) -> None:
    def add_events(span: Any) -> None:
        span.add_event("gen_ai.user.message", {"content": "hi"})
        span.add_event("gen_ai.choice", {"index": 0, "finish_reason": "stop"})

    observation = observe(langfuse, {"gen_ai.input.messages": "[]"}, edit=add_events)
    assert observation["input"] == [{"role": "user", "content": "hi"}]
    assert observation["output"] == {"index": 0, "finish_reason": "stop"}
    assert len(langfuse.observations()) == 1


def test_metadata(langfuse: LangfuseReceiver) -> None:
    attributes = {
        "langfuse.observation.metadata.customer": "acme",
        "langfuse.trace.metadata.tier": "gold",
        "app.custom": 3,
    }
    metadata = observe(langfuse, attributes)["metadata"]
    assert metadata["customer"] == "acme" and metadata["tier"] == "gold"
    assert (
        metadata["attributes"] == attributes
        and metadata["resourceAttributes"]["service.name"] == "receiver-tests"
    )
    assert metadata["scope"] == {"name": "receiver-tests", "version": "1.0"}


@pytest.mark.parametrize(
    ("attributes", "user_id", "session_id"),
    [
        (
            {"langfuse.user.id": "lf-user", "user.id": "u", "langfuse.session.id": "lf-s", "session.id": "s"},
            "lf-user",
            "lf-s",
        ),
        ({"user.id": "u", "session.id": "s", "gen_ai.conversation.id": "conv"}, "u", "s"),
        ({"gen_ai.conversation.id": "conv"}, None, "conv"),
        ({}, None, None),
    ],
)
def test_user_and_session_come_from_span_attributes_only(
    langfuse: LangfuseReceiver, attributes: dict[str, Any], user_id: str | None, session_id: str | None
) -> None:
    resource = {"user.id": "resource-user", "session.id": "resource-session", "langfuse.user.id": "r"}
    observation = observe(langfuse, attributes, resource=resource)
    assert (observation["user_id"], observation["session_id"]) == (user_id, session_id)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        ('["x", "y"]', ["x", "y"]),
        ("red, green,blue", ["red", "green", "blue"]),
        ("solo", ["solo"]),
    ],
)
def test_trace_name_and_tags(langfuse: LangfuseReceiver, tags: Any, expected: list[str]) -> None:
    observation = observe(langfuse, {"langfuse.trace.name": "checkout", "langfuse.trace.tags": tags})
    assert (observation["trace_name"], observation["tags"]) == ("checkout", expected)


@pytest.mark.parametrize(
    ("attributes", "resource", "environment"),
    [
        ({"langfuse.environment": "production"}, {"deployment.environment.name": "staging"}, "production"),
        ({}, {"deployment.environment.name": "staging"}, "staging"),
        ({"deployment.environment": "QA_1"}, {}, "qa_1"),
        (
            {"deployment.environment.name": "span-env"},
            {"langfuse.environment": "resource-env"},
            "resource-env",
        ),
        ({"langfuse.environment": "not valid!"}, {}, "default"),
        ({"langfuse.environment": "x" * 41}, {}, "default"),
        ({}, {}, "default"),
    ],
)
def test_environment(
    langfuse: LangfuseReceiver, attributes: dict[str, Any], resource: dict[str, Any], environment: str
) -> None:
    assert observe(langfuse, attributes, resource=resource)["environment"] == environment


@pytest.mark.parametrize(
    ("attributes", "resource", "release", "version"),
    [
        (
            {"langfuse.release": "r-span", "langfuse.version": "v-span"},
            {"langfuse.release": "r-res", "service.version": "1.0.0"},
            "r-span",
            "v-span",
        ),
        ({}, {"langfuse.release": "r-res", "service.version": "1.0.0"}, "r-res", "1.0.0"),
        ({}, {"langfuse.version": "ignored"}, None, None),
    ],
)
def test_release_and_version(
    langfuse: LangfuseReceiver,
    attributes: dict[str, Any],
    resource: dict[str, Any],
    release: Any,
    version: Any,
) -> None:
    observation = observe(langfuse, attributes, resource=resource)
    assert (observation["release"], observation["version"]) == (release, version)


def test_traces_aggregate_their_observations(langfuse: LangfuseReceiver) -> None:
    with tracing(langfuse_exporter(langfuse), {"langfuse.environment": "prod"}) as tracer:
        with tracer.start_as_current_span("agent-run", attributes={"langfuse.trace.metadata.tier": "gold"}):
            with tracer.start_as_current_span(
                "llm", attributes={"user.id": "u1", "langfuse.trace.tags": ["a"]}
            ):
                pass
            attributes = {
                "session.id": "s1",
                "langfuse.trace.tags": "a,b",
                "langfuse.trace.name": "checkout",
                "langfuse.trace.metadata.region": "eu",
                "langfuse.trace.input": '{"q": 1}',
            }
            with tracer.start_as_current_span("tool", attributes=attributes):
                pass
        with tracer.start_as_current_span("second-trace"):
            pass
    first, second = langfuse.traces()
    assert first["name"] == "checkout" and second["name"] == "second-trace"
    assert (first["user_id"], first["session_id"], first["tags"]) == ("u1", "s1", ["a", "b"])
    assert first["metadata"] == {"tier": "gold", "region": "eu"} and first["environment"] == "prod"
    assert first["input"] == {"q": 1} and len(first["observation_ids"]) == 3
    assert langfuse.trace(second["id"]) == second
