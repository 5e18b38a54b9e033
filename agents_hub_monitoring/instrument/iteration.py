"""One traced iteration's state: its span's handle, its private context, and what it yielded.

``open_stream`` starts the span for a generator function's iteration and creates the generator
in the private context; ``StreamState`` records the outcome once, however the iteration ends.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach
from opentelemetry.trace import set_span_in_context

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.capture import content
from agents_hub_monitoring.instrument.spans import end_closed, fail, open_span
from agents_hub_monitoring.instrument.streaming import StreamAccumulator
from agents_hub_monitoring.monitors.handles import current_agent_name
from agents_hub_monitoring.telemetry import semconv as sc

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["StreamState", "open_stream"]

_KEPT_ITEMS = 100  # items kept for the recorded output (serialisation keeps no more anyway)
_OUTPUT_KEYS = {"tool": sc.GEN_AI_TOOL_CALL_RESULT, "retrieval": sc.GEN_AI_RETRIEVAL_DOCUMENTS}


def _enter(span: Any, agent_name: str | None) -> None:
    # Runs inside the private context, which is never reset: the tokens are not needed.
    attach(set_span_in_context(span))
    if agent_name is not None:
        current_agent_name.set(agent_name)


class StreamState:
    """One traced iteration: its handle, its private context, and what it yielded."""

    __slots__ = ("accumulator", "capture", "context", "count", "done", "handle", "items", "monitor", "plan")

    def __init__(self, plan: Plan, monitor: BaseMonitor, handle: Any) -> None:
        self.plan, self.monitor, self.handle = plan, monitor, handle
        self.context = contextvars.copy_context()
        self.context.run(_enter, handle.span, plan.agent_name)
        self.count = 0
        self.done = False
        self.capture = plan.capture_output and monitor.capture_content
        self.accumulator = StreamAccumulator() if plan.kind == "llm" else None
        self.items: list[Any] | None = [] if self.capture and self.accumulator is None else None

    def on_item(self, item: Any) -> None:
        self.count += 1
        if self.accumulator is not None:
            self.accumulator.add(item, self.handle)
        elif self.items is not None and len(self.items) < _KEPT_ITEMS:
            self.items.append(item)

    def _record(self) -> None:
        try:
            span = self.handle.span
            span.set_attribute(sc.STREAM_ITEMS, self.count)
            if self.accumulator is not None:
                self.accumulator.apply(self.handle, self.capture)
                return
            if self.plan.kind == "retrieval":
                self.handle.documents = self.count
                span.set_attribute(sc.RESULT_COUNT, self.count)
            if self.items:
                output: Any = self.items
                if all(isinstance(item, str) for item in output):
                    output = "".join(output)
                elif self.count > len(output):
                    output = [*output, f"…[{self.count - len(output)} more items]"]
                text = content(self.monitor, output)
                if text is not None:
                    span.set_attribute(_OUTPUT_KEYS.get(self.plan.kind, sc.OUTPUT_VALUE), text)
        except Exception as error:
            report_internal_failure("stream output", error)

    def succeed(self) -> None:
        if not self.done:
            self.done = True
            self._record()
            self.handle.end()

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.done = True
            self._record()  # what arrived before the failure (partial usage, chunk count)
            fail(self.handle, error)

    def close(self) -> None:
        if not self.done:
            self.done = True
            self._record()
            end_closed(self.handle)


def open_stream(plan: Plan, monitor: BaseMonitor, function: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], proxy: type) -> Any:
    """Start the span and create the generator in its context; None if instrumentation failed."""
    try:
        state = StreamState(plan, monitor, open_span(plan, monitor, args, kwargs))
    except Exception as error:
        report_internal_failure("generator start", error)
        return None
    try:
        inner = state.context.run(function, *args, **kwargs)
    except BaseException as error:
        state.fail(error)
        raise
    return proxy(inner, state)
