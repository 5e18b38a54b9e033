"""Starting and ending a decorated call's span: the few functions every call shape shares.

The fast path starts the span with the tracer and makes it current with ``attach``, skipping
``SpanScope``; the operation's handle (``AgentRunHandle``, ``ToolCallHandle``, ...) still does
the recording at its end, exactly as with the span context managers.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, get_value, set_value
from opentelemetry.trace import get_current_span, set_span_in_context

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.capture import content, start_attributes, write_output
from agents_hub_monitoring.instrument.context_run import OWNER_KEY
from agents_hub_monitoring.monitors.current_llm import open_llm
from agents_hub_monitoring.monitors.handles import current_agent_name
from agents_hub_monitoring.telemetry import semconv as sc

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["OUTCOME_CLOSED", "DefaultMonitor", "begin", "end_closed", "fail", "finish", "open_span", "reentrant"]

OUTCOME_CLOSED = "closed"  # a generator closed early or an awaitable never awaited: not a failure


class DefaultMonitor:
    """Holds the monitor the module-level decorators use; read on every call, so it may change."""

    __slots__ = ("monitor",)

    def __init__(self) -> None:
        self.monitor: BaseMonitor | None = None


DEFAULT = DefaultMonitor()


def open_span(plan: Plan, monitor: BaseMonitor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Start the span (child of the current one) and its handle, without making it current."""
    if not plan.reads_arguments:
        span = monitor._tracer.start_span(plan.span_name, kind=plan.span_kind, attributes=plan.attributes)
        return plan.handle_class(span, monitor, *plan.handle_args, **plan.handle_kwargs)
    span_name, attributes, handle_kwargs, captured = start_attributes(plan, monitor, args, kwargs)
    span = monitor._tracer.start_span(span_name, kind=plan.span_kind, attributes=attributes)
    handle = plan.handle_class(span, monitor, *plan.handle_args, **handle_kwargs)
    handle._late = captured
    if plan.kind == "llm":  # an LLM function always reads its arguments: SDK calls inside fill its handle
        open_llm(handle, output=plan.capture_output)
    return handle


def begin(plan: Plan, monitor: BaseMonitor, args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> tuple[Any, object, object | None]:
    """Start the span and make it current: (handle, context token, agent-name token)."""
    # open_span inlined: this runs on every call. Only functions that read their arguments (LLM
    # ones always do) check for the LLM kind; the others pay nothing for it.
    if plan.reads_arguments:
        span_name, attributes, handle_kwargs, captured = start_attributes(plan, monitor, args, kwargs)
        span = monitor._tracer.start_span(span_name, kind=plan.span_kind, attributes=attributes)
        handle = plan.handle_class(span, monitor, *plan.handle_args, **handle_kwargs)
        handle._late = captured  # the input, added to the span when it ends
        if plan.kind == "llm":
            open_llm(handle, output=plan.capture_output)
    else:
        span = monitor._tracer.start_span(plan.span_name, kind=plan.span_kind, attributes=plan.attributes)
        handle = plan.handle_class(span, monitor, *plan.handle_args, **plan.handle_kwargs)
    agent_token = current_agent_name.set(plan.agent_name) if plan.agent_name is not None else None
    context = set_span_in_context(span)
    if plan.guarded:  # a class-instrumented method: mark whose call this span is (see reentrant)
        context = set_value(OWNER_KEY, (args[0], span, monitor), context)
    return handle, attach(context), agent_token


def reentrant(monitor: BaseMonitor, args: tuple[Any, ...]) -> bool:
    """A call into a class-instrumented method of the object whose such call's span is current.

    ``__call__`` delegating to ``run`` (or ``super().run()``) is one agent run, not two nested ones:
    the inner call goes straight through.
    """
    owner = get_value(OWNER_KEY)
    return (owner is not None and bool(args) and owner[0] is args[0] and owner[2] is monitor
            and owner[1] is get_current_span())


def finish(plan: Plan, monitor: BaseMonitor, handle: Any, result: Any) -> None:
    """A successful end: the result (per kind and capture switches), then the handle's end."""
    try:
        if plan.output_always:
            write_output(plan, monitor, handle, result)
        elif result is not None and plan.capture_output and monitor.capture_content:
            text = content(monitor, result)
            if text is not None:
                handle._set_late(plan.output_key, text)
        handle.end()
    except Exception as error:
        report_internal_failure("decorated call end", error)
        handle.end()


def fail(handle: Any, error: BaseException) -> None:
    """An exception left the call: record it (cancellation as ``cancelled``) and end the span.

    ``GeneratorExit`` is a consumer closing a generator early: not a failure (outcome ``closed``).
    """
    try:
        if isinstance(error, GeneratorExit):
            end_closed(handle)
            return
        handle.record_error(error, error_type="cancelled" if isinstance(error, asyncio.CancelledError) else None)
        handle.end()
    except Exception as internal:
        report_internal_failure("decorated call error", internal)


def end_closed(handle: Any) -> None:
    """End the span of an operation that stopped early without failing; outcome ``closed``."""
    if handle._ended:
        return
    handle._ended = True
    try:
        handle._set_late(sc.OUTCOME, OUTCOME_CLOSED)  # before _before_end, which keeps an outcome given
        handle._before_end(time.perf_counter() - handle._started)
    except Exception as error:
        report_internal_failure("decorated call close", error)
    handle._end_span()
