"""Turn OTLP protobuf messages into plain dicts that tests can compare with ``==``.

Receivers decode every request with these helpers so that assertions never have to
touch protobuf objects (whose equality and repr are awkward in test failures).
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

MessageT = TypeVar("MessageT", bound=Message)
ContentKind = Literal["protobuf", "json"]

# OTLP/JSON encodes these bytes fields as hex, while protobuf's JSON mapping expects base64.
_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class DecodeError(ValueError):
    """The body could not be decompressed or parsed; receivers answer 400."""


def content_kind(content_type: str | None) -> ContentKind | None:
    """Classify a Content-Type header; parameters such as ``charset`` are ignored."""
    value = (content_type or "").lower()
    if "application/x-protobuf" in value:
        return "protobuf"
    if "application/json" in value:
        return "json"
    return None


def decompress(body: bytes, encoding: str | None) -> bytes:
    """Undo ``Content-Encoding`` (gzip or deflate, the two the OTel exporters can send)."""
    value = (encoding or "identity").strip().lower()
    try:
        if value == "gzip":
            return gzip.decompress(body)
        if value == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise DecodeError(f"cannot {value}-decompress body: {exc}") from exc
    if value in ("identity", ""):
        return body
    raise DecodeError(f"unsupported content-encoding {encoding!r}")


def parse_message(body: bytes, kind: ContentKind, message: MessageT) -> MessageT:
    """Fill ``message`` from a protobuf or OTLP/JSON body, raising :class:`DecodeError`."""
    try:
        if kind == "protobuf":
            message.ParseFromString(body)
        else:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise TypeError("OTLP/JSON body must be a JSON object")
            json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (ProtobufDecodeError, json_format.ParseError, ValueError, TypeError) as exc:
        raise DecodeError(f"cannot parse {kind} {type(message).__name__}: {exc}") from exc
    return message


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key in _HEX_ID_KEYS and isinstance(value, str):
            converted[key] = _hex_to_base64(value)
        else:
            converted[key] = _hex_ids_to_base64(value)
    return converted


def _hex_to_base64(value: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        return value  # not hex: let protobuf try it as base64, like lenient servers do


def any_value(value: AnyValue) -> Any:
    """Convert an ``AnyValue`` into str/bool/int/float/bytes/list/dict/None."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return None if which is None else getattr(value, which)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def hex_id(raw: bytes) -> str:
    return raw.hex()


def _enum_suffix(full_name: str, prefix: str) -> str:
    return full_name.removeprefix(prefix)


def span_to_dict(span: Span, resource: dict[str, Any], scope: str, scope_version: str) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": hex_id(span.trace_id),
        "span_id": hex_id(span.span_id),
        "parent_span_id": hex_id(span.parent_span_id) if span.parent_span_id else None,
        "kind": _enum_suffix(Span.SpanKind.Name(span.kind), "SPAN_KIND_"),
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "attributes": attributes(span.attributes),
        "status": {
            "code": _enum_suffix(Status.StatusCode.Name(span.status.code), "STATUS_CODE_"),
            "message": span.status.message,
        },
        "events": [
            {"name": e.name, "attributes": attributes(e.attributes), "time_unix_nano": e.time_unix_nano}
            for e in span.events
        ],
        "links": [
            {
                "trace_id": hex_id(link.trace_id),
                "span_id": hex_id(link.span_id),
                "attributes": attributes(link.attributes),
            }
            for link in span.links
        ],
        "resource": resource,
        "scope": scope,
        "scope_version": scope_version,
    }


def spans_from_request(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Flatten resource -> scope -> span nesting into one list, in wire order."""
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            spans.extend(span_to_dict(s, resource, scope.name, scope.version) for s in scope_spans.spans)
    return spans


def metrics_from_request(request: ExportMetricsServiceRequest) -> list[dict[str, Any]]:
    """One dict per metric per request; repeated cumulative exports repeat the metric."""
    metrics = []
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                metrics.append(_metric_to_dict(metric, resource, scope_metrics.scope.name))
    return metrics


def _metric_to_dict(metric: Metric, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    kind = metric.WhichOneof("data") or "unknown"
    data = getattr(metric, kind) if kind != "unknown" else None
    result: dict[str, Any] = {
        "name": metric.name,
        "unit": metric.unit,
        "description": metric.description,
        "type": kind,
        "points": [_point_to_dict(kind, point) for point in getattr(data, "data_points", [])],
        "resource": resource,
        "scope": scope,
    }
    if kind == "sum":
        result["is_monotonic"] = data.is_monotonic
    if hasattr(data, "aggregation_temporality"):
        result["temporality"] = _enum_suffix(
            AggregationTemporality.Name(data.aggregation_temporality), "AGGREGATION_TEMPORALITY_"
        )
    return result


def _optional(point: Message, field: str) -> float | None:
    return getattr(point, field) if point.HasField(field) else None


def _point_to_dict(kind: str, point: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "attributes": attributes(point.attributes),
        "start_time_unix_nano": point.start_time_unix_nano,
        "time_unix_nano": point.time_unix_nano,
    }
    if kind in ("sum", "gauge"):
        result["value"] = getattr(point, point.WhichOneof("value") or "as_int")
        return result
    result["count"] = point.count
    result["sum"] = point.sum if kind == "summary" else _optional(point, "sum")
    if kind == "histogram":
        result["bucket_counts"] = list(point.bucket_counts)
        result["explicit_bounds"] = list(point.explicit_bounds)
    elif kind == "exponential_histogram":
        result["scale"] = point.scale
        result["zero_count"] = point.zero_count
        result["positive"] = {
            "offset": point.positive.offset,
            "bucket_counts": list(point.positive.bucket_counts),
        }
        result["negative"] = {
            "offset": point.negative.offset,
            "bucket_counts": list(point.negative.bucket_counts),
        }
    elif kind == "summary":
        result["quantiles"] = [{"quantile": q.quantile, "value": q.value} for q in point.quantile_values]
        return result
    result["min"] = _optional(point, "min")
    result["max"] = _optional(point, "max")
    return result


def parse_traces(body: bytes, kind: ContentKind) -> ExportTraceServiceRequest:
    return parse_message(body, kind, ExportTraceServiceRequest())


def parse_metrics(body: bytes, kind: ContentKind) -> ExportMetricsServiceRequest:
    return parse_message(body, kind, ExportMetricsServiceRequest())
