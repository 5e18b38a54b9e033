"""Span names, kinds and start attributes for each operation, per the GenAI conventions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.handles import SpanHandle, attribute_value
from agents_hub_monitoring.monitors.operations import (
    AgentRunHandle,
    LLMCallHandle,
    MemoryHandle,
    ModerationHandle,
    RetrievalHandle,
    ToolCallHandle,
)
from agents_hub_monitoring.monitors.scope import OperationSpec
from agents_hub_monitoring.pricing import normalize_provider
from agents_hub_monitoring.serialization import safe_repr
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.context import ConversationContext
from agents_hub_monitoring.telemetry.messages import to_semconv_messages

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["OperationSpecs"]


MAX_NAME_CHARS = 256  # names become span names and metric attributes: keep them short


def short_name(value: Any, default: str = "") -> str:
    """A name as text, never empty when a default is given, cut to ``MAX_NAME_CHARS``; never raises."""
    if value is None or value == "":
        return default
    text = value if isinstance(value, str) else safe_repr(value, limit=MAX_NAME_CHARS)
    return text[:MAX_NAME_CHARS] or default


def _extra(attributes: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(extra, Mapping):
        return attributes  # attributes=None, or a wrong type: nothing to add
    for key, value in extra.items():
        if value is not None:
            attributes[str(key)] = attribute_value(value)
    return attributes


def _as_conversation(context: Mapping[str, Any] | ConversationContext | None) -> ConversationContext | None:
    if context is None or isinstance(context, ConversationContext):
        return context
    return ConversationContext.from_mapping(context)


def _never_raise(builder: Callable[..., OperationSpec[Any]]) -> Callable[..., OperationSpec[Any]]:
    """A spec builder that cannot fail the user's ``with``: on an internal error (a bug, or an
    argument of a type we did not foresee) the operation still gets a plain span of its name."""

    @functools.wraps(builder)
    def build(self: Any, target: Any = None, *args: Any, **kwargs: Any) -> OperationSpec[Any]:
        try:
            return builder(self, target, *args, **kwargs)
        except Exception as error:
            report_internal_failure(builder.__name__, error)
            monitor = self
            return OperationSpec(short_name(target, builder.__name__.strip("_")), SpanKind.INTERNAL, {},
                                 lambda span: SpanHandle(span, monitor))

    return build


class OperationSpecs:
    """Mixin for BaseMonitor: one ``_*_spec`` builder per operation kind."""

    def _content(self: BaseMonitor, value: Any) -> str | None:  # type: ignore[misc]  # defined on BaseMonitor
        raise NotImplementedError

    def _put_content(self, start: dict[str, Any], key: str, value: Any) -> None:
        # _content gives None when capture is off or there is no value: then the key stays absent.
        content = self._content(value)
        if content is not None:
            start[key] = content

    @_never_raise
    def _agent_spec(self, name: str, *, context: Any = None, input: Any = None, model: str | None = None,
                    agent_id: str | None = None, attributes: Mapping[str, Any] | None = None
                    ) -> OperationSpec[AgentRunHandle]:
        name = short_name(name, "agent")
        start = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: name}
        if agent_id:
            start[sc.GEN_AI_AGENT_ID] = short_name(agent_id)
        if model:
            start[sc.GEN_AI_REQUEST_MODEL] = model = short_name(model)
        self._put_content(start, sc.INPUT_VALUE, input)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(
            sc.span_name(sc.OP_INVOKE_AGENT, name), SpanKind.INTERNAL, _extra(start, attributes),
            lambda span: AgentRunHandle(span, monitor, name, model),
            conversation=_as_conversation(context), agent_name=name)

    @_never_raise
    def _llm_spec(self, model: str | None, *, provider: str | None = None, messages: Any = None,
                  system: Any = None, parameters: Mapping[str, Any] | None = None, operation: str = "chat",
                  attributes: Mapping[str, Any] | None = None) -> OperationSpec[LLMCallHandle]:
        provider_name = normalize_provider(short_name(provider)) if provider else None
        model_name = short_name(model) if model else None
        operation = short_name(operation, "chat")
        start: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
        if provider_name:
            start[sc.GEN_AI_PROVIDER_NAME] = provider_name
        if model_name:
            start[sc.GEN_AI_REQUEST_MODEL] = model_name
        for key, value in (parameters.items() if isinstance(parameters, Mapping) else ()):
            if value is not None:
                start[sc.GEN_AI_REQUEST_PREFIX + str(key)] = attribute_value(value)
        if messages is not None:
            self._put_content(start, sc.GEN_AI_INPUT_MESSAGES, to_semconv_messages(messages))
        if system is not None:
            self._put_content(start, sc.GEN_AI_SYSTEM_INSTRUCTIONS, system)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(
            sc.span_name(operation, model_name), SpanKind.CLIENT, _extra(start, attributes),
            lambda span: LLMCallHandle(span, monitor, operation=operation, provider=provider_name,
                                       request_model=model_name))

    @_never_raise
    def _tool_spec(self, name: str, *, arguments: Any = None, call_id: str | None = None,
                   tool_type: str = "function", attributes: Mapping[str, Any] | None = None
                   ) -> OperationSpec[ToolCallHandle]:
        name = short_name(name, "tool")
        start: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: name,
                                 sc.GEN_AI_TOOL_TYPE: short_name(tool_type, "function")}
        if call_id:
            start[sc.GEN_AI_TOOL_CALL_ID] = str(call_id)
        self._put_content(start, sc.GEN_AI_TOOL_CALL_ARGUMENTS, arguments)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(sc.span_name(sc.OP_EXECUTE_TOOL, name), SpanKind.INTERNAL,
                             _extra(start, attributes), lambda span: ToolCallHandle(span, monitor, name))

    @_never_raise
    def _retrieval_spec(self, source: str | None, *, query: Any = None,
                        attributes: Mapping[str, Any] | None = None) -> OperationSpec[RetrievalHandle]:
        start: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL}
        if source:
            start[sc.GEN_AI_DATA_SOURCE_ID] = source = short_name(source)
        self._put_content(start, sc.GEN_AI_RETRIEVAL_QUERY_TEXT, query)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(sc.span_name(sc.OP_RETRIEVAL, source), SpanKind.CLIENT, _extra(start, attributes),
                             lambda span: RetrievalHandle(span, monitor, source))

    @_never_raise
    def _memory_spec(self, operation: str, *, store: str | None = None, input: Any = None,
                     attributes: Mapping[str, Any] | None = None) -> OperationSpec[MemoryHandle]:
        # The conventions name five memory operations; any other name is kept as given.
        operation = short_name(operation, "search_memory")
        start: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.MEMORY_OPERATION: operation}
        if store:
            start[sc.MEMORY_STORE] = store = short_name(store)
        self._put_content(start, sc.INPUT_VALUE, input)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(operation, SpanKind.CLIENT, _extra(start, attributes),
                             lambda span: MemoryHandle(span, monitor, operation, store))

    @_never_raise
    def _moderation_spec(self, component: str, *, input: Any = None,
                         attributes: Mapping[str, Any] | None = None) -> OperationSpec[ModerationHandle]:
        component = short_name(component, "moderation")
        start: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_GUARDRAIL, sc.GEN_AI_GUARDRAIL_NAME: component}
        self._put_content(start, sc.INPUT_VALUE, input)
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(sc.span_name(sc.OP_GUARDRAIL, component), SpanKind.INTERNAL,
                             _extra(start, attributes), lambda span: ModerationHandle(span, monitor))

    @_never_raise
    def _plain_spec(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
                    attributes: Mapping[str, Any] | None = None) -> OperationSpec[SpanHandle]:
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return OperationSpec(short_name(name, "span"), kind, _extra({}, attributes),
                             lambda span: SpanHandle(span, monitor))
