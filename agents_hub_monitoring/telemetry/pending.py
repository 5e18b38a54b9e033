"""Span attributes finished after the span ended, off the calling thread.

Some attributes cost far more to compute than the span itself (an LLM call's usage, cost and
serialised messages). The code that ends such a span attaches a *pending* object to it instead;
whoever reads the span's attributes afterwards asks that object for the rest:

* the scrubbing exporter (on the batch processor's export thread), before it redacts, so every
  exporter behind it sees the finished span;
* ``GuardedSpanProcessor``, before it hands the span to a processor given to the monitor.

The pending object rides on the span's attribute mapping, which the SDK hands (the same object) to
every ``ReadableSpan`` it makes of the span: nothing to look up, nothing to clean up, and it goes
away with the span. Where the SDK's span has no such mapping, ``attach`` says so and the caller
sets the attributes on the span there and then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan

from agents_hub_monitoring._safety import report_internal_failure

__all__ = ["PendingAttributes", "attach", "finished_attributes", "pending_attributes", "with_pending"]

_SLOT = "_agents_hub_pending"


class PendingAttributes(Protocol):
    def span_attributes(self) -> Mapping[str, Any]:
        """The attributes to add to the span (they win over the span's own); never raises."""


def attach(span: Any, pending: PendingAttributes | dict[str, Any]) -> bool:
    """Attach ``pending`` (or a dict of valid attribute values) to an SDK span before it ends; False
    if this span cannot carry it. What was attached before is replaced."""
    attributes = getattr(span, "_attributes", None)
    if attributes is None or not hasattr(attributes, "__dict__"):
        return False
    setattr(attributes, _SLOT, pending)
    return True


def pending_attributes(span: ReadableSpan) -> Mapping[str, Any] | None:
    """The attributes still to add to an ended span, or None when it has none pending."""
    pending = getattr(getattr(span, "_attributes", None), _SLOT, None)
    if pending is None or type(pending) is dict:
        return pending
    try:
        return pending.span_attributes()
    except Exception as error:  # the span still goes out, with what it has
        report_internal_failure("pending span attributes", error)
        return None


def finished_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes with its pending ones added."""
    extra = pending_attributes(span)
    if not extra:
        return span.attributes or {}
    return {**(span.attributes or {}), **extra}


def with_pending(span: ReadableSpan) -> ReadableSpan:
    """``span`` itself, or a copy carrying its pending attributes (for span processors)."""
    extra = pending_attributes(span)
    if not extra:
        return span
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes={**(span.attributes or {}), **extra}, events=span.events, links=span.links, kind=span.kind,
        status=span.status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope)
