"""The fast OTLP encoder writes what the official encoder writes: same message, and the same bytes."""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState
from receivers import OTLPHTTPReceiver

from agents_hub_monitoring.exporters import otlp_encoder
from agents_hub_monitoring.exporters.otlp import OTLPSettings, build_otlp_exporters
from agents_hub_monitoring.exporters.otlp_encoder import encode_spans_fast, serialize_spans
from agents_hub_monitoring.exporters.otlp_fast import FastOTLPSpanExporter

Spans = Sequence[ReadableSpan]
INT64 = (-(1 << 63), (1 << 63) - 1)
ALL_TYPES: dict[str, Any] = {
    "str": "plain", "unicode": "héllo wörld ✓ 漢字 🚀 \u0301", "empty": "", "true": True, "false": False,
    "zero": 0, "negative": -42, "int64.min": INT64[0], "int64.max": INT64[1], "float": 3.25, "float.zero": 0.0,
    "float.negzero": -0.0, "inf": math.inf, "bytes": b"\x00\xffraw", "bytes.empty": b"", "none": None,
    "strs": ["a", "", "ü"], "bools": (True, False), "ints": [1, -1, 1 << 40], "floats": [0.5, -2.0],
    "empty.list": [], "mixed": [1, "a", None, 2.5, True], "nested": [[1, 2], ["x"]],
    "map": {"k": "v", "n": [1, None], "inner": {"deep": True}}, "long": "x" * 20_000, "": "empty key",
}


def make_provider(resource: Resource | None = None, limits: SpanLimits | None = None
                  ) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=resource or Resource.create({"service.name": "encoder-tests"}),
                              span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def spans_of(build: Callable[[trace.Tracer], None], **kwargs: Any) -> Spans:
    provider, memory = make_provider(**kwargs)
    build(provider.get_tracer("tests.scope", "1.0"))
    return memory.get_finished_spans()


def assert_same(spans: Spans) -> None:
    official = encode_spans(spans)
    ours = encode_spans_fast(spans)
    assert ExportTraceServiceRequest.FromString(ours) == official
    assert ours == official.SerializePartialToString()  # byte-for-byte, not just the same message


def remote_parent(trace_state: TraceState | None = None) -> Any:
    context = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1),
                          trace_state=trace_state or TraceState([("vendor", "v1"), ("other", "x=y")]))
    return trace.set_span_in_context(NonRecordingSpan(context))


SHAPES: dict[str, Callable[[trace.Tracer], None]] = {
    "all attribute types": lambda t: t.start_span("types", attributes=ALL_TYPES).end(),
    "no attributes, empty name": lambda t: t.start_span("").end(),
    "every kind": lambda t: [t.start_span(f"k{k.value}", kind=k).end() for k in SpanKind],
    "nested": lambda t: _nested(t),
    "events": lambda t: _events(t),
    "links": lambda t: _links(t),
    "remote parent": lambda t: t.start_span("child", context=remote_parent()).end(),
    "remote parent without trace state": lambda t: t.start_span("c", context=remote_parent(TraceState())).end(),
    "status ok": lambda t: _status(t, Status(StatusCode.OK)),
    "status error with message": lambda t: _status(t, Status(StatusCode.ERROR, "boom: ünïcode")),
    "status error without message": lambda t: _status(t, Status(StatusCode.ERROR)),
    "exception": lambda t: _exception(t),
    "explicit times": lambda t: t.start_span("timed", start_time=1).end(end_time=(1 << 64) - 1),
}


