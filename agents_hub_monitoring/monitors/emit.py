"""Starting spans outside a ``with`` block: for hooks and the imperative API.

These spans are parented explicitly (to a turn's root, or to whatever span is current) and never
attached to the ambient context, because the hooks return to the caller between start and end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context

from agents_hub_monitoring.monitors.handles import SpanHandle
from agents_hub_monitoring.monitors.scope import OperationSpec
from agents_hub_monitoring.telemetry.context import bind_conversation

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["emit_completed", "open_handle", "parent_context"]

H = TypeVar("H", bound=SpanHandle)


def parent_context(parent: SpanHandle | None) -> Context | None:
    """Context with ``parent`` as the active span; None means "whatever is current"."""
    return trace.set_span_in_context(parent.span) if parent is not None else None


def open_handle(monitor: BaseMonitor, spec: OperationSpec[H], parent: SpanHandle | None = None,
                start_time_ns: int | None = None) -> H:
    """Start the span of ``spec`` and return its handle; the caller ends it."""
    binding = bind_conversation(spec.conversation) if spec.conversation is not None else nullcontext()
    with binding:  # the stamping processor reads the conversation while the span starts
        span = monitor._tracer.start_span(spec.name, context=parent_context(parent), kind=spec.kind,
                                          attributes=spec.attributes, start_time=start_time_ns)
    return spec.factory(span)


def emit_completed(monitor: BaseMonitor, spec: OperationSpec[H], *, parent: SpanHandle | None = None,
                   duration_s: float | None = None, fill: Callable[[H], Any] | None = None) -> str:
    """Record an operation that already happened: back-dated by ``duration_s`` (zero-length if None)."""
    duration_s = _sane_duration(duration_s)
    end_ns = time.time_ns()
    start_ns = end_ns - int(duration_s * 1e9) if duration_s else end_ns
    handle = open_handle(monitor, spec, parent, start_time_ns=start_ns)
    if fill is not None:
        fill(handle)
    handle.end(end_ns, duration_s=duration_s or 0.0)
    return handle.span_id


_MAX_DURATION_S = 365 * 24 * 3600.0


def _sane_duration(duration_s: float | None) -> float | None:
    """A reported duration we can place on a timeline: negative, NaN, infinite or over a year
    (a unit mix-up, or garbage) is dropped and the operation recorded as zero-length."""
    if duration_s is None or not 0.0 <= duration_s <= _MAX_DURATION_S:
        return None
    return duration_s
