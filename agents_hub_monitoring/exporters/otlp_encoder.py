"""SDK spans straight to the protobuf wire bytes of an OTLP ``ExportTraceServiceRequest``.

The official encoder builds a protobuf object per span, attribute, value, event and link in
Python, then serialises the tree: most of the export thread's CPU per span. Here each message is
written as bytes (tags, varints, length prefixes) with the official grouping by resource and
scope, the same field rules (proto3 defaults left out, oneof values always written) and fields in
field-number order: the output is byte-for-byte ``encode_spans(spans).SerializePartialToString()``
(the tests hold it to that). A batch holding anything not written exactly the official way (an int
outside int64, a lone surrogate, an unknown kind, a broken span) goes to the official encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from struct import Struct
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanKind

from agents_hub_monitoring._safety import internal_logger

__all__ = ["encode_spans_fast", "serialize_spans"]

_FIXED64 = Struct("<Q").pack
_FIXED32 = Struct("<I").pack
_DOUBLE = Struct("<d").pack
_BYTE = tuple(bytes((value,)) for value in range(128))  # one-byte varints
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_UINT32_MAX = (1 << 32) - 1

# Span.kind (field 6) as written: the OTLP enum is the SDK's value plus one.
_KIND = {kind: b"\x30" + _BYTE[kind.value + 1] for kind in SpanKind}
# Span.flags / Link.flags: "context has is_remote" always, "is remote" when the parent is remote.
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200
_SPAN_FLAGS = (b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE), b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE))
_STATUS = (b"\x7a\x00", b"\x7a\x02\x18\x01", b"\x7a\x02\x18\x02")  # UNSET, OK, ERROR without a message
_LINK_FLAGS = (b"\x35" + _FIXED32(_HAS_IS_REMOTE), b"\x35" + _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE))

# Encoded ``KeyValue.key`` fields: attribute keys come from a small, fixed vocabulary.
_KEYS: dict[str, bytes] = {}
_MAX_CACHED_KEYS = 4096
# Length-prefixed ``KeyValue`` messages for short string values, by key then value; at most
# 256 keys x 64 values x 64 chars (a few MB), cleared when full.
_KEY_VALUES: dict[str, dict[str, bytes]] = {}
_MAX_CACHED_VALUE_KEYS, _MAX_CACHED_VALUES_PER_KEY, _MAX_CACHED_VALUE_CHARS = 256, 64, 64
_EMPTY: Mapping[str, Any] = {}
# Exported spans are plain ReadableSpans: their fields are read directly when this SDK has them.
_DIRECT = hasattr(BoundedAttributes(), "_dict") and all(hasattr(ReadableSpan("probe"), name) for name in (
    "_context", "_parent", "_name", "_kind", "_start_time", "_end_time", "_status", "_events", "_links",
    "_attributes"))


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    size = len(payload)
    return tag + (_BYTE[size] if size < 0x80 else _varint(size)) + payload


def _int64(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _BYTE[value]
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("int attribute outside int64")  # the official encoder drops it and logs
    return _varint(value + (1 << 64) if value < 0 else value)


def _uint32(tag: bytes, value: int) -> bytes:
    if not value:
        return b""
    if not 0 < value <= _UINT32_MAX:
        raise ValueError("count outside uint32")
    return tag + _varint(value)


def _key(key: str) -> bytes:
    encoded = _KEYS.get(key)
    if encoded is None:
        encoded = _field(b"\x0a", key.encode()) if key else b""
        if len(_KEYS) >= _MAX_CACHED_KEYS:
            _KEYS.clear()  # unbounded key sets (ids in keys) must not grow memory
        _KEYS[key] = encoded
    return encoded


def _any_value(value: Any) -> bytes:
    """An ``AnyValue`` body; the same type tests, in the same order, as the official encoder."""
    kind = type(value)
    if kind is str:
        return _field(b"\x0a", value.encode())
    if value is None:
        return b""
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + _int64(value)
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    return _other_value(value)


def _other_value(value: Any) -> bytes:
    if isinstance(value, str):
        return _field(b"\x0a", str.encode(value))
    if isinstance(value, int):
        return b"\x18" + _int64(int(value))
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", bytes(value))
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(item)) for item in value]))
    if isinstance(value, Mapping):
        return _field(b"\x32", b"".join([_field(b"\x0a", _key(str(k)) + _field(b"\x12", _any_value(v)))
                                         for k, v in value.items()]))
    raise TypeError(f"unsupported attribute value type {type(value).__name__}")


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
    """Repeated ``KeyValue`` fields under ``tag``. Short string values are cached: most repeat from
    span to span (operation, model, provider and tool names)."""
    if not attributes:
        return []
    out = []
    for key, value in attributes.items():
        if type(value) is str and len(value) <= _MAX_CACHED_VALUE_CHARS:
            by_value = _KEY_VALUES.get(key)
            if by_value is None:
                if len(_KEY_VALUES) >= _MAX_CACHED_VALUE_KEYS:
                    _KEY_VALUES.clear()
                by_value = _KEY_VALUES[key] = {}
            encoded = by_value.get(value)
            if encoded is None:
                encoded = _field(b"", _key(key) + _field(b"\x12", _field(b"\x0a", value.encode())))
                if len(by_value) >= _MAX_CACHED_VALUES_PER_KEY:
                    by_value.clear()  # a key whose values never repeat (ids, content) stops costing memory
                by_value[value] = encoded
            out.append(tag + encoded)
        else:
            out.append(_field(tag, _key(key) + _field(b"\x12", _any_value(value))))
    return out


def _text(tag: bytes, text: str | None) -> bytes:
    return _field(tag, text.encode()) if text else b""


def _event(event: Any) -> bytes:
    timestamp = event.timestamp
    parts = [b"\x09" + _FIXED64(timestamp) if timestamp else b"", _text(b"\x12", event.name)]
    parts += _attributes(b"\x1a", event.attributes)
    parts.append(_uint32(b"\x20", event.dropped_attributes))
    return _field(b"\x5a", b"".join(parts))


def _link(link: Any) -> bytes:
    context = link.context
    parts = [b"\x0a\x10", context.trace_id.to_bytes(16, "big"), b"\x12\x08", context.span_id.to_bytes(8, "big")]
    parts += _attributes(b"\x22", link.attributes)
    parts.append(_uint32(b"\x28", link.dropped_attributes))
    parts.append(_LINK_FLAGS[bool(context.is_remote)])
    return _field(b"\x6a", b"".join(parts))


def _status(status: Any) -> bytes:
    if status is None:
        return b""
    code, description = status.status_code.value, status.description
    if not description:
        return _STATUS[code] if 0 <= code < 3 else _field(b"\x7a", b"\x18" + _varint(code))
    return _field(b"\x7a", _field(b"\x12", description.encode()) + (b"\x18" + _varint(code) if code else b""))


def _span(span: ReadableSpan) -> bytes:
    """A ``Span`` message body, fields in field-number order (flags, field 16, last)."""
    if type(span) is ReadableSpan and _DIRECT:
        # What the SDK hands to exporters: read its fields directly rather than through the
        # properties, which copy events and links and wrap attributes in a proxy. Same values.
        context, parent, name, kind = span._context, span._parent, span._name, span._kind
        start, end, status, events, links = span._start_time, span._end_time, span._status, span._events, span._links
        attributes = span._attributes
        dropped_attributes = attributes.dropped if isinstance(attributes, BoundedAttributes) else 0
        attributes = attributes._dict if type(attributes) is BoundedAttributes else attributes or _EMPTY
        dropped_events = events.dropped if isinstance(events, BoundedList) else 0
        dropped_links = links.dropped if isinstance(links, BoundedList) else 0
    else:
        context, parent, name, kind = span.get_span_context(), span.parent, span.name, span.kind
        start, end, status, events, links = span.start_time, span.end_time, span.status, span.events, span.links
        attributes, dropped_attributes = span.attributes, span.dropped_attributes
        dropped_events, dropped_links = span.dropped_events, span.dropped_links
    parts = [b"\x0a\x10", context.trace_id.to_bytes(16, "big"), b"\x12\x08", context.span_id.to_bytes(8, "big")]
    trace_state = context.trace_state
    if trace_state:
        parts.append(_text(b"\x1a", ",".join([f"{key}={value}" for key, value in trace_state.items()])))
    if parent:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    if name:
        parts.append(_field(b"\x2a", name.encode()))
    parts.append(_KIND[kind])
    if start:
        parts.append(b"\x39" + _FIXED64(start))
    if end:
        parts.append(b"\x41" + _FIXED64(end))
    if attributes:
        parts += _attributes(b"\x4a", attributes)
    parts.append(_uint32(b"\x50", dropped_attributes))
    if events:
        parts += [_event(event) for event in events]
    parts.append(_uint32(b"\x60", dropped_events))
    if links:
        parts += [_link(link) for link in links]
    parts.append(_uint32(b"\x70", dropped_links))
    parts.append(_status(status))
    parts.append(_SPAN_FLAGS[bool(parent and parent.is_remote)])
    return b"".join(parts)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b"\x0a\x00"  # the official encoder writes an empty scope message
    body = [_text(b"\x0a", scope.name), _text(b"\x12", scope.version), *_attributes(b"\x1a", scope.attributes)]
    return _field(b"\x0a", b"".join(body))


def encode_spans_fast(spans: Sequence[ReadableSpan]) -> bytes:
    """The request bytes, or an exception for anything it does not encode exactly as the official one."""
    # Grouped like the official encoder: equal resources (then equal scopes) share one entry, in
    # order of first appearance. Identity is checked first so the costly Resource hash runs once
    # per distinct object, not once per span.
    groups: dict[Any, dict[Any, list[bytes]]] = {}
    buckets: dict[tuple[int, int], list[bytes]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope or None
        identity = (id(resource), id(scope))
        bucket = buckets.get(identity)
        if bucket is None:
            bucket = buckets[identity] = groups.setdefault(resource, {}).setdefault(scope, [])
        bucket.append(_field(b"\x12", _span(span)))
    request = []
    for resource, scopes in groups.items():
        body = [_field(b"\x0a", b"".join(_attributes(b"\x0a", resource.attributes)))]
        for scope, encoded in scopes.items():
            schema = _text(b"\x1a", scope.schema_url) if scope is not None else b""
            body.append(_field(b"\x12", b"".join([_scope(scope), *encoded, schema])))
        body.append(_text(b"\x1a", resource.schema_url))
        request.append(_field(b"\x0a", b"".join(body)))
    return b"".join(request)


def serialize_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The request bytes for ``spans``: the fast encoder, or the official one for this batch if it fails.

    Raises only what the official encoder raises for a batch neither can encode.
    """
    try:
        return encode_spans_fast(spans)
    except Exception as error:
        # The error type only: messages could quote span content.
        internal_logger.log(logging.DEBUG, "otlp_encoder:fallback",
                            "agents_hub_monitoring: fast OTLP encoding fell back to the official encoder (%s)",
                            type(error).__name__)
        return encode_spans(spans).SerializePartialToString()