def _nested(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("root", attributes={"a": 1}), tracer.start_as_current_span("mid"):
        tracer.start_span("leaf", attributes={"b": "c"}).end()


def _events(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("with events") as span:
        span.add_event("plain")
        span.add_event("attributed", {"k": "v", "n": 3, "l": [1.5, 2.5]}, timestamp=123)
        span.add_event("", {}, timestamp=0)


def _links(tracer: trace.Tracer) -> None:
    local = SpanContext(0xABC, 0xDEF, is_remote=False)
    remote = SpanContext(0xFFFF << 100, 1, is_remote=True, trace_state=TraceState([("a", "b")]))
    tracer.start_span("linked", links=[Link(local), Link(remote, {"why": "batch", "n": 2})]).end()


def _status(tracer: trace.Tracer, status: Status) -> None:
    with tracer.start_as_current_span("status") as span:
        span.set_status(status)


def _exception(tracer: trace.Tracer) -> None:
    try:
        with tracer.start_as_current_span("fails"):
            raise ValueError("bad ✗")
    except ValueError:
        pass


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_span_shapes_encode_like_the_official_encoder(shape: str) -> None:
    assert_same(spans_of(SHAPES[shape]))


def test_nan_encodes_to_the_same_bytes() -> None:
    spans = spans_of(lambda t: t.start_span("nan", attributes={"nan": math.nan, "nans": [math.nan]}).end())
    assert encode_spans_fast(spans) == encode_spans(spans).SerializePartialToString()  # NaN != NaN as messages


def test_dropped_counts_and_truncated_values() -> None:
    limits = SpanLimits(max_span_attributes=2, max_events=1, max_links=1, max_event_attributes=1,
                        max_link_attributes=1, max_attribute_length=5)

    def build(tracer: trace.Tracer) -> None:
        links = [Link(SpanContext(1, 2, False), {"a": 1, "b": 2}), Link(SpanContext(3, 4, False))]
        with tracer.start_as_current_span("limited", links=links, attributes={"x": "long value", "y": 1}) as span:
            span.set_attributes({"z": 2, "w": 3})
            span.add_event("e1", {"a": 1, "b": 2})
            span.add_event("e2")

    spans = spans_of(build, limits=limits)
    assert spans[0].dropped_attributes and spans[0].dropped_events and spans[0].dropped_links
    assert_same(spans)


def test_resources_and_scopes_are_grouped_like_the_official_encoder() -> None:
    first, first_memory = make_provider(Resource.create({"service.name": "one"}))
    second, second_memory = make_provider(Resource({"service.name": "two", "n": 2}, schema_url="https://s/1"))
    twin, twin_memory = make_provider(Resource.create({"service.name": "one"}))  # equal, not identical
    tracers = [first.get_tracer("a", "1"), second.get_tracer("b"), first.get_tracer("c", schema_url="https://s/2"),
               twin.get_tracer("a", "1"), first.get_tracer("d", "2", attributes={"scope.attr": "yes"})]
    for round_ in range(3):  # interleaved, so groups are filled out of order
        for index, tracer in enumerate(tracers):
            tracer.start_span(f"s{round_}.{index}").end()
    spans = [*first_memory.get_finished_spans(), *second_memory.get_finished_spans(),
             *twin_memory.get_finished_spans()]
    spans.sort(key=lambda span: span.start_time or 0)
    request = ExportTraceServiceRequest.FromString(encode_spans_fast(spans))
    assert len(request.resource_spans) == 2
    assert_same(spans)


def test_large_batches_and_empty_batches() -> None:
    assert encode_spans_fast([]) == encode_spans([]).SerializePartialToString() == b""

    def build(tracer: trace.Tracer) -> None:
        for index in range(2000):
            tracer.start_span(f"span {index}", attributes={"i": index, "text": "é" * (index % 300)}).end()

    assert_same(spans_of(build))


def test_hand_built_and_subclassed_readable_spans() -> None:
    # What the scrubbing exporter hands on: plain dicts and lists, and a subclass read through properties.
    context = SpanContext(7, 8, False)
    plain = ReadableSpan("plain", context, attributes={"k": "v", "n": [1, 2]}, events=[Event("e", {"a": 1}, 5)],
                         links=[Link(SpanContext(9, 10, True))], start_time=1, end_time=2,
                         resource=Resource.create({"service.name": "hand"}))

    class Renamed(ReadableSpan):
        @property
        def name(self) -> str:
            return "renamed"

    odd = Renamed("original", context, attributes=None, resource=plain.resource, start_time=3, end_time=4)
    assert_same([plain, odd])
    assert ExportTraceServiceRequest.FromString(encode_spans_fast([odd])).resource_spans[0].scope_spans[0].spans[
        0].name == "renamed"


def test_spans_read_through_their_public_properties_encode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_encoder, "_DIRECT", False)  # as on an SDK without the private fields we read
    assert_same(spans_of(lambda t: [SHAPES[name](t) for name in sorted(SHAPES)]))


def test_value_cache_stays_bounded_and_exact() -> None:
    def build(tracer: trace.Tracer) -> None:
        for index in range(400):  # 400 keys x 100 values: more than the cache keeps
            tracer.start_span("many", attributes={f"key.{(index + n) % 400}": f"v{n}" for n in range(100)}).end()

    spans = spans_of(build)
    assert_same(spans)
    assert len(otlp_encoder._KEY_VALUES) <= otlp_encoder._MAX_CACHED_VALUE_KEYS
    assert all(len(values) <= otlp_encoder._MAX_CACHED_VALUES_PER_KEY for values in otlp_encoder._KEY_VALUES.values())


@pytest.mark.parametrize("attributes", [{"too.big": 1 << 64}, {"surrogate": "bad \udc80"},
                                        {"ok": 1, "neg": -(1 << 70)}])
def test_falls_back_to_the_official_encoder_for_values_it_does_not_write(attributes: dict[str, Any]) -> None:
    # The official encoder logs and drops such an attribute; the fallback does the same for the batch.
    spans = spans_of(lambda t: t.start_span("odd", attributes={"kept": "yes", **attributes}).end())
    with pytest.raises((ValueError, UnicodeEncodeError)):
        encode_spans_fast(spans)
    assert serialize_spans(spans) == encode_spans(spans).SerializePartialToString()


def test_any_failure_falls_back_for_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = spans_of(SHAPES["nested"])

    def broken(_: Any) -> bytes:
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(otlp_encoder, "_span", broken)
    assert serialize_spans(spans) == encode_spans(spans).SerializePartialToString()


@pytest.fixture
def receiver() -> Iterator[OTLPHTTPReceiver]:
    with OTLPHTTPReceiver() as server:
        yield server


def test_exporter_sends_the_official_request(receiver: OTLPHTTPReceiver) -> None:
    spans = spans_of(lambda t: [SHAPES[name](t) for name in sorted(SHAPES)])
    endpoint = f"{receiver.endpoint}/v1/traces"
    fast, official = FastOTLPSpanExporter(endpoint=endpoint), OTLPSpanExporter(endpoint=endpoint)
    assert fast.fast_encoding
    assert fast.export(spans) is SpanExportResult.SUCCESS
    assert official.export(spans) is SpanExportResult.SUCCESS
    first, second = receiver.wait_for_requests(2)
    assert first.body == second.body
    assert first.headers["content-type"] == second.headers["content-type"] == "application/x-protobuf"
    assert len(receiver.spans()) == 2 * len(spans)
    fast.shutdown()
    official.shutdown()


def test_exporter_keeps_compression_headers_and_failure_handling(receiver: OTLPHTTPReceiver) -> None:
    spans = spans_of(SHAPES["events"])
    exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", headers={"x-team": "agents"},
                                    compression=Compression.Gzip, timeout=5)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    request = receiver.wait_for_requests(1)[0]
    assert request.headers["content-encoding"] == "gzip" and request.headers["x-team"] == "agents"
    assert gzip.decompress(request.body) == encode_spans(spans).SerializePartialToString()
    receiver.fail_next(400)
    assert exporter.export(spans) is SpanExportResult.FAILURE  # non-retryable status, as the official one
    exporter.shutdown()
    assert exporter.export(spans) is SpanExportResult.FAILURE  # after shutdown


