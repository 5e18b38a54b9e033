"""``track_error``: where an error is recorded depends on what is running.

Inside an Agents Hub turn the error belongs to the call that was open (a tool that raised, an
LLM call that failed); with nothing open it becomes an error record under the turn's root.
Outside a turn it is recorded on the current span and as its own zero-length error span, so
backends that only show spans (Langfuse) still see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.emit import emit_completed
from agents_hub_monitoring.monitors.handles import SpanHandle, current_agent_name, error_type_of
from agents_hub_monitoring.monitors.scope import OperationSpec, Tracked
from agents_hub_monitoring.serialization import coerce_id, safe_repr
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.context import ConversationContext

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["record_error"]


def _normalise(error: Any) -> BaseException | str:
    if isinstance(error, (BaseException, str)) and error != "":
        return error
    return "unknown error" if error in (None, "") else safe_repr(error)


def record_error(monitor: BaseMonitor, error: Any, *, context: Mapping[str, Any] | None,
                 conversation_id: Any, agent_name: str | None, user_id: Any,
                 metadata: Mapping[str, Any] | None) -> Tracked:
    if monitor._closed:
        return Tracked(None)
    try:
        return Tracked(_record(monitor, _normalise(error), context or {}, conversation_id, agent_name,
                               user_id, metadata))
    except Exception as failure:
        report_internal_failure("track_error", failure)
        return Tracked(None)


def _record(monitor: BaseMonitor, error: BaseException | str, context: Mapping[str, Any],
            conversation_id: Any, agent_name: str | None, user_id: Any,
            metadata: Mapping[str, Any] | None) -> str | None:
    conversation = ConversationContext.from_mapping(
        {**context, "conversation_id": coerce_id(conversation_id) or context.get("conversation_id"),
         "user_id": user_id or context.get("user_id"), "metadata": metadata})
    monitor._record_error_metric(error, agent_name or current_agent_name.get())
    turn = monitor._find_turn(conversation.conversation_id)
    parent: SpanHandle | None = None
    if turn is not None:
        turn.errors += 1
        child = turn.latest_open_child()
        if child is not None:
            child.record_error(error)
            turn.forget(child)
            child.end()
            return child.span_id
        parent = turn.root
        conversation = turn.conversation.merged_with(conversation)
    else:
        current = trace.get_current_span()
        if current.is_recording():
            _add_error_event(current, error)
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_ERROR, sc.ERROR_TYPE: error_type_of(error)}
    details = monitor._content(dict(context)) if context else None
    if details is not None:
        attributes[sc.ERROR_CONTEXT] = details
    if agent_name:
        attributes[sc.GEN_AI_AGENT_NAME] = str(agent_name)
    spec = OperationSpec(sc.span_name("error", error_type_of(error)), SpanKind.INTERNAL, attributes,
                         lambda span: SpanHandle(span, monitor), conversation=conversation)
    return emit_completed(monitor, spec, parent=parent, fill=lambda record: record.record_error(error))


def _add_error_event(span: trace.Span, error: BaseException | str) -> None:
    if isinstance(error, BaseException):
        span.record_exception(error, escaped=False)
    else:
        span.add_event("exception", {"exception.type": sc.ERROR_TYPE_OTHER, "exception.message": error})
