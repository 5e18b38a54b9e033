"""A copy of an ended span with new attributes, events, status or name, for the export thread.

The scrubber copies most spans it sees (every one that carries content or pending attributes).
``ReadableSpan(...)`` builds a new ``BoundedAttributes``, which validates every value again, and
two ``BoundedList``s: about 5 us a span. Values that reach this point are valid already (the SDK
checked them, or we made them), so when the SDK's objects have the fields we know, the copy takes
the span's fields as they are and puts in an attribute mapping made from a template (under 1 us).
Anything else goes through the public constructors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Status

__all__ = ["bounded_attributes", "copy_span"]

_TEMPLATE = BoundedAttributes(maxlen=None, attributes={}, immutable=True)
_SPAN_FIELDS = {"_attributes", "_events", "_status", "_name"}
# Fields the template carries and the fast copy replaces: _dict and dropped. If this SDK's objects
# look different, copies go through the constructors.
_FAST = {"_dict", "dropped", "_immutable"} <= set(getattr(_TEMPLATE, "__dict__", ())) and set(
    getattr(ReadableSpan("probe"), "__dict__", ())) >= _SPAN_FIELDS


def bounded_attributes(attributes: Mapping[str, Any], dropped: int) -> BoundedAttributes:
    """An immutable attribute mapping of already valid values, keeping the SDK's dropped count."""
    if _FAST and type(attributes) is dict:
        bounded = BoundedAttributes.__new__(BoundedAttributes)
        fields = bounded.__dict__
        fields.update(_TEMPLATE.__dict__)
        fields["_dict"] = attributes
        fields["dropped"] = dropped
        return bounded
    bounded = BoundedAttributes(maxlen=None, attributes=attributes, immutable=True)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: Iterable[Any], dropped: int) -> BoundedList:
    bounded = BoundedList.from_seq(None, items)
    bounded.dropped = dropped
    return bounded


def copy_span(span: ReadableSpan, *, name: str, attributes: Mapping[str, Any] | None,
              events: Sequence[Event] | None, status: Status) -> ReadableSpan:
    """``span`` with the given name and status, and the given attributes and events (None: its own)."""
    if _FAST and type(span) is ReadableSpan:
        copy = ReadableSpan.__new__(ReadableSpan)
        fields = copy.__dict__
        fields.update(span.__dict__)
        fields["_name"], fields["_status"] = name, status
        if attributes is not None:
            fields["_attributes"] = bounded_attributes(attributes, span.dropped_attributes)
        if events is not None:
            fields["_events"] = _bounded_list(events, span.dropped_events)
        return copy
    return ReadableSpan(
        name=name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=bounded_attributes(span.attributes if attributes is None else attributes, span.dropped_attributes),
        events=_bounded_list(span.events if events is None else events, span.dropped_events),
        links=_bounded_list(span.links, span.dropped_links),
        kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_info=getattr(span, "_instrumentation_info", None),
        instrumentation_scope=span.instrumentation_scope,
    )