def test_exporter_never_raises_when_neither_encoder_can(receiver: OTLPHTTPReceiver) -> None:
    broken = ReadableSpan("broken", context=None, resource=Resource.create({}))  # no span context at all
    exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    assert exporter.export([broken]) is SpanExportResult.FAILURE
    assert receiver.requests() == []
    exporter.shutdown()


def test_exporter_defers_to_the_official_export_on_unknown_internals(receiver: OTLPHTTPReceiver) -> None:
    spans = spans_of(SHAPES["nested"])
    exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    exporter.fast_encoding = False  # what __init__ decides when the official internals differ
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert receiver.wait_for_requests(1)[0].body == encode_spans(spans).SerializePartialToString()
    exporter.shutdown()


def test_otlp_monitor_uses_the_fast_exporter_for_http_protobuf() -> None:
    spans, _ = build_otlp_exporters(OTLPSettings(endpoint="http://127.0.0.1:4318", protocol="http/protobuf"),
                                    metrics=False)
    assert isinstance(spans, FastOTLPSpanExporter)
    spans.shutdown()


# -- property-based: any span the SDK can hold ------------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KEYS = st.text(min_size=1, max_size=12)


def any_values(integers: st.SearchStrategy[int], text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | integers | st.floats() | text | st.binary(max_size=16)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=3),
                        max_leaves=8)


