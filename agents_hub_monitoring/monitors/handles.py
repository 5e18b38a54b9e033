"""Handles to a running operation: what the user sets while it runs, and what happens at its end.

A handle wraps one OTel span. Setting output, usage or a result is cheap; the metrics for the
operation are recorded once, in ``end()``, from the same values the span carries.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, Status, StatusCode

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.serialization import dumps, safe_repr
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.pending import attach

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["SpanHandle", "attribute_value", "current_agent_name", "error_type_of"]

# The agent whose run encloses the current operation: a low-cardinality metric dimension.
current_agent_name: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agents_hub_agent_name", default=None
)


def error_type_of(error: BaseException | str | None) -> str:
    """``error.type`` for an exception (its class name) or a message (the ``_OTHER`` fallback)."""
    if isinstance(error, BaseException):
        return type(error).__qualname__
    return sc.ERROR_TYPE_OTHER


def attribute_value(value: Any) -> Any:
    """A value OTel accepts as an attribute: primitives and homogeneous lists pass, others to str."""
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value else "NaN"  # NaN is a valid float but useless to backends
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    return dumps(value)


def _error_message(error: BaseException | str) -> str:
    if not isinstance(error, BaseException):
        return str(error)
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:
        return f"{type(error).__name__}: {safe_repr(error)}"


class SpanHandle:
    """The base handle: attributes, input/output, errors, events and the end of the span."""

    # __weakref__: an LLM call's handle is reachable from its span (monitors/current_llm.py).
    __slots__ = ("__weakref__", "_ended", "_error_type", "_late", "_monitor", "_started", "span")

    def __init__(self, span: Span, monitor: BaseMonitor) -> None:
        self.span = span
        self._monitor = monitor
        self._started = time.perf_counter()
        self._error_type: str | None = None
        self._ended = False
        # Content and outcome: handed to the span when it ends (see _set_late), not set one by one
        self._late: dict[str, Any] | None = None

    @property
    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")

    @property
    def span_id(self) -> str:
        return format(self.span.get_span_context().span_id, "016x")

    @property
    def failed(self) -> bool:
        return self._error_type is not None

    def set_attribute(self, key: str, value: Any) -> None:
        if value is not None:
            self.span.set_attribute(key, attribute_value(value))

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if isinstance(attributes, Mapping):  # anything else (None, a list) is ignored
            for key, value in attributes.items():
                self.set_attribute(str(key), value)

    def set_input(self, value: Any) -> None:
        self._set_content(sc.INPUT_VALUE, value)

    def set_output(self, value: Any) -> None:
        self._set_content(sc.OUTPUT_VALUE, value)

    def _set_content(self, key: str, value: Any) -> None:
        text = self._monitor._content(value)
        if text is not None:
            self._set_late(key, text)

    def _set_late(self, key: str, value: Any) -> None:
        """Set an attribute the span needs only once it has ended (content, outcome); ``value`` must
        be a valid attribute value. The span carries them all to its export (``telemetry/pending.py``)
        rather than taking each through the SDK's checks and lock on the calling thread."""
        late = self._late
        if late is None:
            self._late = {key: value}
        else:
            late[key] = value

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        items = attributes.items() if isinstance(attributes, Mapping) else ()
        self.span.add_event(str(name), {str(k): attribute_value(v) for k, v in items})

    def record_error(self, error: BaseException | str, *, error_type: str | None = None) -> None:
        """Mark the operation failed: status ERROR, ``error.type``, the exception as an event.

        Never raises, even for an exception whose ``__str__`` raises: the message then falls back
        to a safe description, so the span still ends and its metrics are still recorded.
        """
        self._error_type = error_type or error_type_of(error)
        message = _error_message(error)
        self.span.set_status(Status(StatusCode.ERROR, message))
        self.span.set_attribute(sc.ERROR_TYPE, self._error_type)
        if not isinstance(error, BaseException):
            self.span.set_attribute(sc.ERROR_MESSAGE, message)
            return
        try:
            self.span.record_exception(error, escaped=True)
        except Exception:  # the SDK formats the exception with str() too
            self.span.add_event("exception", {"exception.type": type(error).__qualname__,
                                              "exception.message": message, "exception.escaped": True})

    def end(self, end_time: int | None = None, duration_s: float | None = None) -> None:
        """End the span and record the operation's metrics; a second call does nothing.

        ``end_time`` (ns since epoch) and ``duration_s`` back-date operations that are reported
        after the fact (``track_agent_run(duration_s=...)``).
        """
        if self._ended:
            return
        self._ended = True
        if duration_s is None:
            duration_s = time.perf_counter() - self._started
        if end_time is None:
            # Taken before the end-of-operation work (price lookup, metrics), so the span's
            # duration is the operation's alone.
            end_time = time.time_ns()
        try:
            self._before_end(duration_s)
        except Exception as error:
            report_internal_failure(f"{type(self).__name__}.end", error)
        self._end_span(end_time)

    def _set_outcome(self) -> None:
        """``success`` or ``error``, unless an outcome was given already (``unfinished``, ``closed``)."""
        late = self._late
        if late is None or sc.OUTCOME not in late:
            self._set_late(sc.OUTCOME, "error" if self._error_type else "success")

    def _end_span(self, end_time: int | None = None) -> None:
        late, span = self._late, self.span
        if late is not None and not attach(span, late) and span.is_recording():  # not an SDK span
            span.set_attributes(late)
        span.end(end_time)

    def _before_end(self, duration_s: float) -> None:
        """Subclasses finish attributes and record metrics here (guarded by ``end``)."""
