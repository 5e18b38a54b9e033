"""Span attributes added after the span ended, off the calling thread.

Some attributes cost far more to compute or set than the span itself: an LLM call's usage, cost
and serialised messages, and the content and outcome of every operation (each ``set_attribute`` goes
through the SDK's checks and lock). The code that ends such a span attaches them instead, as a dict
of valid attribute values or as a *pending* object that computes them, and the first reader of the
ended span adds them to it (``materialise``):

* the scrubbing exporter, on the batch processor's export thread, before it redacts, so every
  exporter behind it sees the finished span;
* ``GuardedSpanProcessor``, before it hands the span to a processor given to the monitor.

What is attached rides on the span's attribute mapping, which the SDK hands (the same object) to
every ``ReadableSpan`` it makes of the span: nothing to look up or clean up, and it goes away with
the span. ``materialise`` writes into that mapping once, under a lock, so a span that reaches
several pipelines (``combine``) is finished once and read by all of them alike. Nothing else writes
to an ended span. The span's attribute count limit holds: attributes that do not fit are counted
as dropped (the SDK would drop its oldest ones instead; ours keep the span's identity).

Where the SDK's span has no such mapping, ``attach`` says so and the caller sets the attributes on
the span there and then.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from agents_hub_monitoring._safety import report_internal_failure

__all__ = ["PendingAttributes", "attach", "materialise"]

_SLOT = "_agents_hub_pending"
_LOCK = threading.Lock()


class PendingAttributes(Protocol):
    def span_attributes(self) -> Mapping[str, Any]:
        """The attributes to add to the span (they win over the span's own); may raise."""


def attach(span: Any, pending: PendingAttributes | dict[str, Any]) -> bool:
    """Attach ``pending`` (or a dict of valid attribute values) to an SDK span before it ends; False
    if this span cannot carry it. What was attached before is replaced."""
    attributes = getattr(span, "_attributes", None)
    if not isinstance(getattr(attributes, "_dict", None), dict):
        return False
    try:  # not hasattr(attributes, "__dict__"): reading __dict__ would build the instance's dict
        setattr(attributes, _SLOT, pending)
    except AttributeError:  # a mapping with __slots__ cannot carry it
        return False
    return True


def materialise(span: Any) -> None:
    """Add an ended span's pending attributes to it; does nothing for a span without any."""
    attributes = getattr(span, "_attributes", None)
    pending = getattr(attributes, _SLOT, None)
    if pending is None:
        return
    try:  # outside the lock: an LLM call's end may read its result and price it
        extra = pending if type(pending) is dict else pending.span_attributes()
    except Exception as error:  # the span still goes out, with what it has
        report_internal_failure("pending span attributes", error)
        extra = {}
    with _LOCK:
        if getattr(attributes, _SLOT, None) is not pending:  # another pipeline finished it meanwhile
            return
        _merge(attributes, extra)
        delattr(attributes, _SLOT)


def _merge(attributes: Any, extra: Mapping[str, Any]) -> None:
    values: dict[str, Any] = attributes._dict
    limit, max_length = getattr(attributes, "maxlen", None), getattr(attributes, "max_value_len", None)
    for key, value in extra.items():
        if max_length is not None and type(value) is str and len(value) > max_length:
            value = value[:max_length]  # OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, as the SDK applies it
        if limit is None or key in values or len(values) < limit:
            values[key] = value
        else:
            attributes.dropped += 1