SPAN_SHAPES = st.fixed_dictionaries({
    "name": st.text(max_size=20), "kind": st.sampled_from(list(SpanKind)), "remote": st.booleans(),
    "events": st.lists(st.tuples(st.text(max_size=8), st.dictionaries(KEYS, st.integers(*INT64), max_size=2)),
                       max_size=2),
    "links": st.lists(st.tuples(st.integers(1, (1 << 128) - 1), st.integers(1, (1 << 64) - 1), st.booleans()),
                      max_size=2),
    "status": st.sampled_from([Status(StatusCode.UNSET), Status(StatusCode.OK), Status(StatusCode.ERROR),
                               Status(StatusCode.ERROR, "failed ✗")]),
})
OUT_OF_RANGE_INTS = st.integers(*INT64) | st.integers(min_value=1 << 63) | st.integers(max_value=-(1 << 63) - 1)
TEXT_WITH_SURROGATES = st.text(max_size=10) | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_provider, _memory = make_provider()
_tracer = _provider.get_tracer("property", "0")


def build_spans(shapes: list[dict[str, Any]], attributes: list[dict[str, Any]]) -> Spans:
    _memory.clear()
    for shape, attrs in zip(shapes, attributes, strict=False):
        links = [Link(SpanContext(t, s, remote)) for t, s, remote in shape["links"]]
        span = _tracer.start_span(shape["name"], kind=shape["kind"], attributes=attrs, links=links,
                                  context=remote_parent() if shape["remote"] else None)
        for name, event_attributes in shape["events"]:
            span.add_event(name, event_attributes)
        span.set_status(shape["status"])
        span.end()
    return _memory.get_finished_spans()


@PROPERTY_SETTINGS
@given(st.lists(SPAN_SHAPES, min_size=1, max_size=4),
       st.lists(st.dictionaries(KEYS, any_values(st.integers(*INT64), st.text(max_size=30)), max_size=6),
                min_size=1, max_size=4))
def test_property_any_valid_span_encodes_to_the_official_bytes(shapes: list[dict[str, Any]],
                                                                attributes: list[dict[str, Any]]) -> None:
    spans = build_spans(shapes, attributes)
    assert encode_spans_fast(spans) == encode_spans(spans).SerializePartialToString()


@PROPERTY_SETTINGS
@given(st.lists(st.dictionaries(KEYS, any_values(OUT_OF_RANGE_INTS, TEXT_WITH_SURROGATES), max_size=4),
                min_size=1, max_size=3))
def test_property_with_fallback_the_result_is_always_the_official_one(attributes: list[dict[str, Any]]) -> None:
    # Unbounded ints and lone surrogates included: these take the fallback, the result must not change.
    shape = {"name": "p", "kind": SpanKind.INTERNAL, "remote": False, "events": [], "links": [],
             "status": Status(StatusCode.UNSET)}
    spans = build_spans([shape] * len(attributes), attributes)
    assert serialize_spans(spans) == encode_spans(spans).SerializePartialToString()
